"""What a data source becomes: a :class:`DataSpec` of splits, and the preprocessing every source shares.

The sources themselves are in :mod:`kerasdil.data.sources` (the entry point,
:func:`~kerasdil.data.sources.load_data`) and the private modules beside it.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

#: How images of another size are brought to the input size.
RESIZE_POLICIES = ("pad", "crop", "stretch")
#: Image files read from folders (the extensions image_dataset_from_directory reads).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
#: Optional class-names file of a segmentation folder (one name per line, class 0 first).
CLASS_NAMES_FILE = "classes.txt"
#: Folder names of a split layout, and the split each one is.
SPLIT_FOLDERS = {"train": "train", "validation": "validation", "val": "validation", "test": "test"}
TFDS_PREFIX = "tfds:"
TFDS_DATA_DIR_ENV = "TFDS_DATA_DIR"
#: Default share of the training images held out for validation.
DEFAULT_VALIDATION_SPLIT = 0.2
#: Builders that kerasdil prepares itself, from local files, when they are not yet prepared.
_LOCAL_BUILDERS = ("mnist_scenes",)


class UserDataWarning(UserWarning):
    """Something in the user's data was skipped or converted (the message says what)."""


# ----------------------------------------------------------------------------- the spec


@dataclasses.dataclass
class _Split:
    """One split: a function making the unbatched, preprocessed dataset, and its size."""

    make: object
    count: Optional[int]
    text: str


@dataclasses.dataclass
class _Found:
    """The fields every loader's answer has (:class:`DataSpec`, ``kerasdil.data.series.SeriesSpec``)."""

    task: str
    num_classes: int
    class_names: list
    input_shape: tuple
    description: str
    record: dict


@dataclasses.dataclass
class DataSpec(_Found):
    """What :func:`load_data` found, and the pipelines over it.

    Attributes:
        task: "classification" or "segmentation".
        num_classes: classes (for segmentation, mask values 0..num_classes-1).
        class_names: one name per class.
        input_shape: (height, width, channels) every image is brought to.
        description: one line for logs ("data: ...").
        record: JSON-able dict of where the data came from and every choice made
            (sizes, resize policy, channels, splits, skipped files); train writes it
            to ``data.json``.
        splits: split name -> :class:`_Split` (``train``, ``validation``, ``test``).
    """

    splits: dict

    def sizes(self) -> dict:
        """``{split: number of examples}`` (None where unknown)."""
        return {name: split.count for name, split in self.splits.items()}

    def dataset(self, split="train", *, batch_size=32, shuffle=None, augment=False, seed=0, limit=None,
                cache=True):
        """A batched ``tf.data`` pipeline of one split, or None when the data has no such split.

        Args:
            split: "train", "validation" or "test".
            batch_size: examples per batch.
            shuffle: reshuffle every epoch; default True for "train" only.
            augment: classification only: False, True, or a dict of
                :data:`kerasdil.data.AUGMENTATION` settings (random affine per image).
            seed: shuffling and augmentation seed.
            limit: use only the first ``limit`` examples.
            cache: keep decoded, resized examples in memory after the first pass.

        Returns:
            ``tf.data.Dataset`` of ``(images float32 (B, H, W, C) in [0, 1], labels int32
            (B,) or masks int32 (B, H, W))``, or None.

        Raises:
            ValueError: an unknown split or bad argument.

        Example:
            >>> train = spec.dataset("train", batch_size=64, augment=True)
        """
        import tensorflow as tf

        if split not in ("train", "validation", "test"):
            raise ValueError(f"split must be 'train', 'validation' or 'test'; got {split!r}.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}.")
        if split not in self.splits:
            return None
        entry = self.splits[split]
        dataset = entry.make()
        if limit is not None:
            dataset = dataset.take(int(limit))
        if cache:
            dataset = dataset.cache()
        if shuffle is None:
            shuffle = split == "train"
        if shuffle:
            buffer = min(entry.count or 10000, 10000)
            dataset = dataset.shuffle(max(buffer, 1), seed=int(seed), reshuffle_each_iteration=True)
        dataset = dataset.batch(int(batch_size))
        if augment and self.task == "classification":
            from .mnist import augment_batch, augmentation_settings

            settings = augmentation_settings(augment) or {}
            seeds = tf.data.Dataset.random(seed=int(seed), rerandomize_each_iteration=True).batch(2)
            dataset = tf.data.Dataset.zip((dataset, seeds)).map(
                lambda batch, s: (augment_batch(batch[0], s, **settings), batch[1]),
                num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.prefetch(tf.data.AUTOTUNE)

    @property
    def train(self):
        """The training split, batches of 32, shuffled."""
        return self.dataset("train")

    @property
    def validation(self):
        """The validation split (batches of 32), or None."""
        return self.dataset("validation")

    @property
    def test(self):
        """The test split (batches of 32), or None."""
        return self.dataset("test")

    def arrays(self, split, limit=None, *, shuffle=False, seed=0):
        """``(x, y)`` numpy arrays of a split, or None when absent.

        Args:
            split: "train", "validation" or "test".
            limit: at most this many examples (the first ones, or a seeded random
                draw with ``shuffle``: a folder lists its classes one after another).
            shuffle: draw the examples in a random order.
            seed: seed of that order.
        """
        dataset = self.dataset(split, batch_size=256, shuffle=shuffle, seed=seed,
                               limit=None if shuffle else limit, cache=False)
        if dataset is None:
            return None
        xs, ys, count = [], [], 0
        for x, y in dataset:
            xs.append(np.asarray(x))
            ys.append(np.asarray(y))
            count += len(xs[-1])
            if limit is not None and count >= limit:
                break
        if not xs:
            return None
        return np.concatenate(xs)[:limit], np.concatenate(ys)[:limit]


# ----------------------------------------------------------------------------- preprocessing


def _resize_fn(image_size, resize):
    """``f(image float32 (H, W, C)) -> (h, w, C)`` and the same for masks (nearest)."""
    import keras

    kwargs = {"pad": dict(pad_to_aspect_ratio=True, fill_value=0.0),
              "crop": dict(crop_to_aspect_ratio=True), "stretch": {}}[resize]

    def image(x):
        return keras.ops.image.resize(x, image_size, interpolation="bilinear", **kwargs)

    def mask(m):
        return keras.ops.image.resize(m, image_size, interpolation="nearest", **kwargs)

    return image, mask


def _convert_channels(x, channels):
    """Float image (H, W, c) with c in 1..4 -> ``channels`` channels (alpha dropped)."""
    import tensorflow as tf

    c = x.shape[-1]
    if c in (2, 4):  # drop alpha
        x, c = x[..., : c - 1], c - 1
    if c == channels:
        return x
    if channels == 3:
        return tf.image.grayscale_to_rgb(x)
    return tf.image.rgb_to_grayscale(x)


def _preprocess_tensor(image_size, resize, channels, task, mask_table=None):
    """A map function for in-memory (image, label) pairs: scale, channels, size (masks through ``mask_table``)."""
    import tensorflow as tf

    resize_image, resize_mask = _resize_fn(image_size, resize)
    lookup = None if mask_table is None else tf.constant(mask_table, tf.int32)

    def fn(x, y):
        if x.dtype.is_integer:
            x = tf.cast(x, tf.float32) / 255.0
        else:
            x = tf.cast(x, tf.float32)
        if x.shape.rank == 2:
            x = x[..., None]
        x = _convert_channels(x, channels)
        x = tf.ensure_shape(resize_image(x), (*image_size, channels))
        if task == "segmentation":
            m = tf.cast(y if lookup is None else tf.gather(lookup, tf.clip_by_value(tf.cast(y, tf.int32), 0, 255)),
                        tf.float32)
            if m.shape.rank == 2:
                m = m[..., None]
            y = tf.cast(tf.ensure_shape(resize_mask(m[..., :1]), (*image_size, 1))[..., 0], tf.int32)
        else:
            y = tf.cast(tf.reshape(y, []), tf.int32)
        return x, y

    return fn

