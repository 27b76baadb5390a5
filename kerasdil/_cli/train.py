"""`kerasdil train NAME ...`"""

import argparse

from kerasdil._cli._data import DATA_HELP, add_data_arguments, scored_split
from kerasdil._cli._run import (  # noqa: F401  (model_kwargs_arg: importable from here as before)
    _json_object_arg, add_batch_size_argument, add_quiet_argument, add_run_arguments, model_kwargs_arg, run_arguments,
)


def augmentation_arg(text):
    """argparse type of ``--augmentation``: a JSON object of augmentation settings."""
    from kerasdil.data import augmentation_settings

    value = _json_object_arg(text, '{"elastic_alpha": 17}')
    try:
        return augmentation_settings(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_arguments(p):
    p.add_argument("model", help="zoo model name (see `kerasdil zoo list`)")
    p.add_argument("--out", default=None, help="run directory (default runs/<model>); rerun the same command to resume")
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    add_batch_size_argument(p)
    p.add_argument("--lr", type=float, default=None, help="peak learning rate")
    p.add_argument("--weight-decay", type=float, default=None,
                   help="AdamW's decoupled weight decay (scaled by the learning rate each step); 0 trains with Adam")
    p.add_argument("--label-smoothing", type=float, default=None, help="train on smoothed targets, in [0, 1) (default 0)")
    p.add_argument("--data", default=None, help=DATA_HELP + " (default: MNIST from $KERASDIL_DATA_DIR, keras cache, download)")
    augment = p.add_mutually_exclusive_group()
    augment.add_argument("--no-augment", action="store_true", help="turn off the recipe's augmentation")
    augment.add_argument("--augmentation", type=augmentation_arg, default=None, metavar="JSON",
                         help="augment with these settings changed (keys of kerasdil.data.AUGMENTATION), "
                              "e.g. '{\"elastic_alpha\": 17}' adds elastic distortion; classifiers only")
    add_run_arguments(p, model_kwargs_help="builder arguments as a JSON object, e.g. '{\"input_shape\": [64, 84, 1], "
                                           "\"output_stride\": 4}' (an input_shape also sets the size of the data)")
    p.add_argument("--strategy", choices=("mirrored", "multiworker"), default=None,
                   help="tf.distribute strategy; multiworker reads TF_CONFIG")
    p.add_argument("--sync-batchnorm", action="store_true",
                   help="with --strategy: BatchNormalization uses the statistics of the global batch (all replicas)")
    p.add_argument("--teacher", default=None,
                   help="distil from this trained classifier: a zoo name with tag (mnist_dsdc:mnist) or a .keras file")
    p.add_argument("--distill-alpha", type=float, default=None, help="hard-label weight of the distillation loss (default 0.1)")
    p.add_argument("--distill-temperature", type=float, default=None, help="distillation temperature (default 10)")
    from kerasdil._cli._scenes import add_scene_arguments

    add_scene_arguments(p, generators_help=(
        "segmenters: train (and validate) on a mixture of named scene generators at --canvas, e.g. "
        "standard,varied,touching,crowd,clutter or all (kerasdil.data.scenes.SCENE_GENERATORS); "
        "not with --scene-scale, --scene-digits or --scene-unit-share"))
    jitter = p.add_mutually_exclusive_group()
    jitter.add_argument("--scene-jitter", dest="scene_jitter", action="store_true", default=None,
                        help="segmenters: photometric jitter (contrast, brightness, blur, noise) of the training scenes")
    jitter.add_argument("--no-scene-jitter", dest="scene_jitter", action="store_false",
                        help="segmenters: train on clean scenes")
    p.add_argument("--train-scenes", type=int, default=None, metavar="N",
                   help="segmenters: training scenes per epoch (default the recipe's, 10,000)")
    add_quiet_argument(p)
    add_data_arguments(p)


def run(args):
    import os

    from kerasdil._cli._data import examples_of

    from kerasdil._cli._scenes import scene_settings
    from kerasdil.train import train

    from kerasdil.data.checks import check_limit

    check_limit(args.limit, "--limit")
    out = args.out or os.path.join("runs", args.model)
    result = train(
        args.model,
        out_dir=out,
        augment=False if args.no_augment else args.augmentation,
        scenes=scene_settings(args),
        jitter=args.scene_jitter,
        **run_arguments(args),
        # The flags named like train's arguments:
        **{name: getattr(args, name) for name in ("weight_decay", "label_smoothing", "strategy", "sync_batchnorm",
                                                  "teacher", "distill_alpha", "distill_temperature", "train_scenes")},
    )
    m = result.metrics
    score = f"accuracy {m['accuracy']:.4f}" if "accuracy" in m else f"mIoU {m.get('miou', float('nan')):.4f}"
    print(f"{args.model}: {scored_split(out)} {score}, loss {m.get('loss', float('nan')):.4f} on {m.get('samples')} {examples_of(result.model)}; "
          f"{m['epochs']} epochs, {m['seconds_per_epoch_median']:.1f} s/epoch (median)")
    print(f"artifacts in {out}: model.keras, metrics.json, history.json, curves.png"
          + (", data.json" if os.path.exists(os.path.join(out, "data.json")) else ""))
    return 0
