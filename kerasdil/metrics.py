"""Segmentation metrics: confusion matrix, per-class IoU, mIoU, pixel accuracy.

Pure numpy (Keras is imported only by :func:`keras_metrics`), so scores can be
computed for predictions from any source.

Conventions
-----------
- ``IoU_c = TP_c / (TP_c + FP_c + FN_c)`` from the pixel confusion matrix
  (rows: true class, columns: predicted class).
- A class that appears neither in the labels nor in the predictions has no IoU
  (``nan`` in ``per_class_iou``) and is left out of the means, as in
  ``keras.metrics.MeanIoU`` and the PASCAL VOC / Cityscapes protocol.
- ``miou`` averages over all classes, background (class 0) included;
  ``miou_no_background`` averages over classes 1..C-1. Both are reported.
- ``pixel_accuracy`` is the fraction of pixels whose predicted class is right.

Example:
    >>> from kerasdil.metrics import confusion_matrix, segmentation_scores
    >>> cm = confusion_matrix(masks, predicted_masks, num_classes=11)
    >>> segmentation_scores(cm)["miou"]
"""

import numpy as np


def _check_labels(values, num_classes, what):
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_:
        raise ValueError(f"{what} must hold integer class ids, got dtype {values.dtype}.")
    if values.size:
        lo, hi = int(values.min()), int(values.max())
        if lo < 0 or hi >= num_classes:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{what} hold label {bad}, outside [0, {num_classes}) for num_classes={num_classes}.")
    return values


def confusion_matrix(labels, predictions, num_classes):
    """Pixel confusion matrix (int64, rows: true class, columns: predicted class).

    Args:
        labels: integer class ids, any shape (e.g. ``(N, H, W)``).
        predictions: integer class ids of the same shape (take ``argmax`` of
            logits first).
        num_classes: number of classes C.

    Returns:
        ``(C, C)`` int64 array.

    Raises:
        ValueError: different shapes, non-integer ids, or ids outside ``[0, C)``.

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2)
        array([[1, 0],
               [1, 1]])
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}.")
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    if labels.shape != predictions.shape:
        raise ValueError(
            f"labels {labels.shape} and predictions {predictions.shape} have different shapes; "
            "predict one class id per labelled pixel."
        )
    labels = _check_labels(labels, num_classes, "labels")
    predictions = _check_labels(predictions, num_classes, "predictions")
    flat = labels.astype(np.int64).ravel() * num_classes + predictions.astype(np.int64).ravel()
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_iou(confusion):
    """IoU of every class from a confusion matrix; ``nan`` for a class never seen
    in labels or predictions."""
    confusion = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / np.where(union > 0, union, 1), np.nan)


def mean_iou(confusion, *, include_background=True, background=0):
    """Mean IoU over the classes present (in labels or predictions).

    Args:
        confusion: ``(C, C)`` confusion matrix.
        include_background: include class ``background`` in the mean.
        background: index of the background class. Default 0.

    Returns:
        float (``nan`` when no class is present).
    """
    iou = per_class_iou(confusion)
    if not include_background:
        iou = np.delete(iou, background)
    iou = iou[~np.isnan(iou)]
    return float(iou.mean()) if iou.size else float("nan")


def pixel_accuracy(confusion):
    """Fraction of pixels predicted correctly."""
    confusion = np.asarray(confusion)
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else float("nan")


def segmentation_scores(confusion, class_names=None):
    """Every score of a confusion matrix as a JSON-friendly dict.

    Returns:
        ``{"miou", "miou_no_background", "pixel_accuracy", "per_class_iou"
        (name -> IoU or None), "pixels"}``.

    Example:
        >>> segmentation_scores(confusion_matrix(masks, pred, 11))["miou_no_background"]
    """
    confusion = np.asarray(confusion)
    iou = per_class_iou(confusion)
    names = list(class_names) if class_names is not None else [str(c) for c in range(len(iou))]
    if len(names) != len(iou):
        raise ValueError(f"class_names has {len(names)} names for {len(iou)} classes.")
    return {
        "miou": mean_iou(confusion),
        "miou_no_background": mean_iou(confusion, include_background=False),
        "pixel_accuracy": pixel_accuracy(confusion),
        "per_class_iou": {n: (None if np.isnan(v) else float(v)) for n, v in zip(names, iou)},
        "pixels": int(confusion.sum()),
    }


def keras_metrics(num_classes):
    """Keras metrics that track segmentation training on logits.

    ``keras.metrics.MeanIoU(sparse_y_pred=False)`` takes the argmax of the
    logits itself; it averages over classes present, background included.

    Returns:
        [MeanIoU named "mean_iou", SparseCategoricalAccuracy named "pixel_accuracy"].
    """
    import keras

    return [
        keras.metrics.MeanIoU(num_classes=num_classes, sparse_y_pred=False, name="mean_iou"),
        keras.metrics.SparseCategoricalAccuracy(name="pixel_accuracy"),
    ]
