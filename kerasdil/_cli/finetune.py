"""`kerasdil finetune NAME --from SOURCE ...`"""

from kerasdil._cli._data import DATA_HELP, add_data_arguments, scored_split
from kerasdil._cli._run import add_batch_size_argument, add_quiet_argument, add_run_arguments, run_arguments


def add_arguments(p):
    p.add_argument("model", help="zoo model to fine-tune, e.g. deeplab_aspp")
    p.add_argument("--from", dest="source", default=None,
                   help="pretrained source: zoo name with tag or a .keras file (default mnist_dsdc:mnist; for "
                        "deeplab_aspp mnist_dsdc:mnist_w18, whose layers its DSDC backbone shares)")
    p.add_argument("--out", default=None, help="run directory (default runs/<model>-finetune); rerun to resume")
    p.add_argument("--head-epochs", type=int, default=None, help="epochs with the transferred backbone frozen")
    p.add_argument("--epochs", type=int, default=None, help="total epochs (head phase included)")
    add_batch_size_argument(p)
    p.add_argument("--lr", type=float, default=None, help="learning rate of the head phase")
    p.add_argument("--finetune-lr", type=float, default=None, help="(lower) learning rate once every layer trains")
    p.add_argument("--data", default=None, help=DATA_HELP + " (default: MNIST's search order)")
    p.add_argument("--compare-scratch", action="store_true",
                   help="also train the model from scratch with the same budget (into OUT/scratch) and say plainly "
                        "when the fine-tune ends below it")
    p.add_argument("--no-augment", action="store_true",
                   help="turn off the recipe's augmentation (segmentation: new scenes every epoch)")
    add_run_arguments(p, model_kwargs_help="builder arguments of the fine-tuned model as a JSON object, e.g. "
                                           "'{\"input_shape\": [64, 84, 1], \"output_stride\": 4}' (an input_shape "
                                           "also sets the data size)")
    add_quiet_argument(p)
    add_data_arguments(p)


def run(args):
    import os

    from kerasdil._cli._data import examples_of

    from kerasdil.finetune import finetune

    from kerasdil.data.checks import check_limit

    check_limit(args.limit, "--limit")
    out = args.out or os.path.join("runs", f"{args.model}-finetune")
    result = finetune(
        args.model,
        args.source,
        out_dir=out,
        head_epochs=args.head_epochs,
        finetune_learning_rate=args.finetune_lr,
        augment=False if args.no_augment else None,
        compare_scratch=args.compare_scratch,
        **run_arguments(args),
    )
    m = result.metrics
    if "miou" in m:
        score = (f"mIoU {m['miou']:.4f} (without background {m['miou_no_background']:.4f}), "
                 f"pixel accuracy {m['pixel_accuracy']:.4f}")
    else:
        score = f"accuracy {m['accuracy']:.4f}"
    done = ("fine-tuned" if m.get("verdict", "fine-tuned") == "fine-tuned"
            else "fine-tuning did not help (see above)")
    print(f"{args.model} {done} from {args.source or 'its default source'}: {scored_split(out)} {score} on {m.get('samples')} {examples_of(result.model)}; "
          f"{m['epochs']} epochs, {m['seconds_per_epoch_median']:.1f} s/epoch (median)")
    print(f"artifacts in {out}: model.keras, metrics.json, history.json, transfer.json, curves.png"
          + (", data.json" if os.path.exists(os.path.join(out, "data.json")) else ""))
    return 0
