"""``tf.data`` wiring of segmentation arrays, and the epoch index that new-scenes-every-epoch pipelines follow.

Everything here is importable from :mod:`kerasdil.data.scenes` too.
"""

from __future__ import annotations

import numpy as np


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"segmentation data: batch_size must be an int >= 1, got {batch_size!r}.")


def check_segmentation_arrays(images, masks, num_classes, *, what="masks"):
    """Validate images and label masks for segmentation; return them as numpy arrays.

    Args:
        images: ``(N, H, W)`` or ``(N, H, W, C)``.
        masks: integer ``(N, H, W)`` (or ``(N, H, W, 1)``) class ids.
        num_classes: labels must lie in ``[0, num_classes)``.

    Returns:
        (images, masks) with masks squeezed to ``(N, H, W)``.

    Raises:
        ValueError: images and masks of different counts or sizes, non-integer
            masks, or a label outside ``[0, num_classes)``.
    """
    images = np.asarray(images)
    masks = np.asarray(masks)
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if images.ndim not in (3, 4) or masks.ndim != 3:
        raise ValueError(
            f"segmentation data: images must be (N, H, W[, C]) and {what} (N, H, W), "
            f"got images {images.shape} and {what} {masks.shape}."
        )
    if images.shape[:3] != masks.shape:
        raise ValueError(
            f"segmentation data: images {images.shape[:3]} and {what} {masks.shape} differ in "
            "count or size; every image needs a mask of the same height and width."
        )
    from kerasdil.metrics import _check_labels

    return images, _check_labels(masks, num_classes, f"segmentation data: {what}")


def segmentation_dataset(images, masks, *, num_classes, batch_size=32, shuffle=False, seed=0, cache=True):
    """A ``tf.data`` pipeline of (image, mask) batches from uint8 numpy arrays.

    Images are scaled by 1/255 to float32 ``(B, H, W, C)`` (a channel axis is
    added to ``(N, H, W)``); masks become int32 ``(B, H, W)``. The arrays are
    checked first (see :func:`check_segmentation_arrays`).

    Raises:
        ValueError: mismatched sizes, labels outside ``[0, num_classes)``, a bad batch size.

    Example:
        >>> ds = segmentation_dataset(images, masks, num_classes=11, batch_size=16)
    """
    images, masks = check_segmentation_arrays(images, masks, num_classes)
    _check_batch_size(batch_size)
    if images.ndim == 3:
        images = images[..., None]
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, masks.astype(np.int32)))
    if cache and shuffle:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=int(seed), reshuffle_each_iteration=True)
    scale = 1.0 / 255.0 if images.dtype == np.uint8 else 1.0

    def to_float(x, y):
        return tf.cast(x, tf.float32) * scale, y

    dataset = dataset.batch(int(batch_size)).map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    if cache and not shuffle:
        dataset = dataset.cache()
    return dataset.prefetch(tf.data.AUTOTUNE)


class SceneEpochs:
    """The epoch whose scenes the next pass of a new-scenes-every-epoch pipeline composes.

    Each pass takes ``next_epoch`` and advances it by one; the callback of
    :meth:`callback` sets it from Keras's epoch index at the start of every
    epoch, so the scenes follow the epoch index, not the number of passes
    this Python object has seen (which restarts at 0 in a resumed run).

    Attributes:
        next_epoch: epoch index of the next pass.
    """

    def __init__(self, first_epoch=0):
        if isinstance(first_epoch, bool) or not isinstance(first_epoch, (int, np.integer)) or first_epoch < 0:
            raise ValueError(f"mnist scenes: `first_epoch` must be an int >= 0, got {first_epoch!r}.")
        self.next_epoch = int(first_epoch)

    def take(self):
        """The epoch index for the pass that starts now (and advance)."""
        epoch = self.next_epoch
        self.next_epoch = epoch + 1
        return epoch

    def callback(self, first_epoch=0):
        """A Keras callback: Keras epoch ``e`` composes the scenes of epoch ``first_epoch + e``.

        ``first_epoch`` places this ``fit`` in a longer run (the second phase
        of a fine-tuning recipe starts at the epoch after the first phase).
        """
        import keras

        epochs = self

        class SceneEpochCallback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                # The pipeline starts composing a pass at the epoch's first batch,
                # after this hook: tf.data starts its prefetch threads lazily.
                epochs.next_epoch = int(first_epoch) + int(epoch)

        return SceneEpochCallback()


def scene_epoch_callback(dataset, first_epoch=0):
    """The Keras callback that ties ``dataset``'s scenes to the epoch index, or None.

    None unless ``dataset`` is a pipeline of ``mnist_scenes(new_scenes_every_epoch=True)``
    (the object it returned). See :class:`SceneEpochs`.

    Example:
        >>> train = mnist_scenes("train", new_scenes_every_epoch=True)
        >>> callbacks = [keras.callbacks.BackupAndRestore("backup"), scene_epoch_callback(train)]
        >>> model.fit(train, epochs=12, callbacks=callbacks)
    """
    epochs = getattr(dataset, "_kerasdil_scene_epochs", None)
    return epochs.callback(first_epoch) if isinstance(epochs, SceneEpochs) else None
