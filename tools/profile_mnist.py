"""Op-level profile of training (and inference) steps: where does the time go?

    python tools/profile_mnist.py --models keras_io_convnet,mnist_dsdc --steps 30

Runs the TensorFlow profiler over ``--steps`` training steps (after warm-up) of each
model on the same batches, and over as many ``predict_on_batch`` calls at
``--inference-batch`` (256; 1 shows the per-call overheads), converts the trace with TensorFlow's own
``xspace_to_tools_data`` ("framework_op_stats"), and aggregates host self-time by op
type, with the number of kernel calls per step. Writes ``profile.json`` and ``profile.md`` to ``--out`` and prints the tables.
"""

import argparse
import glob
import json
import os
import shlex
import sys
import tempfile

from kerasdil.io import write_report


def _op_stats(logdir):
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    paths = glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb"))
    raw, ok = plugin.xspace_to_tools_data(paths, "framework_op_stats", {})
    if not ok:
        raise RuntimeError("the profiler trace could not be converted")
    table = json.loads(raw)
    table = table[0] if isinstance(table, list) else table
    cols = [c["label"] if isinstance(c, dict) else c for c in table["cols"]]
    rows = [[cell.get("v") if isinstance(cell, dict) else cell for cell in r["c"]] for r in table["rows"]]
    return cols, rows


def profile(model_name, steps, batch_size, x, y, train, model_kwargs=None, fused_optimizer=True):
    import keras
    import tensorflow as tf

    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model, recipe
    from kerasdil.zoo import create_model

    keras.utils.set_random_seed(0)
    model = create_model(model_name, **(model_kwargs or {}))
    settings = recipe(model_name)  # the model's own optimizer: learning rate, weight decay, cosine schedule
    compile_model(model, get_task("classification"), learning_rate=settings["learning_rate"],
                  weight_decay=settings["weight_decay"], decay_steps=10_000, fused_optimizer=fused_optimizer)
    if train:
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).repeat().prefetch(4)
        model.fit(ds, steps_per_epoch=5, epochs=1, verbose=0)
    else:  # predict_on_batch: one compiled graph call per step, as in bench_mnist.py
        batch = x[:batch_size]
        for _ in range(5):
            model.predict_on_batch(batch)
    logdir = tempfile.mkdtemp(prefix=f"profile-{model_name}-")
    tf.profiler.experimental.start(logdir)
    if train:
        model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    else:
        for _ in range(steps):
            model.predict_on_batch(batch)
    tf.profiler.experimental.stop()
    cols, rows = _op_stats(logdir)
    try:
        type_col = cols.index("Operation Type")
        self_col = next(i for i, c in enumerate(cols) if c.startswith("Total self-time (us)"))
        host_col = cols.index("Host/device")
        count_col = next(i for i, c in enumerate(cols) if c.startswith("#Occurrences"))
    except (ValueError, StopIteration):
        raise RuntimeError(f"unexpected op-stats columns: {cols}") from None
    by_type, calls = {}, {}
    for r in rows:
        if r[host_col] != "Host" and r[host_col] != "Device":
            continue
        if r[type_col] == "IDLE":
            continue  # time with no op running (input waits, Python) is not an op cost
        by_type[r[type_col]] = by_type.get(r[type_col], 0.0) + float(r[self_col])
        calls[r[type_col]] = calls.get(r[type_col], 0) + int(r[count_col])
    total = sum(by_type.values()) or 1.0
    ranked = sorted(by_type.items(), key=lambda kv: -kv[1])
    return {"model": model_name, "kwargs": model_kwargs or {}, "mode": "train" if train else "inference", "steps": steps,
            "batch_size": batch_size, "ms_per_step": total / steps / 1e3,
            "kernels_per_step": sum(calls.values()) / steps,
            "ops": [{"op": k, "ms_per_step": v / steps / 1e3, "share": v / total, "calls_per_step": calls[k] / steps}
                    for k, v in ranked]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="keras_io_convnet,mnist_dsdc")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=128, help="training batch")
    p.add_argument("--inference-batch", type=int, default=256, help="predict_on_batch batch (1: per-call overheads)")
    p.add_argument("--data", default=None)
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--out", default="runs/profile_mnist")
    p.add_argument("--keras-optimizer", action="store_true",
                   help="train with Keras's own Adam / AdamW instead of kerasdil.optimizers' fused ones")
    p.add_argument("--model-kwargs", action="append", default=[], metavar="NAME=JSON",
                   help="builder kwargs for one of --models, e.g. mnist_dsdc='{\"width\": 16}' (repeatable)")
    args = p.parse_args(argv)
    kwargs = {}
    for spec in args.model_kwargs:
        name, sep, text = spec.partition("=")
        try:
            kwargs[name] = json.loads(text)
        except json.JSONDecodeError as e:
            p.error(f"--model-kwargs {spec!r}: not NAME=JSON ({e})")
        if not sep or not isinstance(kwargs[name], dict):
            p.error(f"--model-kwargs {spec!r}: expected NAME={{...}}")

    from kerasdil import data

    arrays = data.load_mnist_arrays(args.data)
    x = data.normalize(arrays.x_train[:4096])
    y = arrays.y_train[:4096].astype("int32")
    results = []
    for name in args.models.split(","):
        for train in (True, False):
            results.append(profile(name, args.steps, args.batch_size if train else args.inference_batch, x, y, train,
                                   kwargs.get(name), fused_optimizer=not args.keras_optimizer))
    lines = []
    for r in results:
        label = r["model"] + (f" {json.dumps(r['kwargs'])}" if r["kwargs"] else "")
        lines += [f"### {label} ({r['mode']}, batch {r['batch_size']}): {r['ms_per_step']:.3f} ms of op self-time "
                  f"and {r['kernels_per_step']:.0f} kernels per step", "",
                  "| op type | ms/step | share | calls/step |", "|---|---:|---:|---:|"]
        lines += [f"| {o['op']} | {o['ms_per_step']:.3f} | {o['share']:.1%} | {o['calls_per_step']:.1f} |"
                  for o in r["ops"][: args.top]]
        lines.append("")
    lines.append(f"Command: `python tools/profile_mnist.py {shlex.join(argv if argv is not None else sys.argv[1:])}`")
    write_report(args.out, "profile", results, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
