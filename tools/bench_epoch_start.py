"""What an epoch boundary costs: a new iterator per epoch against one repeated iterator.

    python tools/bench_epoch_start.py --data path/to/mnist.npz --limit 20000 --epochs 4

Given a finite ``tf.data`` pipeline, ``model.fit`` makes a new iterator every
epoch. With a shuffled pipeline TF on this machine then idles for about 2 s
before the first batch of (most) epochs; ``kerasdil.data.repeat_epochs`` (what
``kerasdil train`` and ``kerasdil tune`` use) keeps one iterator for the whole
run. This trains each model once each way, in one ``fit`` call of ``--epochs``
epochs, and records per epoch: wall and CPU seconds of the first step, and the
epoch's wall seconds. Epoch 1 includes tracing; the table reports epochs 2 on.
Writes ``bench_epoch_start.json`` and ``.md`` to ``--out``.
"""

import argparse
import json
import os
import shlex
import statistics
import sys
import time



def _step_clock():
    import keras

    class StepClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0, self.c0 = time.perf_counter(), time.process_time()

        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                self.first = (time.perf_counter() - self.t0, time.process_time() - self.c0)

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(dict(epoch=epoch + 1, first_step_wall=self.first[0], first_step_cpu=self.first[1],
                                    epoch_wall=time.perf_counter() - self.t0))

    return StepClock()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="MNIST source (file, folder or 'sample')")
    p.add_argument("--limit", type=int, default=20000, help="train on the first N images")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--augment", action="store_true", help="the recipe's augmentation in the pipeline")
    p.add_argument("--models", default="keras_io_convnet,mnist_dsdc")
    p.add_argument("--out", default="runs/bench_epoch_start")
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be at least 2 (epoch 1 includes tracing and is not reported)")

    import keras

    from kerasdil import data
    from kerasdil.io import write_text_atomic as write_text
    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model, recipe
    from kerasdil.zoo import create_model

    arrays = data.load_mnist_arrays(args.data)
    task = get_task("classification")
    rows = []
    for name in args.models.split(","):
        for mode in ("iterator_per_epoch", "repeat_epochs"):
            keras.utils.set_random_seed(0)
            train = data.mnist("train", source=arrays, batch_size=args.batch_size, limit=args.limit, seed=0,
                               augment=args.augment)
            steps = int(train.cardinality())
            model = create_model(name)
            compile_model(model, task, learning_rate=recipe(name)["learning_rate"], decay_steps=steps * args.epochs)
            clock = _step_clock()
            if mode == "repeat_epochs":
                train, steps_per_epoch = data.repeat_epochs(train)
            else:
                steps_per_epoch = None
            model.fit(train, epochs=args.epochs, steps_per_epoch=steps_per_epoch, callbacks=[clock], verbose=0)
            later = clock.epochs[1:]
            rows.append(dict(
                model=name, mode=mode, steps=steps, epochs=clock.epochs,
                first_step_wall_median=statistics.median(e["first_step_wall"] for e in later),
                first_step_cpu_median=statistics.median(e["first_step_cpu"] for e in later),
                epoch_wall_median=statistics.median(e["epoch_wall"] for e in later),
            ))
            print(f"{name} {mode}: " + ", ".join(f"{e['first_step_wall']:.2f}/{e['epoch_wall']:.2f}" for e in clock.epochs),
                  flush=True)

    command = "python tools/bench_epoch_start.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    lines = [
        f"{args.epochs} epochs in one `fit`, {rows[0]['steps']} steps of batch {args.batch_size}"
        f"{' with augmentation' if args.augment else ''}; medians over epochs 2-{args.epochs}; "
        f"{arrays.describe()}; {os.cpu_count()} CPUs.",
        "",
        "| model | epochs run on | first step wall s | first step CPU s | epoch wall s |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['model']} | {r['mode']} | {r['first_step_wall_median']:.2f} | "
                     f"{r['first_step_cpu_median']:.2f} | {r['epoch_wall_median']:.2f} |")
    lines += ["", f"Command: `{command}`"]
    table = "\n".join(lines)
    os.makedirs(args.out, exist_ok=True)
    result = dict(command=command, rows=rows)
    write_text(os.path.join(args.out, "bench_epoch_start.json"), json.dumps(result, indent=2))
    write_text(os.path.join(args.out, "bench_epoch_start.md"), table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
