"""Benchmark of the dilation-schedule search on MNIST (run by hand; not a test).

What it measures, at a fixed budget stated in its output:

1. the share of the raw schedule space each constraint removes (alone and in
   sequence): gridding_free, min_receptive_field=28, max_params = the
   hand-designed default's parameters;
2. a constrained search (gridding-free, at most the default's parameters)
   run with 1 worker, then the same search with a chief and 2 workers, with
   the wall time of each;
3. the best searched schedule against the hand-designed default
   ((1, 2, 5), (1, 2, 3)), width 16), both retrained with the same recipe and
   seeds, on the test set (the search itself only ever saw the validation
   split carved from the training set).

Example (the budget used for the numbers in the report)::

    nice -n 5 python tools/bench_tune.py --data /work/shared/data/mnist.npz --limit 12000 \\
        --max-trials 6 --epochs 1 --final-epochs 2 --out runs/bench_tune
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from kerasdil.tune.constraints import MNIST_DSDC, Constraints, ScheduleSpace, format_schedule, prune  # noqa: E402


def _env():
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""), TF_CPP_MIN_LOG_LEVEL="2")
    for k in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "TF_CONFIG"):
        env.pop(k, None)
    return env


def tune_args(a, directory, default_params):
    return [sys.executable, "-m", "kerasdil.cli", "tune", "mnist_dsdc", "--tuner", a.tuner, "--dir", directory,
            "--max-trials", str(a.max_trials), "--epochs", str(a.epochs), "--widths", a.widths,
            "--gridding-free", "--max-params", str(default_params), "--data", a.data, "--limit", str(a.limit),
            "--validation-size", str(a.validation_size), "--batch-size", str(a.batch_size), "--seed", str(a.seed),
            "--verbose", "0"]


def run_search(a, directory, default_params, workers):
    """Run one search with 1 (local) or N workers (chief + N); returns wall seconds."""
    from kerasdil.tune.distributed import free_port

    base = tune_args(a, directory, default_params)
    start = time.monotonic()
    procs = []
    try:
        if workers == 1:
            procs.append(subprocess.Popen(base, cwd=REPO, env=_env(), start_new_session=True))
        else:
            address = f"127.0.0.1:{free_port()}"
            procs.append(subprocess.Popen(base + ["--chief", address], cwd=REPO, env=_env(), start_new_session=True))
            for i in range(workers):
                procs.append(subprocess.Popen(base + ["--worker", address, "--worker-id", str(i)], cwd=REPO,
                                              env=_env(), start_new_session=True))
        for p in procs:
            if p.wait(timeout=a.timeout) != 0:
                raise RuntimeError(f"search process exited with {p.returncode}")
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    return time.monotonic() - start


def final_accuracy(a, schedule, width, seed):
    """Retrain a schedule with the benchmark recipe; test accuracy (the only use of the test set)."""
    import keras

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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="/work/shared/data/mnist.npz")
    p.add_argument("--limit", type=int, default=12000, help="training images seen by each trial")
    p.add_argument("--validation-size", type=int, default=5000)
    p.add_argument("--tuner", default="random", choices=("random", "bayesian", "hyperband"))
    p.add_argument("--max-trials", type=int, default=6)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--widths", default="12,16")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--final-epochs", type=int, default=2)
    p.add_argument("--final-limit", type=int, default=None, help="training images for the final comparison (all)")
    p.add_argument("--seeds", default="0", help="seeds of the final comparison, e.g. 0,1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", default="1,2", help="worker counts to time")
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--out", default="runs/bench_tune")
    a = p.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)

    default = MNIST_DSDC.measure(MNIST_DSDC.default_schedule, MNIST_DSDC.default_width)
    lines = [f"# bench_tune: mnist_dsdc schedule search", "",
             f"command: {' '.join(sys.argv)}", "",
             f"budget: {a.tuner}, {a.max_trials} trials x {a.epochs} epoch(s) on the first {a.limit:,} training "
             f"images of {a.data} (objective: val_accuracy on {a.validation_size:,} held-out training images); "
             f"final comparison: {a.final_epochs} epoch(s) on "
             f"{'all' if a.final_limit is None else f'{a.final_limit:,}'} training images, seeds {a.seeds}, "
             "test accuracy on the 10,000 test images.", ""]

    # 1. constraint shares of the raw space
    space = ScheduleSpace(widths=tuple(int(w) for w in a.widths.split(",")))
    constraints = Constraints(gridding_free=True, min_receptive_field=28, max_params=default.params)
    pruning = prune(MNIST_DSDC, space, constraints)
    lines += [f"## Constraints on the raw space ({pruning.raw:,} candidates: depths {space.depths}, "
              f"rates {space.rates}, {space.order}, widths {space.widths})", "",
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
    from kerasdil.tune.constraints import decode_candidate

    schedule, width = decode_candidate(best["candidate"])
    seeds = [int(s) for s in a.seeds.split(",")]
    results = {"default": [], "searched": []}
    for seed in seeds:
        results["default"].append(final_accuracy(a, default.schedule, default.width, seed))
        results["searched"].append(final_accuracy(a, schedule, width, seed))

    def mean(xs):
        return sum(xs) / len(xs)

    d_acc = mean([r[0] for r in results["default"]])
    s_acc = mean([r[0] for r in results["searched"]])
    lines += ["## Searched schedule against the hand-designed default", "",
              "| model | schedule | width | params | MACs | search val_accuracy | test accuracy |",
              "|---|---|---:|---:|---:|---:|---:|",
              f"| default | {format_schedule(default.schedule)} | {default.width} | {default.params:,} | "
              f"{default.macs:,} | - | {d_acc:.4f} |",
              f"| searched (trial {best['trial_id']}) | {best['schedule']} | {width} | {best['params']:,} | "
              f"{best['macs']:,} | {best['score']:.4f} | {s_acc:.4f} |", ""]
    verdict = "matches or beats" if s_acc >= d_acc and best["params"] <= default.params else "does not beat"
    lines.append(f"The searched schedule {verdict} the default's test accuracy "
                 f"({s_acc:.4f} vs {d_acc:.4f}) with {best['params']:,} vs {default.params:,} params.")
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
