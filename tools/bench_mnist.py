"""Side-by-side MNIST benchmark: keras_io_convnet (peer), mnist_conv, mnist_dsdc.

All models train in one process on the same tf.data pipeline (unaugmented
unless ``--augmentation`` gives a model its own), batch size and number of
epochs, round-robin (one epoch of each in turn), each with its own recipe's
optimizer (``kerasdil.train.RECIPES``: learning rate and AdamW weight decay, under
the cosine schedule of ``compile_model``), and are timed for
inference in interleaved rounds, so that load changes on a shared machine hit
every model alike. Writes
``bench_mnist.json`` and ``bench_mnist.md`` to ``--out`` and prints the table.

    python tools/bench_mnist.py --data path/to/mnist.npz --epochs 3

Columns: params, MACs per image, training seconds per epoch (median over epochs
after the first, which includes tracing; each epoch timed from the end of its
first step, see ``_epoch_clock``), the same as a ratio to the peer taken round
by round (each epoch over the peer's epoch of the same round: the median, and
the range), test accuracy after the budget, Keras
inference images/s at batch 256 (``model(x, training=False)``) and batch-1
latency, the same through ``predict_on_batch``, achieved GFLOP/s (2 FLOPs per MAC;
training counted as 3x forward) against the machine's practical peak (a large
MatMul timed in the same run), each as a ratio to the peer. The shipped pretrained weights are scored on the
full test set in a separate row, since the budget here is far shorter than the
recipe.
"""

import argparse
import json
import os
import shlex
import statistics
import sys
import time

from kerasdil.io import write_report

MODELS = ("keras_io_convnet", "mnist_conv", "mnist_dsdc")


def _matmul_peak_gflops(n=2048, reps=5):
    """The machine's practical float32 peak: GFLOP/s of a large MatMul, best of ``reps``."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    best = float("inf")
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        tf.linalg.matmul(a, a).numpy()
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def _epoch_clock(steps):
    """A Keras callback whose ``seconds`` is the steady-state time of the last epoch of ``steps`` steps.

    Timed from the end of the epoch's first step to the end of its last, scaled
    by ``steps / (steps - 1)``. The first step of each ``fit`` call is left out:
    it holds the iterator start-up, and the round-robin's one-epoch ``fit`` calls
    would otherwise charge every epoch the start-up that a real multi-epoch run
    pays once.
    """
    import keras

    class EpochClock(keras.callbacks.Callback):
        seconds = None

        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = (time.perf_counter() - self.start) * steps / max(steps - 1, 1)

    return EpochClock()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="MNIST source (file, folder or 'sample')")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--limit", type=int, default=None, help="train/test on the first N images only")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--variant", action="append", default=[], metavar="MODEL/LABEL=JSON",
                   help="an extra row: MODEL built with the JSON builder arguments, e.g. "
                        "mnist_dsdc/w16='{\"width\": 16}' (repeatable)")
    p.add_argument("--augmentation", action="append", default=[], metavar="NAME=SETTING",
                   help="train model or variant NAME on augmented data, so that its epoch time includes the "
                        "augmentation: SETTING is 'true' (the default affine) or a JSON object of "
                        "kerasdil.data.AUGMENTATION settings, e.g. mnist_dsdc/el='{\"elastic_alpha\": 17}' "
                        "(repeatable; other models train unaugmented)")
    p.add_argument("--out", default="runs/bench_mnist")
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be at least 2: the first epoch includes tracing and is left out of the timings")
    variants = {}
    for spec in args.variant:
        label, _, kwargs = spec.partition("=")
        try:
            kwargs = json.loads(kwargs)
        except ValueError as e:
            p.error(f"--variant {spec!r}: not MODEL/LABEL=JSON ({e})")
        if "/" not in label or not isinstance(kwargs, dict):
            p.error(f"--variant {spec!r}: expected MODEL/LABEL={{...}}")
        variants[label] = kwargs
    from kerasdil.data import augmentation_settings

    augmentation = {}
    for spec in args.augmentation:
        name, _, setting = spec.partition("=")
        try:
            setting = json.loads(setting)
            if augmentation_settings(setting) is None:  # false: nothing to give the model
                raise ValueError("SETTING must be true or a JSON object")
        except ValueError as e:
            p.error(f"--augmentation {spec!r}: not NAME=true or NAME={{settings}} ({e})")
        augmentation[name] = setting
    unknown = sorted(set(augmentation) - set(args.models.split(",")) - set(variants))
    if unknown:
        p.error(f"--augmentation names no model or variant of this run: {', '.join(unknown)}")

    import keras

    from kerasdil import data
    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model, recipe
    from kerasdil.zoo import create_model, model_info
    from kerasdil.zoo.stats import model_stats

    arrays = data.load_mnist_arrays(args.data)
    print(arrays.describe(), flush=True)
    task = get_task("classification")
    train_ds = data.mnist("train", source=arrays, batch_size=args.batch_size, limit=args.limit, seed=0)
    test_ds = data.mnist("test", source=arrays, batch_size=512, limit=args.limit)
    steps = int(train_ds.cardinality())
    x256 = data.normalize(arrays.x_test[:256])
    x1 = x256[:1]

    # Build every model first, then train them round-robin, one epoch each in turn, and time
    # inference in interleaved rounds: load changes on a shared machine hit all models alike.
    import keras.callbacks

    names = args.models.split(",") + list(variants)
    models = {}
    for name in names:
        base = name.split("/")[0]
        keras.utils.set_random_seed(0)
        models[name] = create_model(base, **variants.get(name, {}))
        compile_model(models[name], task, learning_rate=recipe(base)["learning_rate"],
                      weight_decay=recipe(base)["weight_decay"], decay_steps=steps * args.epochs)
    epoch_times = {name: [] for name in names}
    clock = _epoch_clock(steps)
    pipelines, train_data = {}, {}  # one repeated pipeline per distinct augmentation setting
    for name in names:
        setting = augmentation.get(name, False)
        key = json.dumps(setting, sort_keys=True)
        if key not in pipelines:
            ds = train_ds if setting is False else data.mnist(
                "train", source=arrays, batch_size=args.batch_size, limit=args.limit, seed=0, augment=setting)
            pipelines[key] = data.repeat_epochs(ds)[0]
        train_data[name] = pipelines[key]
    for epoch in range(args.epochs):
        for name in names:
            models[name].fit(train_data[name], steps_per_epoch=steps, initial_epoch=epoch, epochs=epoch + 1, verbose=2,
                             callbacks=[clock])
            epoch_times[name].append(clock.seconds)
    inference = {name: {"b256": [], "b1": [], "predict_b256": [], "predict_b1": []} for name in names}
    for name in names:
        for _ in range(3):
            for x in (x256, x1):
                models[name](x, training=False)
                models[name].predict_on_batch(x)
    for _ in range(10):
        for name in names:
            m = models[name]
            for key, fn, reps in (("b256", lambda: m(x256, training=False), 2), ("b1", lambda: m(x1, training=False), 10),
                                  ("predict_b256", lambda: m.predict_on_batch(x256), 2),
                                  ("predict_b1", lambda: m.predict_on_batch(x1), 10)):
                for _ in range(reps):
                    t0 = time.perf_counter()
                    fn()
                    inference[name][key].append(time.perf_counter() - t0)
    peak = _matmul_peak_gflops()
    rows = []
    for name in names:
        model = models[name]
        acc = task.evaluate(model, test_ds)["accuracy"]
        stats = model_stats(model)
        # The first epoch includes tracing; the median of the rest is the steady state.
        s_epoch = statistics.median(epoch_times[name][1:] or epoch_times[name])
        t256 = statistics.median(inference[name]["b256"])
        t1 = statistics.median(inference[name]["b1"])
        p256 = statistics.median(inference[name]["predict_b256"])
        p1 = statistics.median(inference[name]["predict_b1"])
        images_per_epoch = steps * args.batch_size
        rows.append(dict(
            model=name, kwargs=variants.get(name, {}), augmentation=augmentation.get(name, False),
            params=stats["params"], macs=stats["macs"], seconds_per_epoch=s_epoch,
            epoch_seconds=epoch_times[name],
            test_accuracy=acc, epochs=args.epochs, images_per_s_b256=256 / t256, latency_ms_b1=t1 * 1e3,
            train_gflops=3 * 2 * stats["macs"] * images_per_epoch / s_epoch / 1e9,
            infer_gflops_b256=2 * stats["macs"] * 256 / t256 / 1e9,
            predict_images_per_s_b256=256 / p256, predict_latency_ms_b1=p1 * 1e3,
        ))
        print(f"{name}: {rows[-1]}", flush=True)

    pretrained = []
    full_test = data.mnist("test", source=arrays, batch_size=512)
    for name in args.models.split(","):
        for tag in model_info(name).pretrained:
            model = create_model(f"{name}:{tag}")  # the architecture of the tag's card
            scores = task.evaluate(model, full_test)
            pretrained.append(dict(model=f"{name}:{tag}", test_accuracy=scores["accuracy"], samples=scores["samples"],
                                   params=model.count_params()))

    peer = next((r for r in rows if r["model"] == "keras_io_convnet"), rows[0])
    for r in rows:
        r["ratio_seconds_per_epoch"] = r["seconds_per_epoch"] / peer["seconds_per_epoch"]
        # Round-robin pairs: each epoch against the peer's epoch of the same round (after the
        # first, which traces), so a slow spell of the machine weighs on both sides of a ratio.
        pairs = list(zip(r["epoch_seconds"], peer["epoch_seconds"]))
        r["epoch_ratios_to_peer"] = [a / b for a, b in (pairs[1:] or pairs)]
        r["ratio_seconds_per_epoch_paired"] = statistics.median(r["epoch_ratios_to_peer"])
        r["ratio_images_per_s_b256"] = r["images_per_s_b256"] / peer["images_per_s_b256"]
        r["ratio_latency_b1"] = r["latency_ms_b1"] / peer["latency_ms_b1"]
        r["ratio_predict_images_per_s_b256"] = r["predict_images_per_s_b256"] / peer["predict_images_per_s_b256"]
        r["ratio_predict_latency_b1"] = r["predict_latency_ms_b1"] / peer["predict_latency_ms_b1"]

    import platform

    result = dict(
        command="python tools/bench_mnist.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
        data=arrays.describe(), limit=args.limit, epochs=args.epochs, batch_size=args.batch_size, machine=platform.processor() or platform.machine(),
        cpus=os.cpu_count(), tensorflow=__import__("tensorflow").__version__, keras=keras.__version__,
        threads={k: os.environ.get(k) for k in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                                                "TF_ENABLE_ONEDNN_OPTS")},
        rows=rows, pretrained=pretrained, matmul_peak_gflops=peak,
    )
    lines = [
        f"Budget: {args.epochs} epochs, batch {args.batch_size}, "
        + (f"augmented training data for {', '.join(f'{k} ({v})' for k, v in augmentation.items())}, unaugmented for the "
           "other models" if augmentation else "same unaugmented pipeline for every model")
        + f"; {arrays.describe()}"
        + (f", training on the first {args.limit:,} images" if args.limit else "") + "; "
        f"{os.cpu_count()} CPUs, TF {result['tensorflow']}"
        + "".join(f", {k}={v}" for k, v in result["threads"].items() if v is not None) + ".",
        "",
        "| model | params | MACs | s/epoch (x peer) | x peer by round | test acc | img/s b256 (x peer) "
        "| b1 latency ms (x peer) | predict img/s b256 (x peer) | predict b1 ms (x peer) | train GFLOP/s "
        "| infer GFLOP/s (% of peak) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['params']:,} | {r['macs']:,} | {r['seconds_per_epoch']:.1f} ({r['ratio_seconds_per_epoch']:.2f}x) "
            f"| {r['ratio_seconds_per_epoch_paired']:.2f}x ({min(r['epoch_ratios_to_peer']):.2f}-"
            f"{max(r['epoch_ratios_to_peer']):.2f}) "
            f"| {r['test_accuracy']:.4f} | {r['images_per_s_b256']:,.0f} ({r['ratio_images_per_s_b256']:.2f}x) "
            f"| {r['latency_ms_b1']:.2f} ({r['ratio_latency_b1']:.2f}x) "
            f"| {r['predict_images_per_s_b256']:,.0f} ({r['ratio_predict_images_per_s_b256']:.2f}x) "
            f"| {r['predict_latency_ms_b1']:.2f} ({r['ratio_predict_latency_b1']:.2f}x) "
            f"| {r['train_gflops']:.1f} | {r['infer_gflops_b256']:.1f} ({100 * r['infer_gflops_b256'] / peak:.0f}%) |"
        )
    lines += ["", "x peer by round: the median (min-max) over epochs after the first of each epoch's time over the "
              "peer's epoch of the same round-robin round.",
              "", f"img/s and b1 latency: eager `model(x, training=False)`; predict: `predict_on_batch`. "
              f"Peak: {peak:.0f} GFLOP/s, a 2048x2048 float32 MatMul measured in this run (the machine's practical peak)."]
    if pretrained:
        lines += ["", "| shipped weights | params | test accuracy | test images |", "|---|---:|---:|---:|"]
        lines += [f"| {r['model']} | {r['params']:,} | {r['test_accuracy']:.4f} | {r['samples']:,} |" for r in pretrained]
    lines += ["", f"Command: `{result['command']}`"]
    write_report(args.out, "bench_mnist", result, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
