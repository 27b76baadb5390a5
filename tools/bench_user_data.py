"""Default recipes on the user's own data: train, train with 4x the steps, finetune, and the peer.

On each folder written by ``tools/make_example_folders.py`` this runs, one after
the other, the commands a user would type:

- ``kerasdil train MODEL --data FOLDER`` (the default recipe, sized by the data),
- ``kerasdil finetune MODEL --data FOLDER`` from the shipped weights,
- ``kerasdil train PEER --data FOLDER``: the zoo's peer by its recipe
  (keras_io_convnet for classification, unet_baseline for segmentation),
- the first command with 4x the epochs the default chose (``--epochs``),

and writes ``results.json`` and ``results.md`` (test accuracy or mIoU, epochs
run, seconds) into ``--out``. Each run's folder is kept; rerunning resumes or
reuses finished runs.

Usage:
    python tools/make_example_folders.py --out path/to/folders --mnist path/to/mnist.npz
    python tools/bench_user_data.py --folders path/to/folders --out path/to/bench
    python tools/bench_user_data.py --folders path/to/folders --out path/to/bench/s1 --seed 1 --runs train finetune
"""

import argparse
import json
import os
import subprocess
import sys

#: folder -> (model, peer, finetune source or None for the default, score key in metrics.json)
FOLDERS = {
    "photos": ("mnist_dsdc", "keras_io_convnet", None, "accuracy"),
    "digits": ("mnist_dsdc", "keras_io_convnet", None, "accuracy"),
    "scenes": ("deeplab_aspp", "unet_baseline", "deeplab_aspp:scenes_varied", "miou"),
}


def _run(args, out_dir, log_path):
    """Run one ``kerasdil`` command into ``out_dir``; returns its metrics.json (None when it failed)."""
    command = [sys.executable, "-m", "kerasdil.cli", *args, "--out", out_dir, "--quiet"]
    print("$ kerasdil " + " ".join(args + ["--out", out_dir]), flush=True)
    with open(log_path, "a") as log:
        code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT)
    path = os.path.join(out_dir, "metrics.json")
    if code != 0 or not os.path.exists(path):
        print(f"  failed (exit {code}); see {log_path}", flush=True)
        return None
    with open(path) as f:
        return json.load(f)


def _default_epochs(out_dir):
    with open(os.path.join(out_dir, "run.json")) as f:
        return json.load(f)["epochs"]


RUNS = ("train", "finetune", "peer", "train_4x")


def bench_folder(name, folder, out, seed=0, on_result=None, epochs=None, only_runs=RUNS):
    """The four runs on one folder (or those of ``only_runs``); returns ``{run: {"command", "score", "epochs", "seconds"}}``.

    ``on_result(table)`` is called after each run with the rows so far (to save partial results).
    The 4x run comes last: it is the longest. ``epochs`` gives every run that many epochs
    instead of the default recipe's (a short budget; the 4x run is then left out).
    """
    model, peer, source, key = FOLDERS[name]
    log = os.path.join(out, f"{name}.log")
    common = ["--data", folder, "--seed", str(seed)] + (["--epochs", str(epochs)] if epochs else [])
    runs = {"train": ["train", model, *common],
            "finetune": ["finetune", model, *common] + (["--from", source] if source else []),
            "peer": ["train", peer, *common]}
    table = {}
    for run in (r for r in RUNS if r in only_runs):
        if run == "train_4x":
            if "train" not in table or table["train"]["score"] is None or epochs:
                continue
            runs[run] = ["train", model, *common, "--epochs", str(4 * _default_epochs(os.path.join(out, name, "train")))]
        metrics = _run(runs[run], os.path.join(out, name, run), log)
        table[run] = {
            "command": "kerasdil " + " ".join(runs[run]),
            "model": peer if run == "peer" else model,
            "score": None if metrics is None else metrics.get(key),
            "metric": key,
            "epochs": None if metrics is None else metrics.get("epochs"),
            "seconds": None if metrics is None else metrics.get("train_seconds_total"),
        }
        if on_result is not None:
            on_result(table)
    return table


def markdown(results):
    """A markdown table of ``results`` (``{folder: {run: row}}``)."""
    lines = ["| folder | run | model | score | epochs | train s |", "|---|---|---|---|---|---|"]
    for folder, rows in results.items():
        for run, row in rows.items():
            score = "failed" if row["score"] is None else f"{row['metric']} {row['score']:.4f}"
            lines.append(f"| {folder} | {run} | {row['model']} | {score} | {row['epochs']} | {row['seconds']} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folders", required=True, help="the folder tools/make_example_folders.py wrote")
    parser.add_argument("--out", required=True, help="where the runs, results.json and results.md go")
    parser.add_argument("--only", nargs="*", choices=sorted(FOLDERS), default=sorted(FOLDERS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None,
                        help="a short budget: every run gets this many epochs (no 4x run) instead of the default recipe")
    parser.add_argument("--runs", nargs="*", choices=RUNS, default=list(RUNS),
                        help="which of the runs to make (default all; train_4x needs train)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    results = {}

    def save(table, name=None):
        results[name] = dict(table)
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=2)
        with open(os.path.join(args.out, "results.md"), "w") as f:
            f.write(markdown(results))

    for name in args.only:
        bench_folder(name, os.path.join(args.folders, name), args.out, args.seed,
                     on_result=lambda table, name=name: save(table, name), epochs=args.epochs,
                     only_runs=args.runs)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
