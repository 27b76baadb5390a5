"""Accuracy of classifiers on corrupted images (the corruption benchmark), and mIoU of segmenters
on scenes from other generators (the scene-generator benchmark, :func:`evaluate_scene_generators`).

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
SCENE_GENERATORS_JSON = "scene_generators.json"


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


def evaluate_scene_generators(model, mnist, generators="all", seed=0, num_scenes=2000, batch_size=64, model_at=None,
                              out_dir=None, verbose=1):
    """mIoU of a segmenter on the test scenes of each named scene generator.

    Every generator (:data:`kerasdil.data.scenes.SCENE_GENERATORS`) composes ``num_scenes`` test
    scenes from MNIST test digits at its own canvas (seed ``seed``); the model is scored on each
    with one confusion matrix over all their pixels (the mIoU ``kerasdil evaluate`` reports).

    Args:
        model: a segmenter ``keras.Model`` (logits or probabilities per pixel, 11 classes).
        mnist: a ``kerasdil.data.MnistArrays`` or a path / source name for ``load_mnist_arrays``.
        generators: ``"all"``, a comma-separated string or a list of generator names.
        seed: seed of the test scenes (0: the scenes every number in the model cards is quoted on).
        num_scenes: test scenes per generator.
        batch_size: scenes per prediction batch.
        model_at: ``canvas -> keras.Model``, the model rebuilt for another canvas (zoo models are
            fully convolutional); needed when ``model`` has a fixed input size other than a
            generator's canvas.
        out_dir: when given, write ``scene_generators.json`` there.
        verbose: 1 prints one line per generator.

    Returns:
        dict with ``generators`` (names), ``seed``, ``num_scenes``, ``scores`` (``{name: {"miou",
        "miou_no_background", "pixel_accuracy", "scene": SceneConfig fields}}``), ``mean_miou``
        and, with ``out_dir``, ``json``.

    Raises:
        ValueError: an unknown generator, or a fixed-size model and no ``model_at`` for another canvas.

    Example:
        >>> result = evaluate_scene_generators(create_model("deeplab_aspp:scenes"), "path/to/mnist.npz",
        ...                                    "standard,touching", model_at=lambda c: create_model(
        ...                                        "deeplab_aspp:scenes", input_shape=(*c, 1)))
        >>> print(format_scene_generators(result))
    """
    from kerasdil.data import load_mnist_arrays
    from kerasdil.data.scenes import SCENE_CLASS_NAMES, load_scenes_arrays, resolve_scene_generators, scene_generator
    from kerasdil.metrics import confusion_matrix, predict_classes, segmentation_scores

    names = resolve_scene_generators(generators)
    for what, value in (("num_scenes", num_scenes), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"evaluate_scene_generators: `{what}` must be an int >= 1, got {value!r}.")
    arrays = mnist if hasattr(mnist, "x_test") else load_mnist_arrays(mnist)
    result = {"generators": list(names), "seed": int(seed), "num_scenes": int(num_scenes), "scores": {}}
    for name in names:
        config = scene_generator(name)
        scenes = load_scenes_arrays("test", num_scenes=num_scenes, source=arrays, seed=seed, config=config)
        size = tuple(model.input_shape[1:3])
        scorer = model
        if None not in size and size != config.canvas_size:
            if model_at is None:
                raise ValueError(f"generator {name!r} makes {config.canvas_size[0]}x{config.canvas_size[1]} scenes and "
                                 f"model {model.name!r} takes {size[0]}x{size[1]}; pass model_at to rebuild it.")
            scorer = model_at(config.canvas_size)
        predictions = predict_classes(scorer, scenes.images, batch_size=int(batch_size))
        scores = segmentation_scores(confusion_matrix(scenes.masks, predictions, len(SCENE_CLASS_NAMES)))
        result["scores"][name] = {key: scores[key] for key in ("miou", "miou_no_background", "pixel_accuracy")}
        result["scores"][name]["scene"] = config.as_dict()
        if verbose:
            print(f"scene generator {name}: mIoU {scores['miou']:.4f}")
    result["mean_miou"] = float(np.mean([r["miou"] for r in result["scores"].values()]))
    if out_dir:
        from kerasdil.export._files import write_text

        os.makedirs(out_dir, exist_ok=True)
        result["json"] = os.path.join(out_dir, SCENE_GENERATORS_JSON)
        write_text(result["json"], json.dumps(result, indent=2) + "\n")
    return result


def format_scene_generators(result):
    """The scene-generator scores as a plain-text table, one row per generator.

    Example:
        >>> print(format_scene_generators(evaluate_scene_generators(model, "path/to/mnist.npz", verbose=0)))
    """
    lines = [f"{'generator':<10}  {'canvas':>7}  {'mIoU':>6}  {'mIoU (no bg)':>12}  {'pixel acc.':>10}",
             "-" * 53]
    for name in result["generators"]:
        r = result["scores"][name]
        canvas = "x".join(str(v) for v in r["scene"]["canvas_size"])
        lines.append(f"{name:<10}  {canvas:>7}  {r['miou']:.4f}  {r['miou_no_background']:>12.4f}  "
                     f"{r['pixel_accuracy']:>10.4f}")
    lines.append("-" * 53)
    lines.append(f"mean mIoU over {len(result['generators'])} generators: {result['mean_miou']:.4f} "
                 f"({result['num_scenes']:,} test scenes each, seed {result['seed']})")
    return "\n".join(lines)
