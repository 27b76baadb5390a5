"""deeplab_aspp on a keras.applications backbone against the DSDC one, same data, same budget.

    python tools/bench_backbones.py --data /path/to/mnist.npz --out runs/bench_backbones

Each arm is ``deeplab_aspp(backbone=..., output_stride=...)`` (``--arms``, default
the DSDC backbone at output stride 8 and MobileNetV3-Small at 16, both from random
initialisation: no ImageNet weights, the scenes are grey digits), trained on the
same MNIST scenes (same seed, new scenes every epoch) with the same recipe: batch
``--batch-size``, AdamW at peak lr ``--lr`` with weight decay ``--weight-decay``,
warm-up and cosine decay (``kerasdil.train.compile_model``), ``--epochs`` x
``--train-scenes``. The default budget is short (2 epochs x 2,000 scenes): the
table compares the backbones at an equal small budget, not at convergence.

Columns: parameters and MACs per image (``kerasdil.zoo.stats.model_stats``);
test mIoU (11 classes, background included) of the Keras model; the same for
its int8 LiteRT file (``kerasdil.export.export``, calibrated on 256 training
scenes, its op audit: native dilated convs, no SPACE_TO_BATCH_ND); the int8
file's batch-1 latency with ``--threads`` LiteRT threads (XNNPACK), timed
round-robin over the arms (each round times every arm once, the median of
``--latency-calls`` invocations; the best round counts) because the machine may
be shared; training seconds per epoch (wall clock, at whatever load the machine
had). Each arm's run folder is resumable: rerun the same command after an
interruption.

Writes ``bench_backbones.json`` and ``bench_backbones.md`` into ``--out``, and per
arm a run folder (history, final weights, export report).
"""

import argparse
import json
import os
import shlex
import sys
import time

from kerasdil.io import write_report

DEFAULT_ARMS = "dsdc@8,mobilenet_v3_small@16"


def parse_arms(text):
    """``"dsdc@8,mobilenet_v3_small@16"`` -> [("dsdc", 8), ("mobilenet_v3_small", 16)]."""
    from kerasdil.zoo.deeplab_aspp.model import BACKBONES

    arms = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        backbone, _, stride = item.partition("@")
        if backbone not in BACKBONES or not stride.isdigit():
            raise SystemExit(f"--arms: {item!r} is not BACKBONE@OUTPUT_STRIDE with BACKBONE one of "
                             f"{', '.join(BACKBONES)} (e.g. {DEFAULT_ARMS}).")
        arms.append((backbone, int(stride)))
    if not arms:
        raise SystemExit(f"--arms: name at least one arm, e.g. {DEFAULT_ARMS}.")
    return arms


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="MNIST source ('sample', mnist.npz or a folder; default search order)")
    p.add_argument("--arms", default=DEFAULT_ARMS, help=f"comma-separated BACKBONE@OUTPUT_STRIDE (default {DEFAULT_ARMS})")
    p.add_argument("--train-scenes", type=int, default=2000, help="new training scenes per epoch")
    p.add_argument("--val-scenes", type=int, default=200)
    p.add_argument("--test-scenes", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of every arm")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--threads", type=int, default=1, help="LiteRT threads for the latency column")
    p.add_argument("--latency-rounds", type=int, default=5)
    p.add_argument("--latency-calls", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/bench_backbones")
    return p


def arm_name(backbone, output_stride):
    return f"{backbone}-os{output_stride}"


def train_arm(backbone, output_stride, datasets, args, log):
    """Build, train (resumably) and evaluate one arm; returns (model, row)."""
    import keras
    import numpy as np

    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model, fit
    from kerasdil.zoo import deeplab_aspp
    from kerasdil.zoo.stats import model_stats
    from kerasdil.zoo.weights_io import assign_weights, read_weights, save_weights

    task = get_task("segmentation")
    train, val, test, _ = datasets
    arm_dir = os.path.join(args.out, arm_name(backbone, output_stride))
    keras.utils.set_random_seed(args.seed)
    model = deeplab_aspp(backbone=backbone, output_stride=output_stride)
    weights_path = os.path.join(arm_dir, "final.weights.npz")
    history_path = os.path.join(arm_dir, "history.json")
    if os.path.exists(weights_path):
        assign_weights(model, read_weights(weights_path)[1], source=weights_path)
        with open(history_path) as f:
            history = json.load(f)
    else:
        steps = int(train.cardinality())
        compile_model(model, task, learning_rate=args.lr, weight_decay=args.weight_decay,
                      decay_steps=steps * args.epochs)
        log(f"{arm_name(backbone, output_stride)}: {args.epochs} epochs x {steps} steps, lr {args.lr}")
        history = fit(model, train, epochs=args.epochs, out_dir=arm_dir, task=task, validation_data=val, verbose=2)
        save_weights(model, weights_path)
    scores = task.evaluate(model, test)
    row = {
        "arm": arm_name(backbone, output_stride),
        "backbone": backbone,
        "output_stride": output_stride,
        **model_stats(model),
        "test_miou": scores["miou"],
        "test_miou_no_background": scores["miou_no_background"],
        "pixel_accuracy": scores["pixel_accuracy"],
        "seconds_per_epoch": float(np.median([h["seconds"] for h in history])),
        "validation_miou_per_epoch": [h.get("val_mean_iou") for h in history],
    }
    return model, row


def export_int8(model, row, images, masks, args):
    """int8 TFLite of ``model`` with its audit and int8 mIoU; returns the file path."""
    from kerasdil.export import export

    out = os.path.join(args.out, row["arm"], "export")
    report = export(model, out, formats="tflite", quantize="int8", representative_data=images[:256],
                    test_data=(images, masks), latency_repeats=0, num_threads=args.threads, force=True)
    artifact = report.artifact("tflite", "int8")
    row.update(
        int8_miou=artifact.metric["value"],
        int8_bytes=artifact.bytes,
        int8_forbidden_ops=artifact.audit["forbidden"],
        int8_dilated_native=artifact.audit["dilated_native"],
        int8_dilated_expected=artifact.audit["dilated_expected"],
        int8_has_space_to_batch="SPACE_TO_BATCH_ND" in artifact.audit["ops"],
    )
    return os.path.join(out, "model_int8.tflite")


def table(rows, args):
    lines = [
        "| backbone | output stride | params | MACs/image | test mIoU (Keras) | mIoU w/o background | "
        "int8 mIoU | LiteRT int8 batch-1 ms | int8 audit | s/epoch (training) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        audit = (f"{r['int8_dilated_native']}/{r['int8_dilated_expected']} dilated native, "
                 + ("SPACE_TO_BATCH_ND" if r["int8_has_space_to_batch"] else "no SPACE_TO_BATCH_ND")
                 + (f", forbidden {', '.join(r['int8_forbidden_ops'])}" if r["int8_forbidden_ops"] else ""))
        lines.append(
            f"| {r['backbone']} | {r['output_stride']} | {r['params']:,} | {r['macs'] / 1e6:.1f} M | "
            f"{r['test_miou']:.4f} | {r['test_miou_no_background']:.4f} | {r['int8_miou']:.4f} | "
            f"{r['int8_batch1_ms']:.2f} | {audit} | {r['seconds_per_epoch']:.0f} |"
        )
    lines += [
        "",
        f"{args.epochs} epochs x {args.train_scenes:,} new training scenes, {args.test_scenes:,} test scenes, "
        f"batch {args.batch_size}, AdamW peak lr {args.lr}, weight decay {args.weight_decay}; every backbone from "
        f"random initialisation. Latency: LiteRT with XNNPACK, {args.threads} thread(s), best of "
        f"{args.latency_rounds} round-robin rounds of {args.latency_calls} calls.",
    ]
    return lines


def main(argv=None):
    args = build_parser().parse_args(argv)
    arms = parse_arms(args.arms)
    command = "python tools/bench_backbones.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    from kerasdil.export.timing import round_robin_latency
    from kerasdil.tasks import get_task
    from kerasdil.zoo import model_info

    task = get_task("segmentation")
    datasets = task.datasets(model_info("deeplab_aspp"), batch_size=args.batch_size, source=args.data, augment=True,
                             seed=args.seed, num_train=args.train_scenes, num_test=args.test_scenes,
                             validation_size=args.val_scenes)
    print(datasets[3], flush=True)
    images = np.concatenate([x.numpy() for x, _ in datasets[2]])
    masks = np.concatenate([y.numpy() for _, y in datasets[2]])
    rows, paths = [], {}
    start = time.perf_counter()
    for backbone, output_stride in arms:
        model, row = train_arm(backbone, output_stride, datasets, args, print)
        paths[row["arm"]] = export_int8(model, row, images, masks, args)
        rows.append(row)
        print(f"{row['arm']}: test mIoU {row['test_miou']:.4f}, int8 {row['int8_miou']:.4f}", flush=True)
    latency = round_robin_latency(paths, images[0], threads=args.threads, rounds=args.latency_rounds,
                                  calls=args.latency_calls)
    for row in rows:
        row["int8_batch1_ms"] = latency[row["arm"]]
    lines = table(rows, args)
    payload = {"command": command, "data": datasets[3], "settings": vars(args), "rows": rows,
               "seconds": round(time.perf_counter() - start, 1)}
    write_report(args.out, "bench_backbones", payload, [f"`{command}`", "", *lines])
    return 0


if __name__ == "__main__":
    sys.exit(main())
