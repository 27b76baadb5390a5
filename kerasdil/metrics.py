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

    Pixels labelled -1 (a mask value marked as ignored) count in neither.

    Returns:
        [MeanIoU named "mean_iou", :class:`kerasdil.losses.PixelAccuracy` named "pixel_accuracy"].
    """
    import keras

    from kerasdil.losses import PixelAccuracy

    return [
        keras.metrics.MeanIoU(num_classes=num_classes, sparse_y_pred=False, ignore_class=-1, name="mean_iou"),
        PixelAccuracy(name="pixel_accuracy"),
    ]




def check_scale_buckets(edges):
    """Validate digit-scale bucket edges; return them as a tuple of floats.

    Raises:
        ValueError: fewer than two edges, a non-positive edge, or edges not increasing.
    """
    try:
        values = tuple(float(e) for e in edges)
    except (TypeError, ValueError):
        raise ValueError(f"scale buckets must be numbers such as 0.5,0.8,1.1,1.4,1.7,2.0, got {edges!r}.") from None
    if len(values) < 2 or values[0] <= 0 or any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"scale buckets must be at least two increasing positive edges such as 0.5,0.8,1.1,1.4,1.7,2.0, "
                         f"got {','.join(f'{v:g}' for v in values) or 'none'}.")
    return values


def scale_bucket_scores(masks, predictions, scale_map, edges, num_classes, digit_scales=None):
    """Segmentation scores of the pixels near digits of each scale bucket.

    A pixel belongs to bucket ``[edges[i], edges[i+1])`` (the last bucket also
    holds its upper edge) when it lies in the pasted box of a digit whose scale
    is in the bucket (``ScenesArrays.scale_map``); pixels outside every box
    (``nan``) count in no bucket. Each bucket's scores come from its own
    confusion matrix, so its mIoU includes the background around its digits.

    Args:
        masks: true classes ``(N, H, W)``.
        predictions: predicted classes ``(N, H, W)``.
        scale_map: float ``(N, H, W)``, a pixel's digit scale or ``nan``.
        edges: increasing bucket edges (see :func:`check_scale_buckets`).
        num_classes: classes per pixel.
        digit_scales: optional float ``(N, max_digits)`` per-digit scales (``nan``:
            none), to count digits per bucket.

    Returns:
        A list with one dict per bucket: ``low``, ``high``, ``pixels``,
        ``digits`` (with ``digit_scales``), ``miou``, ``miou_no_background``,
        ``pixel_accuracy`` and ``digit_pixel_accuracy`` (the share of the
        bucket's digit pixels given the right class; ``nan`` when empty).

    Example:
        >>> test = load_scenes_arrays("test", num_scenes=200, scale_range=(0.5, 2.0))
        >>> rows = scale_bucket_scores(test.masks, pred, test.scale_map(), (0.5, 1.0, 2.0), 11)
    """
    edges = check_scale_buckets(edges)
    masks = np.asarray(masks)
    predictions = np.asarray(predictions)
    scale_map = np.asarray(scale_map, dtype=np.float64)
    if not masks.shape == predictions.shape == scale_map.shape:
        raise ValueError(f"masks {masks.shape}, predictions {predictions.shape} and scale map {scale_map.shape} "
                         "must have the same shape.")
    rows = []
    for i, (low, high) in enumerate(zip(edges, edges[1:])):
        last = i == len(edges) - 2
        inside = (scale_map >= low) & ((scale_map <= high) if last else (scale_map < high))
        confusion = confusion_matrix(masks[inside], predictions[inside], num_classes)
        digit = masks[inside] > 0
        right = int((predictions[inside][digit] == masks[inside][digit]).sum())
        row = {"low": low, "high": high, "pixels": int(inside.sum())}
        if digit_scales is not None:
            s = np.asarray(digit_scales, dtype=np.float64)
            row["digits"] = int(((s >= low) & ((s <= high) if last else (s < high))).sum())
        row.update(
            miou=mean_iou(confusion),
            miou_no_background=mean_iou(confusion, include_background=False),
            pixel_accuracy=pixel_accuracy(confusion),
            digit_pixel_accuracy=float(right / digit.sum()) if digit.any() else float("nan"),
        )
        rows.append(row)
    return rows


def predict_classes(model, images, batch_size=64):
    """Argmax class of every pixel of uint8 or float ``images`` ``(N, H, W[, C])`` (uint8 scaled by 1/255)."""
    images = np.asarray(images)
    scale = 1.0 / 255.0 if images.dtype == np.uint8 else 1.0
    if images.ndim == 3:
        images = images[..., None]
    out = []
    for i in range(0, len(images), batch_size):
        batch = images[i : i + batch_size].astype(np.float32) * scale
        out.append(np.asarray(model(batch, training=False)).argmax(-1).astype(np.uint8))
    return np.concatenate(out) if out else np.zeros(images.shape[:3], np.uint8)
