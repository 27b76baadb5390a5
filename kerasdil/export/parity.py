"""Numerical parity and task metrics, for any output rank.

Top-1 agreement is the argmax over the last axis: per image for a classifier,
per pixel for a segmenter. The task metric is accuracy for classifiers and mIoU
for segmenters unless a function is passed in.
"""

import numpy as np

#: Pass criteria. Float exports must match Keras within a max abs difference;
#: quantized ones (dynamic, int8) are judged on the task metric drop (points) and
#: top-1 agreement, their raw differences being reported only.
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
    confusion = confusion_matrix(labels, np.argmax(outputs, axis=-1), outputs.shape[-1])
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


def compare(reference, outputs):
    """Differences between two output arrays of the same shape.

    Returns:
        dict with ``max_abs_diff``, ``mean_abs_diff``, ``top1_agreement`` (fraction
        of argmax over the last axis that agree) and ``samples``.
    """
    reference = np.asarray(reference, dtype=np.float32)
    outputs = np.asarray(outputs, dtype=np.float32)
    if reference.shape != outputs.shape:
        raise ValueError(f"output shape {outputs.shape} differs from the Keras output shape {reference.shape}.")
    diff = np.abs(reference - outputs)
    return {
        "samples": int(reference.shape[0]),
        "max_abs_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_diff": float(diff.mean()) if diff.size else 0.0,
        "top1_agreement": float(np.mean(np.argmax(reference, -1) == np.argmax(outputs, -1))),
    }


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
    if quantization in ("float32", "float16"):
        limit = t[f"{quantization}_max_abs_diff"]
        ok = parity["max_abs_diff"] <= limit
        criterion = f"max abs diff <= {limit:g}"
        failure = None if ok else f"max abs diff {parity['max_abs_diff']:.3g} > {limit:g}"
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
