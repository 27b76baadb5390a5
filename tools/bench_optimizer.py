"""Paired A/B of the training step: Keras's Adam / AdamW against kerasdil.optimizers'.

    python tools/bench_optimizer.py --data path/to/mnist.npz

For each model, two copies with the same weights and the same recipe settings
(``kerasdil.train.RECIPES``: learning rate, AdamW weight decay, the cosine
schedule of ``compile_model``) train on the MNIST training pipeline, one with
``keras.optimizers.Adam``/``AdamW`` and one with ``kerasdil.optimizers``' fused
update. They alternate in blocks of ``--steps`` compiled training steps (the
order flips every round), and each round's ratio fused / Keras is kept: a
machine that slows down for a while slows both halves of a pair alike. Writes
``bench_optimizer.json`` and ``bench_optimizer.md`` to ``--out``.

``--models`` takes zoo names and ``name/label=JSON`` for builder arguments;
the default compares the peer with the architecture of ``mnist_dsdc:mnist_fast``.
"""

import argparse
import json
import os
import shlex
import statistics
import sys
import time

from kerasdil.io import write_report

FAST = '{"width": 16, "stem": "strided", "stage_filters": [32, 64], "dilation_schedule": [[1, 3], [1, 2, 3]]}'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="MNIST source (mnist.npz, a folder or 'sample'; default search order)")
    p.add_argument("--models", nargs="+", default=["keras_io_convnet", f"mnist_dsdc/fast={FAST}"],
                   help="zoo names, or NAME/LABEL=JSON builder arguments")
    p.add_argument("--rounds", type=int, default=16)
    p.add_argument("--steps", type=int, default=100, help="training steps per model per round")
    p.add_argument("--out", default="runs/bench_optimizer")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.steps < 1:
        p.error("--rounds and --steps must be >= 1")

    import keras

    from kerasdil import data
    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model, recipe
    from kerasdil.zoo import create_model

    arrays = data.load_mnist_arrays(args.data)
    task = get_task("classification")
    pipeline = data.mnist("train", source=arrays, batch_size=128, seed=0)
    rows = []
    for spec in args.models:
        label, _, kwargs = spec.partition("=")
        name = label.split("/")[0]
        try:
            kwargs = json.loads(kwargs) if kwargs else {}
        except json.JSONDecodeError as e:
            p.error(f"--models {spec!r}: the builder arguments are not JSON ({e})")
        settings = recipe(name)
        copies, iterators = {}, {}
        for kind in ("keras", "kerasdil"):
            keras.utils.set_random_seed(0)
            model = create_model(name, **kwargs)
            compile_model(model, task, learning_rate=settings["learning_rate"], weight_decay=settings["weight_decay"],
                          decay_steps=10_000, fused_optimizer=kind == "kerasdil")
            model.make_train_function()
            iterators[kind] = iter(data.repeat_epochs(pipeline)[0])
            for _ in range(30):  # tracing and warm-up
                model.train_function(iterators[kind])
            copies[kind] = model
        # One untimed round in the timed order first: switching between the two copies
        # costs a one-off warm-up that would otherwise land in round 0's first block.
        for kind in ("keras", "kerasdil"):
            for _ in range(args.steps):
                logs = copies[kind].train_function(iterators[kind])
            float(logs["loss"])
        ms = {kind: [] for kind in copies}
        for r in range(args.rounds):
            for kind in (("keras", "kerasdil") if r % 2 == 0 else ("kerasdil", "keras")):
                start = time.perf_counter()
                for _ in range(args.steps):
                    logs = copies[kind].train_function(iterators[kind])
                float(logs["loss"])  # wait for the last step
                ms[kind].append((time.perf_counter() - start) / args.steps * 1e3)
        ratios = [f / k for f, k in zip(ms["kerasdil"], ms["keras"])]
        rows.append(dict(model=label, kwargs=kwargs, weight_decay=settings["weight_decay"],
                         trainable_variables=len(copies["keras"].trainable_variables),
                         keras_ms_per_step=statistics.median(ms["keras"]),
                         kerasdil_ms_per_step=statistics.median(ms["kerasdil"]),
                         ratio_median=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios),
                         rounds_faster=sum(x < 1 for x in ratios), ms=ms))
        print(f"{label}: {rows[-1]['keras_ms_per_step']:.2f} -> {rows[-1]['kerasdil_ms_per_step']:.2f} ms/step, "
              f"paired ratio {rows[-1]['ratio_median']:.3f}", flush=True)

    command = "python tools/bench_optimizer.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    lines = ["| model | trainable variables | weight decay | Keras optimizer ms/step | kerasdil.optimizers ms/step "
             "| paired ratio, median (min-max) | rounds faster |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['trainable_variables']} | {r['weight_decay']:g} "
                     f"| {r['keras_ms_per_step']:.2f} | {r['kerasdil_ms_per_step']:.2f} "
                     f"| {r['ratio_median']:.3f} ({r['ratio_min']:.3f}-{r['ratio_max']:.3f}) "
                     f"| {r['rounds_faster']}/{args.rounds} |")
    lines += ["", f"Batch 128, {args.rounds} rounds of {args.steps} steps per model, order flipped every round; "
              f"{os.cpu_count()} CPUs. Command: `{command}`"]
    write_report(args.out, "bench_optimizer", {"command": command, "rows": rows}, lines)


if __name__ == "__main__":
    main()
