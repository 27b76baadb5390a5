"""MNIST scenes: a semantic-segmentation data set built from real MNIST digits.

In the spirit of M2NIST: every scene is a black canvas (default 64 x 80) holding
1 to 3 MNIST digits at random places, and a label mask with one class per pixel:
``0`` for background and ``1 + d`` for the strokes of digit ``d`` (11 classes).

Everything is deterministic numpy: the same MNIST arrays, parameters and ``seed``
give the same scenes, byte for byte, on every machine.

How a scene is made
-------------------
1. The number of digits is drawn uniformly from ``digits_per_image`` (inclusive).
2. Each digit is an MNIST image drawn uniformly (with replacement) from the
   split's digit pool, resized by a factor drawn uniformly from ``scale_range``
   (numpy bilinear, rounded to uint8; a factor of 1 copies the digit unchanged),
   and pasted at a uniformly drawn position where its whole 28s x 28s box fits.
3. Label mask: a pixel belongs to a digit when the scene pixel is at least
   ``threshold`` (default 128, half intensity); anti-aliased edge pixels below it
   are background. So the mask is exactly ``scene >= threshold`` coloured by owner.

Overlap policy (``overlap``)
----------------------------
- ``"none"`` (default, as M2NIST, whose digits "were pasted so that they did not
  overlap"): digits never overlap: a position whose ink bounding box would touch
  an earlier digit's is redrawn (up to 100 tries); a digit that finds no room is
  left out, so crowded canvases may hold fewer digits than drawn. Every label
  is then unambiguous.
- ``"max"``: the scene is the pixel-wise maximum of the digits; a pixel where
  several digits have ink belongs to the brightest of them (on a tie, the one
  drawn last). Image and mask always agree: the owner is the digit whose ink
  made the pixel. Where two strokes cross at full ink the label cannot be told
  from the image (about 3 % of stroke pixels at the default sizes).
- ``"occlude"``: digits are drawn in order and each one's ink (pixels > 0)
  covers what lies beneath, like paper cut-outs; covered pixels take the label
  of the covering digit (or background when its ink there is below threshold).

Scales and jitter
-----------------
Every split records each digit's resize factor and the box it was pasted in
(``ScenesArrays.scales``, ``ScenesArrays.instances``, ``ScenesArrays.scale_map()``),
so scores can be split by digit size (``kerasdil.metrics.scale_bucket_scores``).
Training pipelines that compose new scenes every epoch can add mild photometric
jitter (contrast, brightness, blur, noise; :func:`jitter_scenes`); the masks stay
those of the clean scenes.

Splits and leakage
------------------
``"train"`` scenes use only the first ``N - validation_digits`` MNIST training
digits, ``"validation"`` scenes only the last ``validation_digits`` training
digits (default ``N // 12``: 5,000 of 60,000), ``"test"`` scenes only MNIST test
digits. No digit image appears in two splits. Each split has its own random
stream, ``numpy.random.default_rng([seed, split_index])``.

Example:
    >>> from kerasdil.data import mnist_scenes, load_scenes_arrays
    >>> train = mnist_scenes("train", batch_size=32, num_scenes=10_000)
    >>> images, masks = next(iter(train))   # (32, 64, 80, 1) float32, (32, 64, 80) int32
    >>> arrays = load_scenes_arrays("test", num_scenes=100, source="sample")
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kerasdil.data._scene_maker import (  # noqa: F401  (public here: the generator and its parameters)
    CANVAS_SIZE,
    OVERLAP_POLICIES,
    SCENE_JITTER,
    SceneConfig,
    jitter_scenes,
    make_scenes,
    resize_bilinear,
)
from kerasdil.data._scene_generators import (  # noqa: F401  (public here: the named generators)
    SCENE_GENERATORS,
    make_mixed_scenes,
    resolve_scene_generators,
    scene_generator,
)
from kerasdil.data._segmentation_pipeline import (  # noqa: F401  (public here: the tf.data wiring)
    SceneEpochs,
    _check_batch_size,
    check_segmentation_arrays,
    scene_epoch_callback,
    segmentation_dataset,
)

#: Classes of a scene mask: 0 background, 1 + d for digit d.
SCENE_NUM_CLASSES = 11
#: Names of the 11 classes, index = class id.
SCENE_CLASS_NAMES = ("background",) + tuple(f"digit {d}" for d in range(10))
SCENE_SPLITS = ("train", "validation", "test")
#: Default number of scenes per split.
DEFAULT_NUM_SCENES = {"train": 10_000, "validation": 1_000, "test": 2_000}
_SPLIT_INDEX = {"train": 0, "validation": 1, "test": 2}


@dataclasses.dataclass(frozen=True, eq=False)
class ScenesArrays:
    """One split of MNIST scenes as uint8 numpy arrays.

    Attributes:
        images: uint8 ``(N, H, W)``, pixels 0..255.
        masks: uint8 ``(N, H, W)``, class ids 0..10.
        digits: int32 ``(N, max_digits)``: index of each pasted digit in the MNIST
            array it came from (``x_train`` for train/validation, ``x_test`` for
            test), -1 where a scene holds fewer digits.
        split: "train", "validation" or "test".
        config: the :class:`SceneConfig`.
        seed: the seed.
        source: where the MNIST digits came from (one line).
        is_sample: True when built from the embedded MNIST sample.
        scales: float32 ``(N, max_digits)``: each pasted digit's resize factor
            (its box side / 28), NaN where a scene holds fewer digits.
        instances: ``(N, H, W)``: ``1 + k`` on the pixels of the pasted box of
            the scene's digit ``k``, 0 elsewhere; with ``scales`` it gives every
            pixel near a digit that digit's scale (see :meth:`scale_map`).
    """

    images: np.ndarray
    masks: np.ndarray
    digits: np.ndarray
    split: str
    config: SceneConfig
    seed: int
    source: str
    is_sample: bool = False
    scales: np.ndarray = None
    instances: np.ndarray = None

    def __len__(self):
        return int(self.images.shape[0])

    def scale_map(self):
        """float32 ``(N, H, W)``: the scale of the digit whose box holds each pixel, NaN outside every box.

        Example:
            >>> test = load_scenes_arrays("test", num_scenes=10, source="sample", scale_range=(0.5, 2.0))
            >>> bool(np.nanmax(test.scale_map()) <= 2.0)
            True
        """
        padded = np.concatenate([np.full((len(self), 1), np.nan, np.float32), self.scales], axis=1)
        return np.take_along_axis(padded, self.instances.reshape(len(self), -1).astype(np.int64), axis=1).reshape(
            self.instances.shape)

    def describe(self):
        """One line for logs."""
        h, w = self.config.canvas_size
        return f"data: MNIST scenes {self.split}, {len(self):,} scenes {h}x{w} from {self.source}"


def _check_split(split):
    if split not in SCENE_SPLITS:
        raise ValueError(f"mnist scenes: split must be one of {', '.join(SCENE_SPLITS)}; got {split!r}.")


def _digit_pool(split, source, data_dir, download, validation_digits):
    """(MNIST arrays, the split's digit images, their labels, the index of the first in its MNIST array)."""
    from kerasdil.data.mnist import MnistArrays, load_mnist_arrays

    arrays = source if isinstance(source, MnistArrays) else load_mnist_arrays(source, data_dir=data_dir, download=download)
    return (arrays,) + _split_pool(arrays, split, validation_digits)


def _split_pool(arrays, split, validation_digits):
    n = arrays.num_train
    if validation_digits is None:
        validation_digits = max(1, n // 12)
    if isinstance(validation_digits, bool) or not isinstance(validation_digits, (int, np.integer)) or not 0 < validation_digits < n:
        raise ValueError(
            f"mnist scenes: `validation_digits` must be an int in 1..{n - 1} (the training digits "
            f"kept for validation scenes), got {validation_digits!r}."
        )
    if split == "train":
        return arrays.x_train[: n - validation_digits], arrays.y_train[: n - validation_digits], 0
    if split == "validation":
        return arrays.x_train[n - validation_digits :], arrays.y_train[n - validation_digits :], n - validation_digits
    return arrays.x_test, arrays.y_test, 0


def load_scenes_arrays(split="train", *, num_scenes=None, source=None, data_dir=None, download=True, seed=0,
                       validation_digits=None, config=None, **config_kwargs):
    """Build one split of MNIST scenes as numpy arrays.

    Args:
        split: "train", "validation" or "test".
        num_scenes: scenes to make; default 10,000 / 1,000 / 2,000 per split.
        source, data_dir, download: where the MNIST digits come from (see
            :func:`kerasdil.data.load_mnist_arrays`; an ``MnistArrays`` is used as is).
        seed: random seed (same seed, same bytes).
        validation_digits: training digits kept apart for validation scenes
            (default ``N // 12``, 5,000 of full MNIST's 60,000).
        config: a :class:`SceneConfig`, or give its fields (``canvas_size``,
            ``digits_per_image``, ``scale_range``, ``overlap``, ``threshold``) as
            keyword arguments.

    Returns:
        :class:`ScenesArrays`; ``digits`` index ``x_train`` (train, validation)
        or ``x_test`` (test) of the MNIST arrays.

    Raises:
        ValueError: unknown split or bad parameters.
        FileNotFoundError: MNIST not found (see ``load_mnist_arrays``).

    Example:
        >>> test = load_scenes_arrays("test", num_scenes=500, source="sample")
        >>> test.images.shape, test.masks.max()
        ((500, 64, 80), 10)
    """
    _check_split(split)
    if config is None:
        config = SceneConfig(**config_kwargs)
    elif config_kwargs:
        raise ValueError("mnist scenes: give either `config` or its fields as keyword arguments, not both.")
    if num_scenes is None:
        num_scenes = DEFAULT_NUM_SCENES[split]
    arrays, x, y, offset = _digit_pool(split, source, data_dir, download, validation_digits)
    images, masks, used, scales, instances = make_scenes(
        x, y, num_scenes, config=config, seed=seed, split_index=_SPLIT_INDEX[split], return_instances=True)
    used = np.where(used >= 0, used + offset, -1).astype(np.int32)
    label = "the embedded MNIST sample" if arrays.is_sample else arrays.source
    return ScenesArrays(images, masks, used, split, config, int(seed), label, arrays.is_sample, scales, instances)


def mnist_scenes(split="train", *, batch_size=32, num_scenes=None, source=None, data_dir=None, download=True, seed=0,
                 shuffle=None, limit=None, validation_digits=None, cache=True, new_scenes_every_epoch=False,
                 first_epoch=0, jitter=False, generators=None, config=None, **config_kwargs):
    """The MNIST scenes ``tf.data`` pipeline for one split.

    Args:
        split: "train", "validation" or "test".
        batch_size: scenes per batch.
        num_scenes: scenes in the split (default 10,000 / 1,000 / 2,000).
        source, data_dir, download: where the MNIST digits come from.
        seed: generation and shuffling seed.
        shuffle: reshuffle every epoch; default True for "train" only.
        limit: keep only the first ``limit`` scenes.
        validation_digits: see :func:`load_scenes_arrays`.
        cache: keep batches in memory.
        new_scenes_every_epoch: compose ``num_scenes`` new scenes from the
            split's digits at every pass over the data set (epoch ``e`` uses the
            stream of ``make_scenes(epoch=e)``; epoch 0 is the fixed data set),
            the segmentation counterpart of augmentation: the model sees every
            digit of the split in ever new places and company. The scenes are a
            function of the epoch index: under ``model.fit`` pass the callback
            of :func:`scene_epoch_callback` (``kerasdil.train.fit`` does), and
            epoch ``e`` of a run resumed by ``BackupAndRestore`` sees the same
            scenes as epoch ``e`` of an uninterrupted run. Without it, passes
            are counted from ``first_epoch``. Default False.
        first_epoch: with ``new_scenes_every_epoch``, the epoch index of the
            first pass (default 0), e.g. to continue a run by hand.
        jitter: with ``new_scenes_every_epoch``, apply :func:`jitter_scenes`
            (contrast, brightness, blur, noise) to every pass's scenes, from
            its own stream ``default_rng([seed, split_index, epoch, 1])``.
        generators: a mixture of named generators instead of one configuration
            (names of :data:`SCENE_GENERATORS`, ``"all"`` or a comma list; see
            :func:`make_mixed_scenes`), all made at ``canvas_size`` (default 64 x 80).
        config / canvas_size, digits_per_image, scale_range, overlap, threshold, ...:
            how scenes look (:class:`SceneConfig`); with ``generators`` only ``canvas_size``.

    Returns:
        ``tf.data.Dataset`` of (images float32 ``(B, H, W, 1)`` in [0, 1],
        masks int32 ``(B, H, W)`` in 0..10).

    Example:
        >>> train = mnist_scenes("train", batch_size=32)
        >>> model.fit(train, epochs=5)
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"mnist scenes: limit must be None or an int >= 1, got {limit!r}.")
    if num_scenes is None:
        num_scenes = DEFAULT_NUM_SCENES.get(split)
    if limit is not None and num_scenes is not None:
        num_scenes = min(num_scenes, limit)
    if shuffle is None:
        shuffle = split == "train"
    if jitter and not new_scenes_every_epoch:
        raise ValueError("mnist scenes: `jitter` applies to scenes composed anew every epoch; "
                         "pass new_scenes_every_epoch=True with it.")
    if generators is not None:
        generators = _mixture(generators, config, config_kwargs)
    if new_scenes_every_epoch:
        return _fresh_scenes_dataset(
            split, num_scenes=num_scenes, batch_size=batch_size, source=source, data_dir=data_dir,
            download=download, seed=seed, validation_digits=validation_digits, first_epoch=first_epoch,
            jitter=bool(jitter), generators=generators, config=config, **config_kwargs,
        )
    if generators is not None:
        _check_split(split)
        _, x, y, _ = _digit_pool(split, source, data_dir, download, validation_digits)
        images, masks = make_mixed_scenes(x, y, num_scenes, generators, canvas_size=config_kwargs["canvas_size"],
                                          seed=seed, split_index=_SPLIT_INDEX[split])
        return segmentation_dataset(images, masks, num_classes=SCENE_NUM_CLASSES, batch_size=batch_size,
                                    shuffle=shuffle, seed=seed, cache=cache)
    arrays = load_scenes_arrays(
        split, num_scenes=num_scenes, source=source, data_dir=data_dir, download=download, seed=seed,
        validation_digits=validation_digits, config=config, **config_kwargs,
    )
    return segmentation_dataset(
        arrays.images, arrays.masks, num_classes=SCENE_NUM_CLASSES, batch_size=batch_size, shuffle=shuffle,
        seed=seed, cache=cache,
    )


def _mixture(generators, config, config_kwargs):
    """The generator names of a mixture, with ``config_kwargs`` reduced to its canvas (in place)."""
    others = sorted(set(config_kwargs) - {"canvas_size"})
    if config is not None or others:
        raise ValueError("mnist scenes: a mixture of `generators` takes only `canvas_size`; each generator says how "
                         f"its scenes look (got {', '.join(others) or 'config'} as well).")
    config_kwargs["canvas_size"] = SceneConfig(canvas_size=config_kwargs.get("canvas_size", CANVAS_SIZE)).canvas_size
    return resolve_scene_generators(generators)


def _fresh_scenes_dataset(split, *, num_scenes, batch_size, source, data_dir, download, seed, validation_digits,
                          config, first_epoch=0, jitter=False, generators=None, **config_kwargs):
    """A pipeline that composes new scenes at every pass (see ``mnist_scenes``)."""
    epochs = SceneEpochs(first_epoch)
    _check_split(split)
    _check_batch_size(batch_size)
    if config is None:
        config = SceneConfig(**config_kwargs)
    _, x, y, _ = _digit_pool(split, source, data_dir, download, validation_digits)
    h, w = config.canvas_size

    def batches():
        epoch = epochs.take()
        if generators is not None:
            images, masks = make_mixed_scenes(x, y, num_scenes, generators, canvas_size=(h, w), seed=seed,
                                              split_index=_SPLIT_INDEX[split], epoch=epoch)
        else:
            images, masks, _ = make_scenes(x, y, num_scenes, config=config, seed=seed,
                                           split_index=_SPLIT_INDEX[split], epoch=epoch)
        if jitter:
            images = jitter_scenes(images, np.random.default_rng([int(seed), _SPLIT_INDEX[split], epoch, 1]))
        for i in range(0, num_scenes, batch_size):
            yield images[i : i + batch_size, :, :, None], masks[i : i + batch_size].astype(np.int32)

    import tensorflow as tf

    dataset = tf.data.Dataset.from_generator(
        batches,
        output_signature=(
            tf.TensorSpec((None, h, w, 1), tf.float32 if jitter else tf.uint8),
            tf.TensorSpec((None, h, w), tf.int32),
        ),
    )
    # Scenes are composed in random order already; a known length lets Keras and
    # learning-rate schedules count steps.
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(-(-num_scenes // batch_size)))
    if not jitter:  # jittered scenes come as floats in [0, 1] already
        dataset = dataset.map(lambda a, b: (tf.cast(a, tf.float32) * (1.0 / 255.0), b),
                              num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    dataset._kerasdil_scene_epochs = epochs  # read by scene_epoch_callback
    return dataset
