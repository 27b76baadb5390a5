"""Segmentation benchmark: deeplab_aspp (scratch and fine-tuned from mnist_dsdc) against
the peers unet_baseline and lraspp_mobilenetv3, side by side on the same MNIST scenes and budget.

    nice -n 5 python tools/bench_segmentation.py --data /path/to/mnist.npz \\
        --train-scenes 4000 --out zoo/deeplab_aspp/bench

Arms (``--arms``): unet_baseline (keras.io's U-Net), deeplab_aspp from scratch,
deeplab_aspp_finetuned, deeplab_aspp_mobile (``deeplab_aspp(**MOBILE_CONFIG)``, the
mobile configuration, from scratch) and lraspp_mobilenetv3 (keras.applications'
MobileNetV3-Small with the LR-ASPP head, from scratch: the mobile peer).
Every arm trains on the same scenes (same seed), with the same batch size, epochs,
optimiser (AdamW, cosine decay with warm-up: ``kerasdil.train.compile_model``) and
peak learning rate; the fine-tuned arm follows ``kerasdil.finetune.finetune``:
backbone copied from ``--source`` (default ``kerasdil.finetune.DEFAULT_SOURCES``),
``--head-epochs`` with it frozen, then every layer at ``--finetune-lr``.
The defaults are the recipes' values: epochs from ``kerasdil.train.RECIPES
["deeplab_aspp"]`` (the scratch recipe), head epochs, batch size, learning
rates and weight decay from ``kerasdil.finetune.FINETUNE_RECIPES["deeplab_aspp"]``.
Each arm is resumable (rerun the same command after an interruption).

Writes into ``--out``: ``bench.json`` (everything), ``bench.md`` (the table),
``miou_per_epoch.png`` (validation mIoU per epoch of every arm), and per arm a
run folder with history, curves, overlays and the final model.

Columns: params, MACs per image, s/epoch, test mIoU (11 classes, background
included), mIoU without background, pixel accuracy, inference images/s, batch-1
latency. The machine is shared, so speed is measured after training,
round-robin over the models (each round times every model once; the best round
counts): inference on batches of 64 with ``model.predict_on_batch``, batch-1
latency as the median of single-image calls ``model(x, training=False)``,
training with ``train_on_batch`` at the benchmark's batch size; s/epoch =
scenes per epoch / training images/s. s/epoch, images/s and latency are also
given as ratios over ``--peer`` (default unet_baseline) when it is among the arms. The
wall-clock median epoch of each run is in bench.json
(``seconds_per_epoch_during_run``), at whatever load the machine had then.

Deployment columns (unless ``--no-litert``): every trained arm is exported the way
``kerasdil export`` does it (float32 and int8 TFLite, int8 calibrated on 256 training
scenes, each file audited: dilated convs native, no SPACE_TO_BATCH_ND), the int8
file's test mIoU, and the LiteRT (XNNPACK) batch-1 latency of both files at each of
``--litert-threads``, timed round-robin over the arms (best of ``--timing-rounds``).
"""

import argparse
import json
import os
import sys
import time


ARMS = ("unet_baseline", "deeplab_aspp", "deeplab_aspp_finetuned", "deeplab_aspp_mobile", "lraspp_mobilenetv3")
#: Arms that are a zoo model built with other arguments: deeplab_aspp_mobile is
#: ``deeplab_aspp(**MOBILE_CONFIG)`` (strided stem, light head), from scratch.
ARM_MODELS = {"deeplab_aspp_mobile": ("deeplab_aspp", "MOBILE_CONFIG")}
#: The arm every speed is compared with.
PEER = "unet_baseline"


def _atomic_json(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    os.replace(tmp, path)


def interleaved_timing(models, images, masks, *, batch_size, rounds=7, steps=4, latency_calls=10):
    """Inference images/s, batch-1 latency and training speed of every model, round-robin.

    The machine is shared, so each round times every model once, in turn, and the
    best round of each model is kept: load hits every model alike. A round's
    batch-1 latency is the median of ``latency_calls`` calls ``model(x, training=False)``
    on one image (the Keras call a user makes, not ``predict``).

    Returns:
        {name: {"inference_images_per_second", "latency_batch1_ms", "train_images_per_second"}}.
    """
    import keras
    import numpy as np

    from kerasdil.optimizers import AdamW
    from kerasdil.tasks import get_task

    task = get_task("segmentation")
    x, y = images[:batch_size], masks[:batch_size]
    infer = [images[i : i + 64] for i in range(0, len(images) - 63, 64)][:4] or [images[:64]]
    single = images[:1]
    trainers = {}
    for name, model in models.items():
        clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
        clone.compile(optimizer=AdamW(1e-4), loss=task.loss())  # the optimizer compile_model uses
        clone.train_on_batch(x, y)  # tracing
        model.predict_on_batch(infer[0])
        np.asarray(model(single, training=False))
        trainers[name] = clone
    best = {name: {"inference_images_per_second": 0.0, "latency_batch1_ms": float("inf"),
                   "train_images_per_second": 0.0} for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            for b in infer:
                np.asarray(model.predict_on_batch(b))
            rate = sum(len(b) for b in infer) / (time.perf_counter() - start)
            best[name]["inference_images_per_second"] = max(best[name]["inference_images_per_second"], rate)
            calls = []
            for _ in range(latency_calls):
                start = time.perf_counter()
                np.asarray(model(single, training=False))
                calls.append(time.perf_counter() - start)
            latency = 1000 * float(np.median(calls))
            best[name]["latency_batch1_ms"] = min(best[name]["latency_batch1_ms"], latency)
            start = time.perf_counter()
            for _ in range(steps):
                trainers[name].train_on_batch(x, y)
            rate = steps * len(x) / (time.perf_counter() - start)
            best[name]["train_images_per_second"] = max(best[name]["train_images_per_second"], rate)
    return best


def ratios_over_peer(results, peer=PEER, keys=("seconds_per_epoch", "inference_images_per_second",
                                               "latency_batch1_ms")):
    """Each arm's s/epoch, inference images/s and batch-1 latency divided by the peer's.

    Returns:
        {arm: {"seconds_per_epoch", "inference_images_per_second", "latency_batch1_ms"}}
        (ratios; > 1 means more seconds, more images/s, more milliseconds), or {}
        when the peer is not among the arms.
    """
    if peer not in results:
        return {}
    return {arm: {k: r[k] / results[peer][k] for k in keys if k in r and k in results[peer]}
            for arm, r in results.items()}


def litert_columns(models, images, masks, args, log):
    """Export every model to float32 and int8 TFLite (audited), score the int8 file on the
    test scenes and time both files at batch 1, round-robin over the models.

    Returns ``{arm: {"int8_miou", "int8_audit_ok", "litert_<quant>_<threads>t_ms", ...}}``.
    """
    from kerasdil.export import export
    from kerasdil.export.timing import round_robin_latency

    columns, paths = {}, {}
    for arm, model in models.items():
        out = os.path.join(args.out, arm, "export")
        report = export(model, out, formats="tflite", quantize=("float32", "int8"),
                        representative_data=images[:256], test_data=(images, masks), latency_repeats=0, force=True)
        int8 = report.artifact("tflite", "int8")
        audit = int8.audit
        columns[arm] = {
            "int8_miou": int8.metric["value"],
            "int8_bytes": int8.bytes,
            "int8_audit_ok": not audit["forbidden"] and audit["dilated_ok"],  # forbidden: SPACE_TO_BATCH_ND etc.
            "int8_dilated_native": f"{audit['dilated_native']}/{audit['dilated_expected']}",
        }
        for quant in ("float32", "int8"):
            paths[(arm, quant)] = os.path.join(out, f"model_{quant}.tflite")
        log(f"{arm}: exported; int8 mIoU {int8.metric['value']:.4f}, dilated native {columns[arm]['int8_dilated_native']}")
    for threads in args.litert_threads:
        for quant in ("float32", "int8"):
            files = {arm: paths[(arm, quant)] for arm in models}
            ms = round_robin_latency(files, images[0], threads=threads, rounds=args.timing_rounds, calls=50)
            for arm, value in ms.items():
                columns[arm][f"litert_{quant}_{threads}t_ms"] = value
    return columns


def train_from_scratch(name, arm_dir, datasets, args, log):
    import keras

    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model, fit
    from kerasdil.zoo import create_model

    task = get_task("segmentation")
    train, val, _test, _ = datasets
    keras.utils.set_random_seed(args.seed)
    if name in ARM_MODELS:
        from kerasdil.zoo.deeplab_aspp import plan

        zoo_name, config = ARM_MODELS[name]
        model = create_model(zoo_name, **getattr(plan, config))
    else:
        model = create_model(name)
    weights_path = os.path.join(arm_dir, "final.weights.npz")
    history_path = os.path.join(arm_dir, "history.json")
    if os.path.exists(weights_path):
        from kerasdil.zoo.weights_io import assign_weights, read_weights

        assign_weights(model, read_weights(weights_path)[1], source=weights_path)
        with open(history_path) as f:
            return model, json.load(f)
    steps = int(train.cardinality())
    compile_model(model, task, learning_rate=args.lr, weight_decay=args.weight_decay, decay_steps=steps * args.epochs)
    log(f"{name}: {args.epochs} epochs x {steps} steps from scratch, lr {args.lr}")
    history = fit(model, train, epochs=args.epochs, out_dir=arm_dir, task=task, validation_data=val, verbose=2)
    from kerasdil.zoo.weights_io import save_weights

    save_weights(model, weights_path)
    return model, history


def build_parser():
    """The command line; its defaults are deeplab_aspp's training and fine-tuning recipes."""
    from kerasdil.finetune import finetune_recipe
    from kerasdil.train import recipe

    scratch_recipe, finetune_defaults = recipe("deeplab_aspp"), finetune_recipe("deeplab_aspp")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="MNIST source ('sample', mnist.npz or a folder; default search order)")
    p.add_argument("--train-scenes", type=int, default=4000, help="training scenes per epoch")
    p.add_argument("--fixed-scenes", action="store_true",
                   help="train on one fixed set of scenes instead of new scenes every epoch")
    p.add_argument("--val-scenes", type=int, default=500)
    p.add_argument("--test-scenes", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=scratch_recipe["epochs"],
                   help="epochs of every arm (default: deeplab_aspp's training recipe)")
    p.add_argument("--head-epochs", type=int, default=finetune_defaults["head_epochs"],
                   help="fine-tuned arm: epochs with the transferred backbone frozen (default: the fine-tuning recipe)")
    p.add_argument("--batch-size", type=int, default=finetune_defaults["batch_size"])
    p.add_argument("--lr", type=float, default=finetune_defaults["learning_rate"],
                   help="peak learning rate of every arm (head phase when fine-tuning; default: the fine-tuning recipe)")
    p.add_argument("--finetune-lr", type=float, default=finetune_defaults["finetune_learning_rate"],
                   help="learning rate once every layer trains (default: the fine-tuning recipe)")
    p.add_argument("--weight-decay", type=float, default=finetune_defaults["weight_decay"])
    p.add_argument("--timing-rounds", type=int, default=7, help="round-robin speed rounds (the best counts)")
    p.add_argument("--source", default=None,
                   help="pretrained classifier for the fine-tuned arm (default: kerasdil.finetune.DEFAULT_SOURCES)")
    p.add_argument("--peer", default=PEER, choices=ARMS, help="the arm every ratio is taken over")
    p.add_argument("--litert-threads", default="1,2", type=lambda t: [int(v) for v in t.split(",") if v.strip()],
                   help="LiteRT thread counts for the batch-1 latency columns")
    p.add_argument("--no-litert", action="store_true", help="skip the TFLite export and LiteRT columns")
    p.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated subset of {', '.join(ARMS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--speed-only", action="store_true",
                   help="no training: time unet_baseline, deeplab_aspp (a ZooModel) and the same deeplab_aspp layers "
                        "in a plain keras.Model, round-robin, and write speed.md / speed.json")
    p.add_argument("--out", default="zoo/deeplab_aspp/bench")
    return p


def speed_only(args, task, info, log):
    """Inference and training speed of the segmenters without training them (speed does
    not depend on the weights): unet_baseline, deeplab_aspp, and deeplab_aspp's layers in a
    plain ``keras.Model`` (eager inference one graph function per block instead of one for
    the whole model)."""
    import keras
    import numpy as np

    from kerasdil.zoo import create_model

    test = task.datasets(info, batch_size=args.batch_size, source=args.data, augment=False, seed=args.seed,
                         num_train=args.batch_size, num_test=512, validation_size=args.batch_size)[2]
    images = np.concatenate([x.numpy() for x, _ in test.take(8)])
    masks = np.concatenate([y.numpy() for _, y in test.take(8)])
    keras.utils.set_random_seed(args.seed)
    deeplab = create_model("deeplab_aspp")
    models = {"unet_baseline": create_model("unet_baseline"), "deeplab_aspp": deeplab,
              "deeplab_aspp, plain keras.Model": keras.Model(deeplab.inputs, deeplab.outputs)}
    timing = interleaved_timing(models, images, masks, batch_size=args.batch_size, rounds=args.timing_rounds)
    peer = timing["unet_baseline"]
    command = "python tools/bench_segmentation.py " + " ".join(sys.argv[1:])
    lines = ["| model | train img/s (x unet) | predict img/s b64 (x unet) | eager model(x) b1 ms (x unet) |",
             "|---|---:|---:|---:|"]
    for name, t in timing.items():
        lines.append(
            f"| {name} | {t['train_images_per_second']:,.0f} "
            f"({t['train_images_per_second'] / peer['train_images_per_second']:.2f}x) "
            f"| {t['inference_images_per_second']:,.0f} "
            f"({t['inference_images_per_second'] / peer['inference_images_per_second']:.2f}x) "
            f"| {t['latency_batch1_ms']:.1f} ({t['latency_batch1_ms'] / peer['latency_batch1_ms']:.2f}x) |")
    lines += ["", f"Best of {args.timing_rounds} round-robin rounds, batch {args.batch_size} for training; "
                  f"{os.cpu_count()} CPUs. Command: `{command}`"]
    _atomic_json(os.path.join(args.out, "speed.json"), {"command": command, "timing": timing})
    with open(os.path.join(args.out, "speed.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    log("\n".join(lines))
    return 0


def main(argv=None):
    p = build_parser()
    args = p.parse_args(argv)

    import numpy as np

    from kerasdil.finetune import finetune
    from kerasdil.tasks import get_task
    from kerasdil.zoo import model_info
    from kerasdil.zoo.stats import model_stats

    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        p.error(f"unknown arm(s) {', '.join(unknown)}; choose from {', '.join(ARMS)}")
    os.makedirs(args.out, exist_ok=True)
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    task = get_task("segmentation")
    info = model_info("deeplab_aspp")
    if args.speed_only:
        return speed_only(args, task, info, log)
    dataset_kwargs = dict(num_train=args.train_scenes, num_test=args.test_scenes, validation_size=args.val_scenes)
    datasets = task.datasets(info, batch_size=args.batch_size, source=args.data, augment=not args.fixed_scenes,
                             seed=args.seed, **dataset_kwargs)
    data_text = datasets[3]
    log(data_text)
    test = datasets[2]
    test_images = np.concatenate([x.numpy() for x, _ in test.take(8)])

    results, models = {}, {}
    for arm in arms:
        arm_dir = os.path.join(args.out, arm)
        os.makedirs(arm_dir, exist_ok=True)
        start = time.perf_counter()
        if arm == "deeplab_aspp_finetuned":
            run = finetune(
                "deeplab_aspp", args.source, out_dir=arm_dir, head_epochs=args.head_epochs, epochs=args.epochs,
                batch_size=args.batch_size, learning_rate=args.lr, finetune_learning_rate=args.finetune_lr,
                augment=not args.fixed_scenes,
                data=args.data, seed=args.seed, dataset_kwargs=dataset_kwargs, verbose=2, log=log,
            )
            model, history, metrics = run.model, run.history, run.metrics
        else:
            # A fresh pipeline per arm: every arm sees the same sequence of scenes.
            arm_data = task.datasets(info, batch_size=args.batch_size, source=args.data, augment=not args.fixed_scenes,
                                     seed=args.seed, **dataset_kwargs)
            model, history = train_from_scratch(arm, arm_dir, arm_data, args, log)
            metrics = task.evaluate(model, test, out_dir=arm_dir)
        stats = model_stats(model)
        models[arm] = model
        epoch_seconds = [h["seconds"] for h in history]
        results[arm] = {
            "params": stats["params"],
            "macs": stats["macs"],
            "seconds_per_epoch_during_run": float(np.median(epoch_seconds)),
            "miou": metrics["miou"],
            "miou_no_background": metrics["miou_no_background"],
            "pixel_accuracy": metrics["pixel_accuracy"],
            "val_miou_per_epoch": [h.get("val_mean_iou") for h in history],
            "per_class_iou": metrics["per_class_iou"],
            "run_dir": arm_dir,
            "wall_seconds_this_process": round(time.perf_counter() - start, 1),
        }
        log(f"{arm}: test mIoU {metrics['miou']:.4f} (no bg {metrics['miou_no_background']:.4f}), pixel acc "
            f"{metrics['pixel_accuracy']:.4f}, {stats['params']:,} params")

    test_masks = np.concatenate([y.numpy() for _, y in test.take(8)])
    timing = interleaved_timing(models, test_images, test_masks, batch_size=args.batch_size,
                                rounds=args.timing_rounds)
    for arm, t in timing.items():
        results[arm]["inference_images_per_second"] = t["inference_images_per_second"]
        results[arm]["latency_batch1_ms"] = t["latency_batch1_ms"]
        results[arm]["train_images_per_second"] = t["train_images_per_second"]
        results[arm]["seconds_per_epoch"] = args.train_scenes / t["train_images_per_second"]
    litert_keys = ()
    if not args.no_litert:
        for arm, cols in litert_columns(models, test_images, test_masks, args, log).items():
            results[arm].update(cols)
        litert_keys = tuple(f"litert_{q}_{t}t_ms" for t in args.litert_threads for q in ("float32", "int8"))
    ratios = ratios_over_peer(results, args.peer,
                              ("seconds_per_epoch", "inference_images_per_second", "latency_batch1_ms") + litert_keys)
    for arm, r in ratios.items():
        results[arm]["ratios_over_" + args.peer] = r

    comparison = {}
    if "deeplab_aspp" in results and "deeplab_aspp_finetuned" in results:
        scratch = results["deeplab_aspp"]["val_miou_per_epoch"]
        tuned = results["deeplab_aspp_finetuned"]["val_miou_per_epoch"]
        reached = next((i + 1 for i, v in enumerate(tuned) if v is not None and v >= scratch[-1]), None)
        comparison = {
            "scratch_final_val_miou": scratch[-1],
            "finetuned_epochs_to_reach_it": reached,
            "epochs": args.epochs,
            "target_at_most_half": reached is not None and reached <= args.epochs / 2,
        }
    targets = {}
    if "deeplab_aspp" in results:
        best = max(v["miou"] for k, v in results.items() if k.startswith("deeplab"))
        targets["deeplab_miou_at_least_0.95"] = best >= 0.95
    if "deeplab_aspp" in results and "unet_baseline" in results:
        targets["deeplab_fewer_params_than_unet"] = results["deeplab_aspp"]["params"] < results["unet_baseline"]["params"]
    mobile = results.get("lraspp_mobilenetv3")
    for arm in ("deeplab_aspp", "deeplab_aspp_finetuned", "deeplab_aspp_mobile"):
        if mobile and arm in results:
            r = results[arm]
            targets[f"{arm}_miou_at_least_lraspp"] = r["miou"] >= mobile["miou"]
            targets[f"{arm}_params_at_most_lraspp"] = r["params"] <= mobile["params"]
            for key in litert_keys:
                if "int8" in key:
                    targets[f"{arm}_{key}_at_most_lraspp"] = r[key] <= mobile[key]
    command = "python tools/bench_segmentation.py " + " ".join(argv if argv is not None else sys.argv[1:])
    report = {"command": command.strip(), "data": data_text, "settings": vars(args), "results": results,
              "finetune_vs_scratch": comparison, "targets": targets}
    _atomic_json(os.path.join(args.out, "bench.json"), report)

    from kerasdil.plots import figure, save_figure

    fig = figure(figsize=(6, 4))
    ax = fig.add_subplot(1, 1, 1)
    for arm, r in results.items():
        curve = r["val_miou_per_epoch"]
        ax.plot(range(1, len(curve) + 1), curve, marker="o", label=arm)
    if comparison.get("scratch_final_val_miou") is not None:
        ax.axhline(comparison["scratch_final_val_miou"], color="grey", ls=":", lw=1, label="scratch final")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation mIoU (11 classes)")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("MNIST scenes: mIoU per epoch")
    save_figure(fig, os.path.join(args.out, "miou_per_epoch.png"))

    def with_ratio(arm, key, text):
        ratio = ratios.get(arm, {}).get(key)
        return text if ratio is None else f"{text} ({ratio:.2f}x)"

    lines = [
        f"Data: {data_text.removeprefix('data: ')}. Batch {args.batch_size}, {args.epochs} epochs, peak lr {args.lr} "
        f"(fine-tuned: {args.head_epochs} head epoch(s) at {args.lr}, then {args.finetune_lr}).",
        "",
        "| model | params | MACs/image | s/epoch | test mIoU | mIoU w/o background | pixel accuracy | inference img/s "
        "| batch-1 latency (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    litert_lines = []
    if litert_keys:
        heads = " | ".join(f"LiteRT {k.split('_')[1]} {k.split('_')[2]} ms" for k in litert_keys)
        litert_lines = ["", f"| model | int8 test mIoU | int8 audit | {heads} |",
                        "|---|---:|---|" + "---:|" * len(litert_keys)]
        for arm, r in results.items():
            cells = " | ".join(with_ratio(arm, k, format(r[k], ".3f")) for k in litert_keys)
            audit = ("ok" if r["int8_audit_ok"] else "FAILED") + f" ({r['int8_dilated_native']} dilated native)"
            litert_lines.append(f"| {arm} | {r['int8_miou']:.4f} | {audit} | {cells} |")
    for arm, r in results.items():
        lines.append(
            f"| {arm} | {r['params']:,} | {r['macs'] / 1e6:.1f} M | "
            f"{with_ratio(arm, 'seconds_per_epoch', format(r['seconds_per_epoch'], '.1f'))} | {r['miou']:.4f} | "
            f"{r['miou_no_background']:.4f} | {r['pixel_accuracy']:.4f} | "
            f"{with_ratio(arm, 'inference_images_per_second', format(r['inference_images_per_second'], '.0f'))} | "
            f"{with_ratio(arm, 'latency_batch1_ms', format(r['latency_batch1_ms'], '.1f'))} |"
        )
    lines += litert_lines
    lines += ["", f"In parentheses: the ratio over {args.peer} (the peer), measured round-robin in the same rounds."
              if ratios else f"No ratios: {args.peer} (the peer) was not among the arms."]
    if targets:
        lines += ["", "Targets: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in targets.items()) + "."]
    if comparison:
        lines += ["", f"Fine-tuned reaches the scratch model's final validation mIoU "
                      f"({comparison['scratch_final_val_miou']:.4f}) after "
                      f"{comparison['finetuned_epochs_to_reach_it']} of {args.epochs} epochs."]
    lines += ["", f"Command: `{report['command']}`"]
    with open(os.path.join(args.out, "bench.md.tmp"), "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(os.path.join(args.out, "bench.md.tmp"), os.path.join(args.out, "bench.md"))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
