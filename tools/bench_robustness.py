"""Corruption benchmark: zoo classifiers and the keras.io convnet peer, side by side.

Every model is scored on the same corrupted MNIST test images
(``kerasdil.robustness.compare_robustness``: each corruption of
``kerasdil.data.corrupt`` at each severity is made once and shown to every
model). The peer, ``keras_io_convnet``, is trained in the same run by its own
recipe (``kerasdil.train.RECIPES["keras_io_convnet"]``: 15 epochs, no
augmentation) unless ``--peer-weights`` names a trained ``.keras`` file; its run
folder is ``OUT/peer``, so rerunning the same command reuses the finished run.

    python tools/bench_robustness.py --data /path/to/mnist.npz \
        --models mnist_dsdc:mnist,mnist_dsdc:mnist_w18 --out runs/bench_robustness

Writes ``bench_robustness.json``, ``bench_robustness.md`` (printed too) and
``robustness_examples.png`` into ``--out``. The markdown holds two tables: the
clean accuracy, each corruption's mean over its severities, the mean over all
corruption x severity cells and, per model, the number of cells where it scores
below the peer and the cell where it trails the peer most; then every cell.

Run it against the installed package, or from a checkout with
``PYTHONPATH=$PWD python tools/bench_robustness.py ...``.
"""

import argparse
import os
import shlex
import sys
import time
import warnings

from kerasdil.io import write_report

PEER = "keras_io_convnet"


def _load(spec):
    """A zoo "name:tag" or a .keras path -> keras.Model."""
    if spec.endswith(".keras") or os.path.sep in spec:
        from kerasdil.saving import load_model

        return load_model(spec)
    from kerasdil.zoo import create_model

    if ":" not in spec:
        raise ValueError(f"{spec!r} names no pretrained weights; use name:tag (e.g. mnist_dsdc:mnist) or a .keras file.")
    return create_model(spec)


def _peer(args):
    """-> (peer model, a dict saying where it came from)."""
    if args.peer_weights:
        return _load(args.peer_weights), {"weights": os.path.abspath(args.peer_weights)}
    from kerasdil.train import recipe, train

    settings = recipe(PEER)
    epochs = args.peer_epochs or settings["epochs"]
    out = os.path.join(args.out, "peer")
    print(f"training the peer {PEER} for {epochs} epochs by its recipe into {out} ...", flush=True)
    start = time.perf_counter()
    result = train(PEER, out_dir=out, epochs=epochs, data=args.data, verbose=2 if args.verbose else 0)
    return result.model, {
        "trained_here": out,
        "recipe": {**settings, "epochs": epochs},
        "seconds": round(time.perf_counter() - start, 1),
        "test_accuracy": result.metrics.get("accuracy"),
    }


def _percent(value):
    return f"{100 * value:.2f}"


def _worst_cell(result, peer, names, levels):
    """-> (accuracy minus the peer's in points, corruption, severity) of the cell where ``result`` trails most."""
    return min((100 * (result["accuracy"][n][s] - peer["accuracy"][n][s]), n, s) for n in names for s in levels)


def _tables(results, names, levels, peer_key):
    keys = list(results)
    head = "| | " + " | ".join(f"`{k}`" for k in keys) + " |"
    rule = "|---|" + "---:|" * len(keys)
    below = {k: sum(results[k]["accuracy"][n][s] < results[peer_key]["accuracy"][n][s]
                    for n in names for s in levels) for k in keys}
    lines = ["Accuracy (%) on the MNIST test images; a corruption's value is the mean over its severities.", "",
             head, rule,
             "| clean | " + " | ".join(_percent(results[k]["clean_accuracy"]) for k in keys) + " |"]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(_percent(results[k]["corruption_mean"][n]) for k in keys) + " |")
    lines.append(f"| **mean over {len(names) * len(levels)} cells** | "
                 + " | ".join(f"**{_percent(results[k]['mean_accuracy'])}**" for k in keys) + " |")
    lines.append("| cells below the peer | " + " | ".join("-" if k == peer_key else f"{below[k]} of {len(names) * len(levels)}"
                                                        for k in keys) + " |")
    worst = {k: _worst_cell(results[k], results[peer_key], names, levels) for k in keys if k != peer_key}
    lines.append("| worst cell against the peer (points) | " + " | ".join(
        "-" if k == peer_key else f"{worst[k][0]:+.2f} ({worst[k][1]} {worst[k][2]})" for k in keys) + " |")
    lines += ["", "Accuracy (%) per corruption and severity.", "", head.replace("| |", "| corruption, severity |", 1), rule]
    from kerasdil.data import describe_corruption

    for n in names:
        for s in levels:
            lines.append(f"| {describe_corruption(n, int(s))} ({s}) | "
                         + " | ".join(_percent(results[k]["accuracy"][n][s]) for k in keys) + " |")
    return lines, below, worst


def shipped_classifiers():
    """``name:tag`` of every classifier whose weights ship with the package (from the zoo registry)."""
    from kerasdil.zoo import list_models, model_info

    return [f"{name}:{tag}" for name in list_models(task="classification", pretrained=True)
            for tag in sorted(model_info(name).pretrained)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=None,
                   help="comma list of zoo name:tag specs or .keras files (default: every shipped classifier tag)")
    p.add_argument("--data", default=None, help="MNIST source: an .npz file, a folder, or 'sample'")
    p.add_argument("--out", default="runs/bench_robustness", help="output folder (default: %(default)s)")
    p.add_argument("--corruptions", default="all", help="'all' or a comma list of names (default: all)")
    p.add_argument("--severities", default="1,2,3,4,5", help="comma list of severities (default: all five)")
    p.add_argument("--limit", type=int, default=None, help="score on the first N test images only")
    p.add_argument("--seed", type=int, default=0, help="corruption seed (default 0)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--peer-epochs", type=int, default=None, help="epochs of the peer's training (default: its recipe's)")
    p.add_argument("--peer-weights", default=None, metavar="PATH",
                   help="a trained keras_io_convnet .keras file to use instead of training the peer")
    p.add_argument("--verbose", action="store_true", help="show the peer's training epochs")
    args = p.parse_args(argv)
    try:
        return _run(args, argv)
    except (ValueError, FileNotFoundError) as e:
        print(f"bench_robustness: error: {e}", file=sys.stderr)
        return 2


def _run(args, argv):
    from kerasdil.data import load_mnist_arrays, resolve_corruptions, resolve_severities
    from kerasdil.robustness import compare_robustness

    names = resolve_corruptions(args.corruptions)
    levels = resolve_severities(args.severities)
    specs = [s.strip() for s in (args.models or ",".join(shipped_classifiers())).split(",") if s.strip()]
    if not specs:
        raise ValueError("--models names no model.")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be an integer >= 1; got {args.limit}.")
    if args.peer_epochs is not None and args.peer_epochs < 1:
        raise ValueError(f"--peer-epochs must be an integer >= 1; got {args.peer_epochs}.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays = load_mnist_arrays(args.data)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    source = arrays.describe().removeprefix("data: ")
    print(f"data: {source}")
    models = {spec: _load(spec) for spec in specs}
    peer, peer_info = _peer(args)
    peer_key = f"{PEER} (peer)"
    models[peer_key] = peer
    x, y = arrays.x_test[:args.limit], arrays.y_test[:args.limit]
    print(f"scoring {len(models)} models on {len(names)} corruptions x {len(levels)} severities of {len(x)} test images")
    start = time.perf_counter()
    results = compare_robustness(models, x, y, names, levels, seed=args.seed, batch_size=args.batch_size,
                                 out_dir=args.out)
    seconds = time.perf_counter() - start
    png = next(iter(results.values())).pop("examples_png")
    for result in results.values():
        result.pop("examples_png", None)
    level_keys = [str(s) for s in levels]
    lines, below, worst = _tables(results, names, level_keys, peer_key)
    for key, result in results.items():
        result["cells_below_peer"] = None if key == peer_key else below[key]
        if key != peer_key:  # the cell where the model trails the peer most (the 10,000-image noise is ~0.3 points)
            gap, corruption, severity = worst[key]
            result["worst_cell_against_peer"] = {"points": round(gap, 2), "corruption": corruption, "severity": severity}
        result["params"] = int(models[key].count_params())
    command = "python tools/bench_robustness.py " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    if "recipe" in peer_info:
        peer_text = f"trained here, {peer_info['recipe']['epochs']} epochs by its recipe"
        if peer_info.get("test_accuracy") is not None:
            peer_text += f", test accuracy {_percent(peer_info['test_accuracy'])}%"
    else:
        peer_text = f"weights from {peer_info['weights']}"
    params = ", ".join(f"`{k}` {r['params']:,}" for k, r in results.items())
    header = ["# Corruption benchmark", "", f"`{command}`", "",
              f"Data: {source}; {len(x)} test images, corruption seed {args.seed}; peer: {peer_text}. "
              f"Parameters: {params}.", ""]
    payload = {"command": command, "data": source, "samples": int(len(x)), "seed": args.seed,
               "corruptions": list(names), "severities": list(levels), "peer": peer_info,
               "seconds_scoring": round(seconds, 1), "examples_png": png, "models": results}
    write_report(args.out, "bench_robustness", payload, header + lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
