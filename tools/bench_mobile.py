"""Deployment speed side by side: every classifier against the peer on LiteRT, Keras and training.

Each model is converted the way ``kerasdil export`` converts it (``TFLiteConverter`` on a
static-shape serving function, int8 calibrated on 256 MNIST test images), once with a
static batch of 1 and once with a static batch of 64, and run by the LiteRT interpreter
with its default XNNPACK delegate. Measured, in interleaved rounds so that load changes
on a shared machine hit every model alike:

- LiteRT float32 and int8, 1 and 2 threads: batch-1 latency (ms per invoke) and
  batch-64 throughput (images/s); the best round of ``--rounds``;
- Keras ``predict`` of 2,560 images at batch size 256 (images/s) and eager ``model(x)`` at batch 1 (ms)
  and batch 256 (images/s); the median over rounds;
- training: seconds per epoch of 60,000 images at batch 128 on the same augmented
  pipeline for every model (the default classifier's recipe augmentation), from
  ``--train-steps`` steps per round after an untimed warm-up; the median over rounds;
- int8 accuracy against float32 accuracy on the 10,000 test images (``--data``).

Every number is also given as a ratio to the first model (the peer: ``keras_io_convnet``).
A model is a zoo spec: ``NAME`` (random weights), ``NAME:TAG`` (shipped weights) or a
``.keras`` path; ``--peer-weights`` may give the peer a trained ``.keras`` file so its
int8 calibration and accuracy mean something (without one it is trained for
``--peer-epochs`` epochs here first). ``--candidates`` adds untrained ``mnist_dsdc``
architectures (builder arguments as JSON) for a latency study: their speed is real,
their accuracy is chance.

    python tools/bench_mobile.py --data path/to/mnist.npz --models mnist_dsdc:mnist \\
        --out runs/bench_mobile

Writes ``bench_mobile.json`` and ``bench_mobile.md`` into ``--out`` and prints the table.
"""

import argparse
import os
import statistics
import time

import numpy as np

PEER = "keras_io_convnet"
CONFIGS = [(q, threads) for q in ("float32", "int8") for threads in (1, 2)]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="mnist_dsdc:mnist", help="comma-separated zoo specs or .keras paths")
    p.add_argument("--data", default=None, help="MNIST source: a file, a folder holding mnist.npz, or 'sample'")
    p.add_argument("--peer-weights", default=None, help="a trained keras_io_convnet .keras file")
    p.add_argument("--peer-epochs", type=int, default=3, help="epochs to train the peer when --peer-weights is not given")
    p.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    p.add_argument("--invokes", type=int, default=300, help="LiteRT batch-1 invokes per round")
    p.add_argument("--train-steps", type=int, default=40, help="training steps timed per round (0: skip training)")
    p.add_argument("--candidates", default=None, metavar="JSON",
                   help='untrained architectures to time beside the models: {"label": {mnist_dsdc arguments}}, '
                        'e.g. \'{"two blocks": {"dilation_schedule": [[], [1, 2]]}}\' (their accuracy is chance)')
    p.add_argument("--out", default=os.path.join("runs", "bench_mobile"))
    args = p.parse_args(argv)
    if args.candidates is not None:
        import json

        try:
            args.candidates = json.loads(args.candidates)
        except json.JSONDecodeError as e:
            p.error(f"--candidates is not valid JSON ({e.msg} at character {e.pos})")
        if not isinstance(args.candidates, dict) or not all(isinstance(v, dict) for v in args.candidates.values()):
            p.error('--candidates must be a JSON object of objects, {"label": {mnist_dsdc arguments}}')
    if args.rounds < 1 or args.invokes < 1 or args.train_steps < 0 or args.peer_epochs < 1:
        p.error("--rounds, --invokes and --peer-epochs must be at least 1, --train-steps at least 0")
    return args


def _load(spec):
    from kerasdil.zoo import create_model

    if spec.endswith(".keras"):
        import keras

        import kerasdil.zoo  # noqa: F401  registers the zoo's classes for loading

        return keras.models.load_model(spec)
    return create_model(spec)


def _serving(model, batch):
    import tensorflow as tf

    spec = tf.TensorSpec((batch, *model.inputs[0].shape[1:]), tf.float32, name="image")

    @tf.function(input_signature=[spec], autograph=False)
    def serve(x):
        return {"output": model(x, training=False)}

    return serve.get_concrete_function()


def _interpreter(flatbuffer, threads, x):
    from kerasdil.export.tflite import interpreter

    it = interpreter(flatbuffer, num_threads=threads)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    for _ in range(10):
        it.invoke()
    return it


def _accuracy(flatbuffer, x, y):
    from kerasdil.export.tflite import interpreter

    it = interpreter(flatbuffer, num_threads=2)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    batch = it.get_input_details()[0]["shape"][0]
    correct = 0
    for i in range(0, len(x) - batch + 1, batch):
        it.set_tensor(inp, x[i : i + batch])
        it.invoke()
        correct += int((it.get_tensor(out).argmax(-1) == y[i : i + batch]).sum())
    return correct / (len(x) // batch * batch)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from kerasdil import data
    from kerasdil.export.tflite import convert
    from kerasdil.io import write_report
    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model, recipe
    from kerasdil.zoo import create_model
    from kerasdil.zoo.stats import model_stats

    arrays = data.load_mnist_arrays(args.data)
    print(arrays.describe(), flush=True)
    x_test = data.normalize(arrays.x_test)
    y_test = np.asarray(arrays.y_test)
    representative = x_test[:256]
    task = get_task("classification")

    specs = [s for s in args.models.split(",") if s and s != PEER]
    models = {}
    if args.peer_weights:
        models[PEER] = _load(args.peer_weights)
    else:
        keras.utils.set_random_seed(0)
        peer = _load(PEER)
        compile_model(peer, task, learning_rate=recipe(PEER)["learning_rate"])
        peer.fit(data.mnist("train", source=arrays, batch_size=128, seed=0), epochs=args.peer_epochs, verbose=2)
        models[PEER] = peer
    for spec in specs:
        models[spec] = _load(spec)
    for label, kwargs in (args.candidates or {}).items():
        keras.utils.set_random_seed(0)
        try:
            models[f"{label} (untrained)"] = create_model("mnist_dsdc", **kwargs)
        except (TypeError, ValueError) as e:
            raise SystemExit(f"bench_mobile: candidate {label!r}: {e}") from None

    files, interpreters, accuracy = {}, {}, {}
    x1, x64 = x_test[:1], x_test[:64]
    for name, model in models.items():
        for batch in (1, 64):
            concrete = _serving(model, batch)
            files[(name, "float32", batch)] = convert(concrete, "float32")
            files[(name, "int8", batch)] = convert(concrete, "int8", representative=representative)
        for q in ("float32", "int8"):
            accuracy[(name, q)] = _accuracy(files[(name, q, 64)], x_test, y_test)
            for threads in (1, 2):
                for batch, x in ((1, x1), (64, x64)):
                    interpreters[(name, q, threads, batch)] = _interpreter(files[(name, q, batch)], threads, x)
        print(f"{name}: float32 {accuracy[(name, 'float32')]:.4f}, int8 {accuracy[(name, 'int8')]:.4f}", flush=True)

    litert = {key: float("inf") for key in interpreters}
    keras_times = {name: {"predict_b256": [], "eager_b1": [], "eager_b256": []} for name in models}
    x256, x2560 = x_test[:256], x_test[:2560]
    for name, model in models.items():  # untimed: tracing
        model.predict(x2560, batch_size=256, verbose=0)
        model(x1, training=False)
        model(x256, training=False)
    for r in range(args.rounds):
        for key, it in interpreters.items():
            n = args.invokes if key[3] == 1 else max(args.invokes // 30, 3)
            t0 = time.perf_counter()
            for _ in range(n):
                it.invoke()
            litert[key] = min(litert[key], (time.perf_counter() - t0) / n)
        for name, model in models.items():
            for what, fn, n in (("predict_b256", lambda: model.predict(x2560, batch_size=256, verbose=0), 1),
                                ("eager_b1", lambda: model(x1, training=False), 20),
                                ("eager_b256", lambda: model(x256, training=False), 3)):
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                keras_times[name][what].append((time.perf_counter() - t0) / n)
        print(f"round {r + 1}/{args.rounds} timed", flush=True)

    train_seconds = {}
    if args.train_steps:
        augment = recipe("mnist_dsdc")["augment"]
        pipeline = data.mnist("train", source=arrays, batch_size=128, seed=0, augment=augment).repeat()
        batches = iter(pipeline)
        trainees = {}
        for name, model in models.items():
            keras.utils.set_random_seed(0)
            clone = keras.models.clone_model(model)
            base = "mnist_dsdc" if name.endswith((".keras", "(untrained)")) else name.split(":")[0]
            compile_model(clone, task, learning_rate=recipe(base)["learning_rate"],
                          weight_decay=recipe(base)["weight_decay"])
            for _ in range(3):
                clone.train_on_batch(*next(batches))
            trainees[name] = clone
        step_times = {name: [] for name in models}
        for r in range(args.rounds):
            for name, clone in trainees.items():
                prepared = [next(batches) for _ in range(args.train_steps)]
                t0 = time.perf_counter()
                for xb, yb in prepared:
                    clone.train_on_batch(xb, yb)
                step_times[name].append((time.perf_counter() - t0) / args.train_steps)
        steps_per_epoch = int(np.ceil(60000 / 128))
        train_seconds = {name: statistics.median(v) * steps_per_epoch for name, v in step_times.items()}

    rows = []
    for name, model in models.items():
        row = {"model": name, "params": int(model.count_params()), "macs": int(model_stats(model)["macs"]),
               "float32_accuracy": accuracy[(name, "float32")], "int8_accuracy": accuracy[(name, "int8")]}
        for q, threads in CONFIGS:
            row[f"litert_{q}_{threads}t_b1_ms"] = litert[(name, q, threads, 1)] * 1e3
            row[f"litert_{q}_{threads}t_b64_images_per_s"] = 64 / litert[(name, q, threads, 64)]
        row["keras_predict_b256_images_per_s"] = len(x2560) / statistics.median(keras_times[name]["predict_b256"])
        row["eager_b1_ms"] = statistics.median(keras_times[name]["eager_b1"]) * 1e3
        row["eager_b256_images_per_s"] = 256 / statistics.median(keras_times[name]["eager_b256"])
        if train_seconds:
            row["train_seconds_per_epoch"] = train_seconds[name]
        rows.append(row)
    peer = rows[0]
    for row in rows:
        row["ratio_to_peer"] = {k: row[k] / peer[k] for k in row if isinstance(row[k], float) and "accuracy" not in k}

    def cell(row, key, unit):
        ratio = row["ratio_to_peer"][key]
        return f"{row[key]:.4f} ({ratio:.2f}x)" if unit == "ms" else f"{row[key]:,.0f} ({ratio:.2f}x)"

    lines = [f"# bench_mobile ({arrays.describe()})", "",
             "LiteRT with XNNPACK: batch-1 ms per invoke (lower is better) and batch-64 images/s (higher is better); "
             "ratios to the peer in brackets.", "",
             "| model | params | " + " | ".join(f"{q} {t}t b1 ms | {q} {t}t b64 img/s" for q, t in CONFIGS) + " |",
             "|---|---:|" + "---:|" * (2 * len(CONFIGS))]
    for row in rows:
        cells = []
        for q, t in CONFIGS:
            cells += [cell(row, f"litert_{q}_{t}t_b1_ms", "ms"), cell(row, f"litert_{q}_{t}t_b64_images_per_s", "/s")]
        lines.append(f"| {row['model']} | {row['params']:,} | " + " | ".join(cells) + " |")
    lines += ["", "| model | float32 acc | int8 acc | int8 - float32 (points) | Keras predict b256 img/s | "
              "eager b1 ms | eager b256 img/s | training s/epoch |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        train = cell(row, "train_seconds_per_epoch", "ms") if "train_seconds_per_epoch" in row else "-"
        lines.append(
            f"| {row['model']} | {row['float32_accuracy']:.2%} | {row['int8_accuracy']:.2%} | "
            f"{100 * (row['int8_accuracy'] - row['float32_accuracy']):+.2f} | "
            f"{cell(row, 'keras_predict_b256_images_per_s', '/s')} | {cell(row, 'eager_b1_ms', 'ms')} | "
            f"{cell(row, 'eager_b256_images_per_s', '/s')} | {train} |")
    payload = {"data": arrays.describe(), "args": vars(args), "cpu_count": os.cpu_count(), "rows": rows}
    write_report(args.out, "bench_mobile", payload, lines)


if __name__ == "__main__":
    main()
