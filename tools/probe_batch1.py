"""Where batch-1 ``predict_on_batch`` time goes, and what a DSDC block could do instead.

    python tools/probe_batch1.py --out runs/probe_batch1

Three measurements, each printed and written to ``--out`` (``probe_batch1.json``, ``.md``):

1. oneDNN's own execution time of every primitive in one batch-1 ``predict_on_batch``
   of the peer and of the BN-free ``mnist_fast`` architecture, read from ``ONEDNN_VERBOSE=1`` in a child process (the setting is
   read once per process). It separates what the kernels cost from what the graph
   executor and Keras add around them.
2. ``predict_on_batch`` wall time at batch 1 and 256 of both models, in interleaved
   rounds: the same calls as 1., without the logging.
3. A chain of ``--blocks`` identical DSDC blocks (dilated 3x3 depthwise, 1x1 pointwise,
   bias, ReLU) in one ``tf.function``, written three exact ways, at several batch
   sizes, timed in interleaved rounds; the time per block is the chain's median
   minus an empty function's, over ``--blocks``:
   - ``conv1x1``: native dilated ``DepthwiseConv2dNative`` + 1x1 ``Conv2D`` (what
     ``SeparableDilatedConv`` runs at inference);
   - ``matmul``: the same depthwise + the 1x1 conv as a MatMul (what it trains with);
   - ``patches``: the depthwise as ``extract_patches`` + multiply + sum (no oneDNN
     conv at all), then the MatMul.
   Each variant is checked against ``conv1x1`` (max abs difference in the table).

Environment settings that change TensorFlow's threading or oneDNN (for example
``TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD=1``, ``TF_NUM_INTRAOP_THREADS=1``) are read
at start-up: set them on the command line and compare runs.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

from kerasdil.io import write_report

F1_NOBN = {"width": 16, "stem": "strided", "stage_filters": [32, 64], "dilation_schedule": [[1, 3], [1, 2, 3]],
           "batchnorm": False}
VERBOSE_EXEC = re.compile(r"^onednn_verbose,(?:v\d+,)?(?:primitive,)?exec,cpu,([^,]+),([^,]+),.*,([0-9.]+)\s*$")


def _verbose_child(models, calls):
    """Run in a child with ONEDNN_VERBOSE=1: ``calls`` marked batch-1 predict_on_batch calls per model."""
    import numpy as np

    from kerasdil.zoo import create_model

    x1 = np.random.default_rng(0).random((1, 28, 28, 1), dtype=np.float32)
    for name, kwargs in models:
        model = create_model(name, **kwargs)
        for _ in range(5):  # trace, create and cache the primitives
            model.predict_on_batch(x1)
        for _ in range(calls):
            print(f"@@model {name} {json.dumps(kwargs, sort_keys=True)}", flush=True)
            model.predict_on_batch(x1)
            print("@@end", flush=True)


def primitive_times(models, calls):
    """{label: [[(primitive, implementation, ms), ...] per call]} for ``calls`` batch-1 predicts of each model."""
    env = dict(os.environ, ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--_verbose-child", json.dumps([models, calls])],
                         env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"the ONEDNN_VERBOSE child failed:\n{out.stderr[-2000:]}")
    result, current = {}, None
    for line in out.stdout.splitlines():
        if line.startswith("@@model "):
            current = result.setdefault(line[len("@@model "):], [])
            current.append([])
        elif line.startswith("@@end"):
            current = None
        elif current is not None:
            m = VERBOSE_EXEC.match(line)
            if m:
                current[-1].append((m.group(1), m.group(2), float(m.group(3))))
    if not result or not any(any(call) for call in result.values()):
        raise RuntimeError("no oneDNN primitive executions were logged (is this TensorFlow built with oneDNN, "
                           "and TF_ENABLE_ONEDNN_OPTS not 0?)")
    return result


def predict_times(models, rounds):
    """{label: {"b1": [ms per round], "b256": [...]}}: predict_on_batch medians, models interleaved."""
    import numpy as np

    from kerasdil.zoo import create_model

    rng = np.random.default_rng(0)
    x1, x256 = rng.random((1, 28, 28, 1), dtype=np.float32), rng.random((256, 28, 28, 1), dtype=np.float32)
    built = {f"{name} {json.dumps(kwargs, sort_keys=True)}": create_model(name, **kwargs) for name, kwargs in models}
    for model in built.values():
        for _ in range(5):
            model.predict_on_batch(x1)
            model.predict_on_batch(x256)
    times = {label: {"b1": [], "b256": []} for label in built}
    for _ in range(rounds):
        for label, model in built.items():
            for key, x, reps in (("b1", x1, 30), ("b256", x256, 3)):
                ts = []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    model.predict_on_batch(x)
                    ts.append(time.perf_counter() - t0)
                times[label][key].append(1000 * statistics.median(ts))
    return times


def block_chain(batch, size, channels, blocks, dilation, rounds):
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((batch, size, size, channels), dtype=np.float32))
    ks = [tf.Variable(rng.standard_normal((3, 3, channels, 1)).astype("float32") * 0.3) for _ in range(blocks)]
    ws = [tf.Variable(rng.standard_normal((channels, channels)).astype("float32") * 0.2) for _ in range(blocks)]
    bs = [tf.Variable(rng.standard_normal((channels,)).astype("float32") * 0.1) for _ in range(blocks)]

    def depthwise(x, k):
        return tf.raw_ops.DepthwiseConv2dNative(input=x, filter=k, strides=[1, 1, 1, 1], padding="SAME",
                                                dilations=[1, dilation, dilation, 1])

    def patches_depthwise(x, k):
        p = tf.image.extract_patches(x, sizes=[1, 3, 3, 1], strides=[1, 1, 1, 1], rates=[1, dilation, dilation, 1],
                                     padding="SAME")
        return tf.reduce_sum(tf.reshape(p, (-1, 9, channels)) * tf.reshape(k, (9, channels)), axis=1)

    @tf.function
    def conv1x1(x):
        for k, w, b in zip(ks, ws, bs):
            x = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(depthwise(x, k), tf.reshape(w, (1, 1, channels, channels)),
                                                       1, "SAME"), b))
        return x

    @tf.function
    def matmul(x):
        shape = tf.shape(x)
        for k, w, b in zip(ks, ws, bs):
            y = tf.matmul(tf.reshape(depthwise(x, k), (-1, channels)), w)
            x = tf.reshape(tf.nn.relu(tf.nn.bias_add(y, b)), shape)
        return x

    @tf.function
    def patches(x):
        shape = tf.shape(x)
        for k, w, b in zip(ks, ws, bs):
            x = tf.reshape(tf.nn.relu(tf.nn.bias_add(tf.matmul(patches_depthwise(x, k), w), b)), shape)
        return x

    @tf.function
    def empty(x):
        return x + 1.0

    fns = {"conv1x1": conv1x1, "matmul": matmul, "patches": patches, "empty": empty}
    ref = conv1x1(x).numpy()
    diffs = {n: float(np.abs(fns[n](x).numpy() - ref).max()) for n in ("matmul", "patches")}
    for fn in fns.values():
        for _ in range(3):
            fn(x)
    reps = max(2, 64 // batch)
    times = {n: [] for n in fns}
    for _ in range(rounds):
        for n, fn in fns.items():
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                fn(x)
                ts.append(time.perf_counter() - t0)
            times[n].append(statistics.median(ts))
    empty_s = statistics.median(times["empty"])
    per_block = {n: 1e6 * (statistics.median(times[n]) - empty_s) / blocks for n in ("conv1x1", "matmul", "patches")}
    return per_block, diffs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/probe_batch1", help="folder for probe_batch1.json / .md")
    p.add_argument("--batches", default="1,4,16,256", help="batch sizes for the block chains (comma-separated)")
    p.add_argument("--shapes", default="14x32,7x64", help="block input sizes as SIDExCHANNELS (comma-separated)")
    p.add_argument("--blocks", type=int, default=8, help="blocks per chain")
    p.add_argument("--dilation", type=int, default=2)
    p.add_argument("--rounds", type=int, default=12, help="interleaved timing rounds")
    p.add_argument("--calls", type=int, default=20, help="batch-1 calls logged with ONEDNN_VERBOSE per model")
    p.add_argument("--skip-verbose", action="store_true", help="skip the ONEDNN_VERBOSE primitive times")
    p.add_argument("--_verbose-child", dest="verbose_child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.verbose_child is not None:
        return _verbose_child(*json.loads(args.verbose_child))
    try:
        batches = [int(b) for b in args.batches.split(",")]
        shapes = [tuple(int(v) for v in s.lower().split("x")) for s in args.shapes.split(",")]
    except ValueError:
        p.error("--batches takes integers like 1,4,16 and --shapes sizes like 14x32,7x64")
    if min(batches) < 1 or any(len(s) != 2 or min(s) < 1 for s in shapes) or min(args.blocks, args.rounds, args.calls) < 1:
        p.error("batch sizes, shapes, --blocks, --rounds and --calls must be positive")

    env = {k: v for k, v in sorted(os.environ.items()) if k.startswith(("TF_NUM", "TF_ONEDNN", "TF_ENABLE_ONEDNN"))}
    payload = {"command": " ".join([os.path.basename(sys.executable), *sys.argv]), "environment": env}
    lines = [f"Command: `{payload['command']}`" + (f" with {env}" if env else ""), ""]

    if not args.skip_verbose:
        models = [("keras_io_convnet", {}), ("mnist_dsdc", F1_NOBN)]
        prims = primitive_times(models, args.calls)
        payload["primitives_batch1"] = prims
        lines += [f"### oneDNN primitives in a batch-1 `predict_on_batch` (ONEDNN_VERBOSE exec times, {args.calls} calls)",
                  "", "| model | primitives per call | oneDNN ms per call (median) | kind: count per call, median us |",
                  "|---|---:|---:|---|"]
        for label, calls in prims.items():
            kinds = {}
            for call in calls:
                for prim, impl, ms in call:
                    kinds.setdefault(f"{prim} ({impl})", []).append(1000 * ms)
            per_call = statistics.median(sum(r[2] for r in call) for call in calls)
            lines.append(f"| {label} | {len(calls[0])} | {per_call:.3f} | " + "; ".join(
                f"{k}: {len(v) / len(calls):g}, {statistics.median(v):.0f}" for k, v in kinds.items()) + " |")
        lines.append("")

    wall = predict_times([("keras_io_convnet", {}), ("mnist_dsdc", F1_NOBN)], args.rounds)
    payload["predict_on_batch_ms"] = wall
    (peer, peer_t), (dsdc, dsdc_t) = wall.items()
    lines += ["### `predict_on_batch` wall time (interleaved rounds, median)", "",
              "| batch | peer ms | mnist_dsdc BN-free ms | x peer (median of rounds, range) |", "|---:|---:|---:|---:|"]
    for key in ("b1", "b256"):
        ratios = [d / q for d, q in zip(dsdc_t[key], peer_t[key])]
        lines.append(f"| {key[1:]} | {statistics.median(peer_t[key]):.3f} | {statistics.median(dsdc_t[key]):.3f} | "
                     f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) |")
    lines.append("")

    payload["blocks"] = []
    lines += [f"### One DSDC block (dilation {args.dilation}), us per block in a chain of {args.blocks}", "",
              "| input | batch | conv1x1 | matmul (x conv1x1) | patches (x conv1x1) | max abs diff matmul / patches |",
              "|---|---:|---:|---:|---:|---:|"]
    for side, channels in shapes:
        for batch in batches:
            per_block, diffs = block_chain(batch, side, channels, args.blocks, args.dilation, args.rounds)
            payload["blocks"].append({"side": side, "channels": channels, "batch": batch, "us_per_block": per_block,
                                      "max_abs_diff": diffs})
            c = per_block["conv1x1"]
            lines.append(f"| {side}x{side}x{channels} | {batch} | {c:.1f} | {per_block['matmul']:.1f} "
                         f"({per_block['matmul'] / c:.2f}x) | {per_block['patches']:.1f} "
                         f"({per_block['patches'] / c:.2f}x) | {diffs['matmul']:.1e} / {diffs['patches']:.1e} |")
    write_report(args.out, "probe_batch1", payload, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
