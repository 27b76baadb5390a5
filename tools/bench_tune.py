"""Benchmark of the dilation-schedule search on MNIST (run by hand; not a test).

What it measures, at a fixed budget stated in its output:

1. the share of the raw schedule space each constraint removes (alone and in
   sequence): gridding_free, min_receptive_field (default: the input's longer
   side, 28 for MNIST), max_params = the hand-designed default's parameters;
2. a constrained search (gridding-free, at most the default's parameters)
   run with 1 worker, then the same search with a chief and 2 workers, with
   the wall time of each;
3. the best searched schedule against the zoo's default (as
   ``create_model(model)`` builds it when the benchmark runs, see
   ``kerasdil.tune.tuners.zoo_default``), both retrained with the same recipe and
   seeds, on the test set (the search itself only ever saw the validation
   split carved from the training set).

``--model deeplab_aspp`` runs the same three steps for the segmenter on MNIST
scenes: its space adds the ASPP rates and the output stride
(``SegmenterSpace``), the search maximises ``val_mean_iou``, and the final
comparison reports test mIoU (``SegmentationTask.evaluate``) against the
zoo's default segmenter. ``--limit`` then counts scenes. Note: gridding-free per stage keeps
only output stride 16 (see ``kerasdil.tune.Constraints``).

Example (the budget used for the numbers in the report)::

    nice -n 5 python tools/bench_tune.py --data path/to/mnist.npz --limit 12000 \\
        --max-trials 6 --epochs 1 --final-epochs 2 --out runs/bench_tune

Smoke run of the segmenter path (tiny; checks the plumbing, measures nothing)::

    nice -n 10 python tools/bench_tune.py --model deeplab_aspp --input-size 32x32 --widths 4 \\
        --aspp-rates 1,2,3/2,4 --limit 32 --validation-size 16 --batch-size 16 --max-trials 2 --epochs 1 \\
        --final-epochs 1 --final-limit 32 --workers 1 --out runs/bench_tune_smoke
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

from kerasdil.tune.constraints import (
    FAMILIES,
    Constraints,
    SegmenterSpace,
    decode_candidate,
    decode_options,
    format_schedule,
    prune,
)


def _env():
    # The searches run the kerasdil this process imported (same environment, same working folder).
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    for k in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "TF_CONFIG"):
        env.pop(k, None)
    return env


def tune_args(a, directory, default_params):
    args = [sys.executable, "-m", "kerasdil.cli", "tune", a.model, "--tuner", a.tuner, "--dir", directory,
            "--max-trials", str(a.max_trials), "--epochs", str(a.epochs), "--widths", a.widths,
            "--gridding-free", "--max-params", str(default_params), "--limit", str(a.limit),
            "--validation-size", str(a.validation_size), "--batch-size", str(a.batch_size), "--seed", str(a.seed),
            "--verbose", "0"]
    for flag, value in (("--data", a.data), ("--input-size", a.input_size), ("--aspp-rates", a.aspp_rates),
                        ("--output-strides", a.output_strides)):
        if value:
            args += [flag, value]
    return args


def run_search(a, directory, default_params, workers):
    """Run one search with 1 (local) or N workers (chief + N); returns wall seconds."""
    from kerasdil.tune.distributed import free_port

    base = tune_args(a, directory, default_params)
    start = time.monotonic()
    procs = []
    try:
        if workers == 1:
            procs.append(subprocess.Popen(base, env=_env(), start_new_session=True))
        else:
            address = f"127.0.0.1:{free_port()}"
            procs.append(subprocess.Popen(base + ["--chief", address], env=_env(), start_new_session=True))
            for i in range(workers):
                procs.append(subprocess.Popen(base + ["--worker", address, "--worker-id", str(i)],
                                              env=_env(), start_new_session=True))
        for p in procs:
            if p.wait(timeout=a.timeout) != 0:
                raise RuntimeError(f"search process exited with {p.returncode}")
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    return time.monotonic() - start


def final_accuracy(a, schedule, width, seed, options=None):
    """Retrain a candidate with the benchmark recipe; its test score (the only use of the test set).

    mnist_dsdc: test accuracy on the 10,000 test images; deeplab_aspp: test mIoU
    on scenes composed from MNIST test digits (at most ``--final-limit``).
    """
    import keras

    if a.model != "mnist_dsdc":
        return _final_segmentation(a, schedule, width, seed, options)
    from kerasdil.data import load_mnist_arrays, mnist
    from kerasdil.zoo import mnist_dsdc

    keras.utils.set_random_seed(seed)
    arrays = load_mnist_arrays(a.data)
    train = mnist("train", source=arrays, batch_size=a.batch_size, limit=a.final_limit, seed=seed)
    test = mnist("test", source=arrays, batch_size=256)
    model = mnist_dsdc(dilation_schedule=schedule, width=width)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.monotonic()
    model.fit(train, epochs=a.final_epochs, verbose=0)
    seconds = time.monotonic() - start
    return float(model.evaluate(test, verbose=0)[1]), model.count_params(), seconds


def _final_segmentation(a, schedule, width, seed, options):
    import keras

    from kerasdil.tasks import get_task
    from kerasdil.zoo import create_model, model_info

    family = FAMILIES[a.model]
    info = model_info(a.model)
    task = get_task(info.task)
    keras.utils.set_random_seed(seed)
    train, _, test, _ = task.datasets(info, batch_size=a.batch_size, source=a.data, augment=False,
                                      limit=a.final_limit, seed=seed, canvas_size=a.input_shape[:2])
    kwargs = family.builder_kwargs(schedule, width, **dict(family.options_of(options)))
    model = create_model(a.model, input_shape=a.input_shape, **kwargs)
    model.compile(keras.optimizers.Adam(3e-3), task.loss(), metrics=task.metrics())
    start = time.monotonic()
    model.fit(train, epochs=a.final_epochs, verbose=0)
    seconds = time.monotonic() - start
    return float(task.evaluate(model, test)["miou"]), model.count_params(), seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mnist_dsdc", choices=("mnist_dsdc", "deeplab_aspp"))
    p.add_argument("--data", default=None,
                   help='MNIST source: "sample", a .npz file or a folder (default: kerasdil.data\'s search order, '
                        "KERASDIL_DATA_DIR first)")
    p.add_argument("--limit", type=int, default=None,
                   help="training images seen by each trial (default 12000; deeplab_aspp: scenes, default 2000)")
    p.add_argument("--validation-size", type=int, default=None, help="default 5000 (deeplab_aspp: 500 scenes)")
    p.add_argument("--tuner", default="random", choices=("random", "bayesian", "hyperband"))
    p.add_argument("--max-trials", type=int, default=6)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--widths", default=None, help="default 12,16 (deeplab_aspp: 12,18)")
    p.add_argument("--input-size", default=None, help="deeplab_aspp: HxW of the scenes (default 64x80)")
    p.add_argument("--aspp-rates", default=None, help="deeplab_aspp: ASPP rate menu, e.g. 1,2,3/2,4,6")
    p.add_argument("--output-strides", default=None, help="deeplab_aspp: output strides, e.g. 8,16")
    p.add_argument("--min-receptive-field", type=int, default=None,
                   help="for the constraint shares (default: the input's longer side)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--final-epochs", type=int, default=2)
    p.add_argument("--final-limit", type=int, default=None, help="training images for the final comparison (all)")
    p.add_argument("--seeds", default="0", help="seeds of the final comparison, e.g. 0,1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", default="1,2", help="worker counts to time")
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--out", default="runs/bench_tune")
    a = p.parse_args(argv)
    # The searches run as subprocesses from the repository root: hand them absolute paths.
    a.out = os.path.abspath(a.out)
    if a.data and os.path.exists(a.data):
        a.data = os.path.abspath(a.data)
    os.makedirs(a.out, exist_ok=True)
    segmenter = a.model != "mnist_dsdc"
    family = FAMILIES[a.model]
    a.limit = a.limit or (2000 if segmenter else 12000)
    a.validation_size = a.validation_size or (500 if segmenter else 5000)
    a.widths = a.widths or ("12,18" if segmenter else "12,16")
    a.input_shape = family.input_shape
    if a.input_size:
        h, w = (int(v) for v in a.input_size.lower().split("x"))
        a.input_shape = (h, w, family.input_shape[2])

    from kerasdil.tune.tuners import zoo_default

    zoo = zoo_default(a.model, a.input_shape)
    default = family.measure(zoo["schedule"], zoo["width"], a.input_shape, options=family.options_of(
        {k: tuple(v) if isinstance(v, list) else v for k, v in zoo.items() if k in dict(family.default_options)}))
    items, score = ("scenes", "mIoU") if segmenter else ("images", "accuracy")
    test_set = ("scenes of MNIST test digits" + ("" if a.final_limit is None else f" (at most {a.final_limit:,})")
                if segmenter else "the 10,000 test images")
    lines = [f"# bench_tune: {a.model} schedule search", "",
             f"command: {' '.join(sys.argv)}", "",
             f"budget: {a.tuner}, {a.max_trials} trials x {a.epochs} epoch(s) on the first {a.limit:,} training "
             f"{items} of {a.data or 'MNIST (default source)'} (objective: {family.objective} on {a.validation_size:,} held-out {items}); "
             f"final comparison: {a.final_epochs} epoch(s) on "
             f"{'all' if a.final_limit is None else f'{a.final_limit:,}'} training {items}, seeds {a.seeds}, "
             f"test {score} on {test_set}.", ""]

    # 1. constraint shares of the raw space
    fields = {"widths": tuple(int(w) for w in a.widths.split(","))}
    if segmenter and a.aspp_rates:
        fields["aspp_rates"] = tuple(tuple(int(r) for r in t.split(",")) for t in a.aspp_rates.split("/"))
    if segmenter and a.output_strides:
        fields["output_strides"] = tuple(int(s) for s in a.output_strides.split(","))
    space = family.space_type(**fields)
    min_field = a.min_receptive_field or max(a.input_shape[:2])
    constraints = Constraints(gridding_free=True, min_receptive_field=min_field, max_params=default.params)
    pruning = prune(family, space, constraints, input_shape=a.input_shape)
    extra = (f", ASPP rates {space.aspp_rates}, output strides {space.output_strides}, later stages from "
             f"{space.later_stage_schedules}" if isinstance(space, SegmenterSpace) else "")
    lines += [f"## Constraints on the raw space ({pruning.raw:,} candidates: depths {space.depths}, "
              f"rates {space.rates}, {space.order}, widths {space.widths}{extra})", "",
              "| constraint | removed alone | share | removed in sequence | left |", "|---|---:|---:|---:|---:|"]
    left = pruning.raw
    for name, n in pruning.removed_sequential.items():
        left -= n
        alone = pruning.removed_individual[name]
        lines.append(f"| {name} | {alone:,} | {100 * alone / pruning.raw:.1f}% | {n:,} | {left:,} |")
    lines.append("")

    # 2. the search, 1 and 2 workers
    timings = {}
    dirs = {}
    for workers in [int(w) for w in a.workers.split(",")]:
        directory = os.path.join(a.out, f"search_{workers}w")
        dirs[workers] = directory
        if os.path.isdir(directory):
            import shutil

            shutil.rmtree(directory)
        timings[workers] = run_search(a, directory, default.params, workers)
    lines += ["## Wall time of the same search", "", "| workers | wall time (s) |", "|---:|---:|"]
    lines += [f"| {w} | {t:.0f} |" for w, t in timings.items()]
    lines += ["", f"(machine: {os.cpu_count()} CPU cores shared with other jobs; every worker trains on CPU.)", ""]

    # 3. best searched schedule vs the default, same recipe
    from kerasdil.tune.report import make_report

    report = make_report(dirs[min(dirs)], export=False)
    best = report["rows"][0]
    schedule, width = decode_candidate(best["candidate"])
    options = decode_options(best["candidate"])
    seeds = [int(s) for s in a.seeds.split(",")]
    results = {"default": [], "searched": []}
    for seed in seeds:
        results["default"].append(final_accuracy(a, default.schedule, default.width, seed, default.options))
        results["searched"].append(final_accuracy(a, schedule, width, seed, options))

    def mean(xs):
        return sum(xs) / len(xs)

    d_scores = [r[0] for r in results["default"]]
    s_scores = [r[0] for r in results["searched"]]
    d_acc, s_acc = mean(d_scores), mean(s_scores)

    def spread(xs):
        return f"{mean(xs):.4f} [{min(xs):.4f}, {max(xs):.4f}] ({len(xs)} seed{'s' if len(xs) > 1 else ''})"

    def opts(values):
        return (" (ASPP " + ",".join(map(str, values["aspp_rates"])) + f", OS {values['output_stride']})"
                if values else "")

    lines += ["## Searched schedule against the hand-designed default", "",
              f"| model | schedule | width | params | MACs | search {family.objective} (1 seed) | "
              f"test {score}, mean [range] |",
              "|---|---|---:|---:|---:|---:|---:|",
              f"| default | {format_schedule(default.schedule)}{opts(default.option_values)} | {default.width} | "
              f"{default.params:,} | {default.macs:,} | - | {spread(d_scores)} |",
              f"| searched (trial_{best['trial_id']}) | {best['schedule']}{opts(options)} | {width} | "
              f"{best['params']:,} | {best['macs']:,} | {best['score']:.4f} | {spread(s_scores)} |", ""]
    # A win needs ranges that do not overlap; a higher mean inside the seed spread is not one.
    if min(s_scores) > max(d_scores) and len(seeds) > 1:
        verdict = "beats (non-overlapping ranges)"
    elif max(s_scores) < min(d_scores) and len(seeds) > 1:
        verdict = "loses to (non-overlapping ranges)"
    else:
        verdict = "is not separated from (overlapping ranges or one seed)"
    lines.append(f"The searched schedule {verdict} the default's test {score} "
                 f"({s_acc:.4f} vs {d_acc:.4f} mean) with {best['params']:,} vs {default.params:,} params.")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(a.out, "bench_tune.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "bench_tune.json"), "w") as f:
        json.dump({"pruning": pruning.to_dict(), "timings": timings, "best": {k: v for k, v in best.items()
                                                                             if k != "dir"},
                   "default": default.to_dict(), "final": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
