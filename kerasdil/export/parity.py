"""Numerical parity and task metrics, for any output rank.

Top-1 agreement is the argmax over the last axis: per image for a classifier,
per pixel for a segmenter. The task metric is accuracy for classifiers and mIoU
for segmenters unless a function is passed in.

Max / mean abs differences are measured on class probabilities, whatever the
model outputs: zoo classifiers end in a softmax, segmenters return per-pixel
logits. Logits have no fixed scale: float16 weights carry a relative rounding
error of up to 2**-11 (5e-4), which moves a confident pixel's logit of 30 by
0.015 while its probabilities hardly move, so one threshold on raw outputs
would be far stricter for segmenters than for classifiers. When the Keras
outputs are not already a distribution over the last axis, a softmax over that
axis is applied to both the Keras and the exported outputs before comparing;
the raw logit differences are reported beside them (``logit_max_abs_diff``).
"""

import numpy as np

#: Pass criteria. Float exports must match Keras within a max abs difference of
#: class probabilities (softmax of the outputs when they are logits; see the module
#: docstring); quantized ones (dynamic, int8) are judged on the task metric drop
#: (points) and top-1 agreement, their differences being reported only.
THRESHOLDS = {
    "float32_max_abs_diff": 1e-4,
    "float16_max_abs_diff": 1e-2,
    "quantized_top1_agreement": 0.99,
    "classification_metric_drop": 0.3,
    "segmentation_metric_drop": 1.0,
}


def accuracy(labels, outputs):
    """Fraction of samples whose argmax over the last axis equals the label.

    Works per pixel too (labels ``(N, H, W)``, outputs ``(N, H, W, K)``).
    """
    labels = np.asarray(labels).reshape(np.asarray(outputs).shape[:-1])
    return float(np.mean(np.argmax(outputs, axis=-1) == labels))


def mean_iou(labels, outputs, num_classes=None):
    """Mean intersection over union of the argmax prediction, over classes present.

    A class counts when it is in the labels or the prediction (union > 0), as
    ``keras.metrics.MeanIoU`` does.

    Args:
        labels: int class ids, ``(N, H, W)`` or ``(N, H, W, 1)``.
        outputs: scores ``(N, H, W, K)`` (logits or probabilities).
        num_classes: K; default the last axis of ``outputs``.

    Returns:
        mIoU in [0, 1].
    """
    outputs = np.asarray(outputs)
    k = num_classes or outputs.shape[-1]
    labels = np.asarray(labels).reshape(outputs.shape[:-1]).astype(np.int64).ravel()
    pred = np.argmax(outputs, axis=-1).astype(np.int64).ravel()
    keep = (labels >= 0) & (labels < k)
    confusion = np.bincount(labels[keep] * k + pred[keep], minlength=k * k).reshape(k, k)
    inter = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - inter
    present = union > 0
    return float(np.mean(inter[present] / union[present])) if present.any() else 0.0


def _shared_mean_iou(labels, outputs):
    """mIoU through ``kerasdil.metrics`` (the segmentation task's own definition)."""
    from kerasdil.metrics import confusion_matrix
    from kerasdil.metrics import mean_iou as miou_of_confusion

    outputs = np.asarray(outputs)
    labels = np.asarray(labels).reshape(outputs.shape[:-1]).astype(np.int64)
    valid = labels >= 0  # pixels a mask marks as ignored (-1) are left out, as in ``kerasdil evaluate``
    confusion = confusion_matrix(labels[valid], np.argmax(outputs, axis=-1)[valid], outputs.shape[-1])
    return miou_of_confusion(confusion)


def default_metric(task):
    """``(name, function(labels, outputs) -> float in [0, 1])`` for a task.

    Segmentation uses ``kerasdil.metrics`` when it is installed (same numbers as
    ``kerasdil evaluate``), else :func:`mean_iou` here (the same definition).
    """
    if task == "segmentation":
        try:
            import kerasdil.metrics  # noqa: F401
        except ImportError:
            return "mIoU", mean_iou
        _shared_mean_iou.__name__ = "mean_iou"
        return "mIoU", _shared_mean_iou
    return "accuracy", accuracy


#: How far from 1 the sum over the last axis may be for outputs to count as probabilities.
_DISTRIBUTION_TOLERANCE = 1e-3


def is_distribution(outputs, tolerance=_DISTRIBUTION_TOLERANCE):
    """Whether ``outputs`` are probabilities over the last axis (in [0, 1], summing to 1).

    Example:
        >>> is_distribution(np.array([[0.25, 0.75]])), is_distribution(np.array([[-1.0, 3.0]]))
        (True, False)
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.size == 0:
        return True
    if outputs.min() < -tolerance or outputs.max() > 1 + tolerance:
        return False
    return bool(np.all(np.abs(outputs.sum(axis=-1) - 1.0) <= tolerance))


def softmax(logits):
    """Softmax over the last axis, in float64 (stable: the max is subtracted first)."""
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def compare(reference, outputs):
    """Differences between an exported model's outputs and the Keras reference.

    Differences are taken on probabilities: the outputs as they are when the
    reference is already a distribution over the last axis (a softmax
    classifier), else the softmax over the last axis of both (logits, as
    segmenters return). See the module docstring for why.

    Args:
        reference: Keras outputs, ``(N, ..., K)``.
        outputs: the exported model's outputs, same shape.

    Returns:
        dict with ``samples``, ``compared`` ("probabilities" or "softmax of
        logits"; when either side has NaN or infinite values, "nothing
        (non-finite outputs)" with the counts in ``non_finite`` and None for the
        differences, which :func:`judge` fails), ``max_abs_diff`` and ``mean_abs_diff`` (of probabilities; what
        the float thresholds judge), ``top1_agreement`` (fraction of argmax over
        the last axis that agree), and for logits also ``logit_max_abs_diff`` and
        ``logit_mean_abs_diff`` (raw outputs).

    Raises:
        ValueError: the shapes differ.

    Example:
        >>> compare(np.array([[0.0, 2.0]]), np.array([[0.0, 2.01]]))["compared"]
        'softmax of logits'
    """
    reference = np.asarray(reference, dtype=np.float32)
    outputs = np.asarray(outputs, dtype=np.float32)
    if reference.shape != outputs.shape:
        raise ValueError(f"output shape {outputs.shape} differs from the Keras output shape {reference.shape}.")
    non_finite = {"keras": int(np.size(reference) - np.count_nonzero(np.isfinite(reference))),
                  "artifact": int(np.size(outputs) - np.count_nonzero(np.isfinite(outputs)))}
    if non_finite["keras"] or non_finite["artifact"]:
        # NaN compares as no difference (max(0, nan) is 0): report it, and let judge() fail it.
        return {"samples": int(reference.shape[0]), "compared": "nothing (non-finite outputs)",
                "top1_agreement": None, "max_abs_diff": None, "mean_abs_diff": None, "non_finite": non_finite}
    logits = not is_distribution(reference)
    result = {
        "samples": int(reference.shape[0]),
        "compared": "softmax of logits" if logits else "probabilities",
        "top1_agreement": float(np.mean(np.argmax(reference, -1) == np.argmax(outputs, -1))),
    }
    # In chunks of samples: float64 softmax of a whole segmentation test set is gigabytes.
    peak = {"probability": 0.0, "logit": 0.0}
    total = {"probability": 0.0, "logit": 0.0}
    step = max(1, (1 << 22) // max(1, reference[:1].size))
    for i in range(0, len(reference), step):
        ref, out = reference[i : i + step].astype(np.float64), outputs[i : i + step].astype(np.float64)
        diffs = {"probability": np.abs(softmax(ref) - softmax(out)) if logits else np.abs(ref - out)}
        if logits:
            diffs["logit"] = np.abs(ref - out)
        for key, diff in diffs.items():
            if diff.size:
                peak[key] = max(peak[key], float(diff.max()))
                total[key] += float(diff.sum())
    count = max(1, reference.size)
    result["max_abs_diff"] = peak["probability"]
    result["mean_abs_diff"] = total["probability"] / count
    if logits:
        result["logit_max_abs_diff"] = peak["logit"]
        result["logit_mean_abs_diff"] = total["logit"] / count
    return result


def judge(quantization, parity, metric, task, thresholds=None):
    """Pass / fail of one artifact's parity against :data:`THRESHOLDS`.

    Args:
        quantization: "float32", "float16", "dynamic" or "int8".
        parity: a :func:`compare` result.
        metric: ``{"drop": points, ...}`` or None when there were no labels.
        task: "classification" or "segmentation".
        thresholds: overrides for :data:`THRESHOLDS`.

    Returns:
        ``(criterion text, passed bool, failure text or None)``.
    """
    t = {**THRESHOLDS, **(thresholds or {})}
    if parity.get("non_finite"):
        counts = parity["non_finite"]
        where = " and ".join(f"{n:,} from {'the Keras model' if k == 'keras' else 'the artifact'}"
                             for k, n in counts.items() if n)
        return ("finite outputs", False,
                f"NaN or infinite outputs ({where}): nothing to compare (broken weights or inputs)")
    if quantization in ("float32", "float16"):
        limit = t[f"{quantization}_max_abs_diff"]
        ok = parity["max_abs_diff"] <= limit
        space = "probabilities" if parity.get("compared", "probabilities") == "probabilities" else "softmax probabilities"
        criterion = f"max abs diff of {space} <= {limit:g}"
        failure = None if ok else f"max abs diff of {space} {parity['max_abs_diff']:.3g} > {limit:g}"
        return criterion, ok, failure
    agree = t["quantized_top1_agreement"]
    drop_limit = t[f"{task}_metric_drop"] if f"{task}_metric_drop" in t else t["classification_metric_drop"]
    problems = []
    if parity["top1_agreement"] < agree:
        problems.append(f"top-1 agreement {parity['top1_agreement']:.4f} < {agree:g}")
    criterion = f"top-1 agreement >= {agree:g}"
    if metric is not None:
        criterion += f", metric drop <= {drop_limit:g} points"
        if metric["drop"] > drop_limit:
            problems.append(f"{metric['name']} drop {metric['drop']:.2f} points > {drop_limit:g}")
    else:
        criterion += " (no labels: metric drop not checked)"
    return criterion, not problems, "; ".join(problems) or None
