"""Accuracy of classifiers on corrupted images: the corruption benchmark.

Every selected corruption of :mod:`kerasdil.data.corrupt` at every selected severity
is one *cell*; a model's score in a cell is its accuracy on the corrupted test
images. The summary is the clean accuracy, the accuracy per cell, the mean per
corruption over its severities and the mean over all cells (MNIST-C reports the
same mean).

Example:
    >>> from kerasdil.data import load_mnist_arrays
    >>> from kerasdil.robustness import evaluate_robustness, format_robustness
    >>> from kerasdil.zoo import create_model
    >>> arrays = load_mnist_arrays("/path/to/mnist.npz")
    >>> result = evaluate_robustness(create_model("mnist_dsdc:mnist"), arrays.x_test, arrays.y_test)
    >>> print(format_robustness(result))
"""

import json
import os

import numpy as np

from kerasdil.data.corrupt import (
    CORRUPTION_PARAMETERS,
    SEVERITIES,
    _as_batch,
    _check_seed,
    corrupt,
    resolve_corruptions,
    resolve_severities,
)

ROBUSTNESS_JSON = "robustness.json"
ROBUSTNESS_PNG = "robustness_examples.png"


def compare_robustness(models, images, labels, corruptions="all", severities=SEVERITIES, seed=0,
                       batch_size=256, verbose=1, out_dir=None):
    """Score several classifiers on the same corrupted images (each cell is corrupted once).

    Args:
        models: a dict ``{name: keras.Model}``; each model maps images to class
            probabilities or logits.
        images: test images, ``(N, H, W)`` or ``(N, H, W, C)``, uint8 0..255 or float in [0, 1].
        labels: integer class labels, ``(N,)``.
        corruptions: ``"all"``, a comma-separated string or a list of names.
        severities: levels 1..5, e.g. ``(1, 3, 5)`` or ``"1,3,5"``.
        seed: seeds the corruptions; the same seed gives the same images.
        batch_size: images per prediction batch.
        verbose: 1 shows a progress bar over the cells, 0 is silent.
        out_dir: when given, write the example grid ``robustness_examples.png`` (one
            row per corruption, one column per severity) into this folder.

    Returns:
        ``{name: result}`` with one result per model, as :func:`evaluate_robustness` returns
        (with ``examples_png`` when ``out_dir`` is given, no ``json``).

    Raises:
        ValueError: an unknown corruption or severity, no models, or images and labels
            that do not match.

    Example:
        >>> results = compare_robustness({"ours": model, "peer": peer}, x_test, y_test, "shift,fog")
        >>> results["ours"]["mean_accuracy"]
    """
    results, examples = _run(models, images, labels, corruptions, severities, seed, batch_size, verbose)
    if out_dir:
        from kerasdil.plots import plot_corruption_grid

        os.makedirs(out_dir, exist_ok=True)
        png = plot_corruption_grid(examples["clean"], examples["cells"], os.path.join(out_dir, ROBUSTNESS_PNG))
        for result in results.values():
            result["examples_png"] = png
    return results


def _run(models, images, labels, corruptions, severities, seed, batch_size, verbose):
    """-> (results per model, example images: {"clean": image, "cells": {name: {severity: image}}})."""
    import keras

    names = resolve_corruptions(corruptions)
    levels = resolve_severities(severities)
    seed = _check_seed(seed)
    if not models:
        raise ValueError("compare_robustness() needs at least one model.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}.")
    clean, _ = _as_batch(images)
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(clean) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be integer class ids, one per image; got shape {labels.shape} and dtype {labels.dtype} "
            f"for {len(clean)} images."
        )
    if len(clean) == 0:
        raise ValueError("compare_robustness() got no images.")
    labels = labels.astype(np.int64)

    def accuracy(model, x):
        inputs = getattr(model, "inputs", None)
        if inputs and len(inputs[0].shape) == 3 and x.shape[-1] == 1:
            x = x[..., 0]  # a model that takes (N, H, W) images
        predictions = model.predict(x, batch_size=int(batch_size), verbose=0)
        if np.ndim(predictions) != 2:
            raise ValueError(f"the corruption benchmark scores classifiers (one score per class and image); "
                             f"model {getattr(model, 'name', '?')!r} returns shape {np.shape(predictions)}.")
        return float(np.mean(np.argmax(predictions, axis=-1) == labels))

    progress = keras.utils.Progbar(1 + len(names) * len(levels), unit_name="cell",
                                   stateful_metrics=list(models)) if verbose else None
    results = {}
    for model_name, model in models.items():
        results[model_name] = {
            "model": getattr(model, "name", model_name),
            "samples": int(len(labels)),
            "seed": seed,
            "corruptions": list(names),
            "severities": list(levels),
            "clean_accuracy": accuracy(model, clean),
            "accuracy": {name: {} for name in names},
        }
    if progress:
        progress.update(1, [(m, r["clean_accuracy"]) for m, r in results.items()])
    examples = {}
    for name in names:
        for severity in levels:
            x = corrupt(clean, name, severity, seed)
            examples.setdefault(name, {})[severity] = x[0]
            for model_name, model in models.items():
                results[model_name]["accuracy"][name][str(severity)] = accuracy(model, x)
            if progress:
                progress.add(1, [(m, r["accuracy"][name][str(severity)]) for m, r in results.items()])
    for result in results.values():
        _summarise(result)
        result["parameters"] = {name: {"parameter": CORRUPTION_PARAMETERS[name][0],
                                       "values": {str(s): CORRUPTION_PARAMETERS[name][1][s - 1] for s in levels}}
                                for name in names}
    return results, {"clean": clean[0], "cells": examples}


def evaluate_robustness(model, images, labels, corruptions="all", severities=SEVERITIES, seed=0,
                        batch_size=256, verbose=1, out_dir=None):
    """Accuracy of one classifier on clean and corrupted images.

    Args:
        model: a ``keras.Model`` that maps images to class probabilities or logits.
        images, labels, corruptions, severities, seed, batch_size, verbose: as for
            :func:`compare_robustness`.
        out_dir: when given, write ``robustness.json`` and ``robustness_examples.png``
            (one row per corruption, one column per severity) into this folder.

    Returns:
        dict with ``clean_accuracy``, ``accuracy`` (``{corruption: {severity: accuracy}}``,
        severities as strings), ``corruption_mean`` (``{corruption: mean over severities}``),
        ``mean_accuracy`` (mean over all cells), ``samples``, ``seed``, ``corruptions``,
        ``severities``, ``parameters`` (each level's parameter value) and, with
        ``out_dir``, ``json`` and ``examples_png`` (the files written).

    Raises:
        ValueError: as for :func:`compare_robustness`.

    Example:
        >>> result = evaluate_robustness(model, x_test, y_test, corruptions="gaussian_noise,shift",
        ...                              severities=(1, 5), out_dir="runs/robust")
        >>> result["mean_accuracy"], result["accuracy"]["shift"]["5"]
    """
    results, examples = _run({"accuracy": model}, images, labels, corruptions, severities, seed, batch_size, verbose)
    result = results["accuracy"]
    if out_dir:
        write_robustness(result, out_dir, examples)
    return result


def _summarise(result):
    cells = result["accuracy"]
    result["corruption_mean"] = {name: float(np.mean(list(by_level.values()))) for name, by_level in cells.items()}
    result["mean_accuracy"] = float(np.mean([a for by_level in cells.values() for a in by_level.values()]))


def write_robustness(result, out_dir, examples=None):
    """Write ``result`` as ``robustness.json`` (and the example grid, given ``examples``) atomically.

    Returns:
        ``result`` with the paths written added under ``json`` and ``examples_png``.
    """
    from kerasdil.export._files import write_text

    os.makedirs(out_dir, exist_ok=True)
    if examples is not None:
        from kerasdil.plots import plot_corruption_grid

        result["examples_png"] = plot_corruption_grid(examples["clean"], examples["cells"],
                                                      os.path.join(out_dir, ROBUSTNESS_PNG),
                                                      accuracy=result["accuracy"])
    result["json"] = os.path.join(out_dir, ROBUSTNESS_JSON)
    write_text(result["json"], json.dumps(result, indent=2) + "\n")
    return result


def format_robustness(result):
    """The result as a plain-text table: one row per corruption, one column per severity.

    Example:
        >>> print(format_robustness(evaluate_robustness(model, x, y, "shift", (1, 5), verbose=0)))
    """
    levels = [str(s) for s in result["severities"]]
    width = max(len("corruption"), *(len(n) for n in result["corruptions"]))
    header = f"{'corruption':<{width}}  " + "  ".join(f"{'sev ' + s:>7}" for s in levels) + f"  {'mean':>7}"
    lines = [f"clean accuracy {result['clean_accuracy']:.4f} on {result['samples']} images (corruption seed {result['seed']})",
             header, "-" * len(header)]
    for name in result["corruptions"]:
        row = "  ".join(f"{result['accuracy'][name][s]:>7.4f}" for s in levels)
        lines.append(f"{name:<{width}}  {row}  {result['corruption_mean'][name]:>7.4f}")
    lines.append("-" * len(header))
    lines.append(f"mean over {len(result['corruptions'])} corruptions x {len(levels)} severities: "
                 f"{result['mean_accuracy']:.4f}")
    return "\n".join(lines)
