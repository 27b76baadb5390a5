"""Losses that Keras does not ship in the form kerasdil's tasks need.

``SparseCategoricalCrossentropy`` takes integer labels but has no
``label_smoothing``; ``CategoricalCrossentropy`` smooths but wants one-hot labels.
``SmoothedSparseCategoricalCrossentropy`` takes integer labels and smooths;
``sparse_crossentropy`` picks it or Keras's loss. ``PixelAccuracy``, the segmentation
metric that leaves out ignored pixels (label -1), is registered here with them, so a
compiled segmenter loads wherever the layers do.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasdil")
class SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy on integer labels with label smoothing.

    The target of a sample with label ``k`` is ``1 - label_smoothing`` on class
    ``k`` plus ``label_smoothing / num_classes`` on every class, exactly as
    ``keras.losses.CategoricalCrossentropy(label_smoothing=...)`` does on the
    one-hot label. With ``label_smoothing=0`` it equals
    ``keras.losses.SparseCategoricalCrossentropy``.

    Args:
        label_smoothing: float in [0, 1). Default 0.1.
        from_logits: whether predictions are logits rather than probabilities.
        reduction, name, dtype: as for any ``keras.losses.Loss``.

    Raises:
        ValueError: ``label_smoothing`` outside [0, 1).

    Example:
        >>> loss = SmoothedSparseCategoricalCrossentropy(label_smoothing=0.1)
        >>> value = loss([1, 0], [[0.1, 0.9], [0.8, 0.2]])
    """

    def __init__(self, label_smoothing=0.1, from_logits=False, reduction="sum_over_batch_size",
                 name="smoothed_sparse_categorical_crossentropy", dtype=None):
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) \
                or not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(
                f"SmoothedSparseCategoricalCrossentropy: `label_smoothing` must be a number in [0, 1), "
                f"got {label_smoothing!r}."
            )
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        num_classes = ops.shape(y_pred)[-1]
        labels = ops.cast(y_true, "int32")
        # Labels may come as (batch,) or (batch, 1), as Keras' sparse losses accept.
        if len(labels.shape) == len(y_pred.shape):
            labels = ops.squeeze(labels, axis=-1)
        valid = ops.cast(ops.greater_equal(labels, 0), y_pred.dtype)  # -1: a pixel a mask marks as ignored
        one_hot = ops.one_hot(ops.maximum(labels, 0), num_classes, dtype=y_pred.dtype)
        return valid * keras.losses.categorical_crossentropy(
            one_hot, y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        config = super().get_config()
        config.update(label_smoothing=self.label_smoothing, from_logits=self.from_logits)
        return config


def sparse_crossentropy(label_smoothing=0.0, from_logits=False, ignore_class=None):
    """Cross-entropy on integer labels: Keras's own loss, or the smoothed one when
    ``label_smoothing`` > 0 (what the classification and segmentation tasks train with).

    ``ignore_class`` (segmentation: -1, the label of pixels a mask marks as ignored)
    leaves those labels out of the loss and its mean (Keras's ``ignore_class``).

    Example:
        >>> loss = sparse_crossentropy(label_smoothing=0.1, from_logits=True)
    """
    if label_smoothing:
        return SmoothedSparseCategoricalCrossentropy(label_smoothing=label_smoothing, from_logits=from_logits)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=ignore_class)


@keras.saving.register_keras_serializable(package="kerasdil")
class PixelAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Pixel accuracy over the labelled pixels: a pixel labelled -1 (a mask value marked as ignored) weighs nothing.

    Example:
        >>> metric = PixelAccuracy(name="pixel_accuracy")
        >>> metric.update_state([[-1, 1]], [[[0.9, 0.1], [0.2, 0.8]]])
        >>> float(metric.result())
        1.0
    """

    def update_state(self, y_true, y_pred, sample_weight=None):
        valid = ops.cast(ops.greater_equal(y_true, 0), "float32")
        if sample_weight is not None:
            valid = valid * ops.cast(sample_weight, "float32")
        return super().update_state(ops.maximum(y_true, 0), y_pred, sample_weight=valid)
