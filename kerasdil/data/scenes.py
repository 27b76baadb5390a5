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
from typing import Tuple

import numpy as np

#: Default canvas (height, width): the input size of the zoo's segmenters
#: (``deeplab_aspp``, ``unet_baseline``), so default scenes feed the shipped models.
#: M2NIST's own 64 x 84 divides only by 4, not by the output strides 8 and 16;
#: ``canvas_size=(64, 84)`` gives it.
CANVAS_SIZE = (64, 80)
#: Classes of a scene mask: 0 background, 1 + d for digit d.
SCENE_NUM_CLASSES = 11
#: Names of the 11 classes, index = class id.
SCENE_CLASS_NAMES = ("background",) + tuple(f"digit {d}" for d in range(10))
OVERLAP_POLICIES = ("none", "max", "occlude")
SCENE_SPLITS = ("train", "validation", "test")
#: Default number of scenes per split.
DEFAULT_NUM_SCENES = {"train": 10_000, "validation": 1_000, "test": 2_000}
_SPLIT_INDEX = {"train": 0, "validation": 1, "test": 2}
_PLACEMENT_TRIES = 100


@dataclasses.dataclass(frozen=True)
class SceneConfig:
    """The parameters that define how scenes look (not how many there are).

    Attributes:
        canvas_size: (height, width) of a scene. Default (64, 80).
        digits_per_image: (min, max) digits per scene, inclusive. Default (1, 3).
        scale_range: (min, max) resize factor of a 28 x 28 digit. Default (1.0, 1.0).
        unit_scale_share: share of the digits kept at scale 1.0, the rest drawn from
            ``scale_range`` (a mix of the standard and the varied scenes). Default 0.
        overlap: "none" (default), "max" or "occlude" (see the module docstring).
        threshold: pixel value (1..255) from which a pixel counts as a stroke. Default 128.
    """

    canvas_size: Tuple[int, int] = CANVAS_SIZE
    digits_per_image: Tuple[int, int] = (1, 3)
    scale_range: Tuple[float, float] = (1.0, 1.0)
    overlap: str = "none"
    threshold: int = 128
    unit_scale_share: float = 0.0

    def __post_init__(self):
        def pair(name, value, kind):
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise ValueError(f"mnist scenes: `{name}` must be a (low, high) pair, got {value!r}.")
            if kind is int and not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
                raise ValueError(f"mnist scenes: `{name}` must be a pair of ints, got {value!r}.")
            if kind is float and not all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value):
                raise ValueError(f"mnist scenes: `{name}` must be a pair of numbers, got {value!r}.")
            return tuple(kind(v) for v in value)

        canvas = pair("canvas_size", self.canvas_size, int)
        digits = pair("digits_per_image", self.digits_per_image, int)
        scale = pair("scale_range", self.scale_range, float)
        if not 0 < scale[0] <= scale[1]:
            raise ValueError(f"mnist scenes: `scale_range` must satisfy 0 < low <= high, got {self.scale_range!r}.")
        largest = int(round(28 * scale[1]))
        if canvas[0] < largest or canvas[1] < largest:
            raise ValueError(
                f"mnist scenes: `canvas_size` {canvas} is smaller than the largest digit "
                f"({largest} x {largest} px at scale {scale[1]}); enlarge the canvas or lower `scale_range`."
            )
        if not 0 <= digits[0] <= digits[1] or digits[1] < 1:
            raise ValueError(
                f"mnist scenes: `digits_per_image` must satisfy 0 <= low <= high and high >= 1, "
                f"got {self.digits_per_image!r}."
            )
        if self.overlap not in OVERLAP_POLICIES:
            raise ValueError(
                f"mnist scenes: `overlap` must be one of {', '.join(OVERLAP_POLICIES)}, got {self.overlap!r}."
            )
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, np.integer)) or not 1 <= self.threshold <= 255:
            raise ValueError(f"mnist scenes: `threshold` must be an int in 1..255, got {self.threshold!r}.")
        share = self.unit_scale_share
        if isinstance(share, bool) or not isinstance(share, (int, float, np.number)) or not 0 <= share <= 1:
            raise ValueError(f"mnist scenes: `unit_scale_share` must be a number from 0 to 1, got {share!r}.")
        object.__setattr__(self, "unit_scale_share", float(share))
        object.__setattr__(self, "canvas_size", canvas)
        object.__setattr__(self, "digits_per_image", digits)
        object.__setattr__(self, "scale_range", scale)
        object.__setattr__(self, "threshold", int(self.threshold))

    def as_dict(self):
        """JSON-friendly dict of the parameters (``unit_scale_share`` only when set, so records
        written before it existed still compare equal)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()
                if k != "unit_scale_share" or v}


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


def resize_bilinear(image, size):
    """Resize a 2-D uint8 image to ``size`` x ``size`` with bilinear interpolation.

    Pure numpy (half-pixel centres, as ``tf.image.resize``), so results are the
    same everywhere. Returns uint8, rounded.
    """
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape
    if (h, w) == (size, size):
        return image.astype(np.uint8)

    def axis(n_in, n_out):
        centres = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        centres = np.clip(centres, 0, n_in - 1)
        low = np.floor(centres).astype(int)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, centres - low

    r0, r1, rf = axis(h, size)
    c0, c1, cf = axis(w, size)
    top = image[r0][:, c0] * (1 - cf) + image[r0][:, c1] * cf
    bottom = image[r1][:, c0] * (1 - cf) + image[r1][:, c1] * cf
    out = top * (1 - rf[:, None]) + bottom * rf[:, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


#: Photometric jitter of training scenes (:func:`jitter_scenes`): for each setting, the
#: share of scenes it touches and the range its strength is drawn from.
SCENE_JITTER = {
    "contrast": (0.5, (0.5, 1.0)),     # ink scaled by this factor
    "brightness": (0.3, (0.0, 0.1)),   # added to every pixel (a grey background)
    "blur": (0.3, (0.5, 1.0)),         # Gaussian sigma in pixels (3-tap kernel)
    "noise": (0.5, (0.02, 0.15)),      # Gaussian noise sigma on [0, 1]
}


def jitter_scenes(images, rng):
    """Mild photometric jitter of uint8 scenes: contrast, brightness, blur, noise.

    Each scene independently gets each change with the probability and
    strength range of :data:`SCENE_JITTER` (in that order), then is clipped
    to [0, 1]. The label masks stay those of the clean scenes: the jitter
    imitates other cameras and pens, not other digits.

    Args:
        images: uint8 ``(N, H, W)`` scenes.
        rng: a ``numpy.random.Generator`` (the jitter is deterministic by it).

    Returns:
        float32 ``(N, H, W)`` in [0, 1].

    Example:
        >>> x = jitter_scenes(images, np.random.default_rng(0))
    """
    x = np.asarray(images, np.float32) * (1.0 / 255.0)
    n = len(x)

    def draw(key):
        share, (low, high) = SCENE_JITTER[key]
        on = rng.random(n) < share
        return on, rng.uniform(low, high, n).astype(np.float32)

    on, factor = draw("contrast")
    x *= np.where(on, factor, 1.0)[:, None, None]
    on, offset = draw("brightness")
    x += np.where(on, offset, 0.0)[:, None, None]
    on, sigma = draw("blur")
    if on.any():
        side = np.exp(-0.5 / sigma[on] ** 2)
        side = (side / (1 + 2 * side))[:, None, None]
        for axis in (1, 2):
            part = x[on]
            padded = np.pad(part, [(0, 0)] + [(1, 1) if a == axis else (0, 0) for a in (1, 2)], mode="edge")
            before = padded[:, :-2] if axis == 1 else padded[:, :, :-2]
            after = padded[:, 2:] if axis == 1 else padded[:, :, 2:]
            x[on] = (1 - 2 * side) * part + side * (before + after)
    on, sigma = draw("noise")
    x += rng.standard_normal(x.shape, dtype=np.float32) * np.where(on, sigma, 0.0)[:, None, None]
    return np.clip(x, 0.0, 1.0, out=x)


def _boxes_touch(box, others):
    y0, x0, y1, x1 = box
    return any(y0 <= b[2] and b[0] <= y1 and x0 <= b[3] and b[1] <= x1 for b in others)


def make_scenes(digit_images, digit_labels, num_scenes, *, config=None, seed=0, split_index=0, epoch=0,
                return_instances=False, **config_kwargs):
    """Compose ``num_scenes`` scenes from a pool of digits (the generator itself).

    Args:
        digit_images: uint8 ``(N, 28, 28)`` digit pool.
        digit_labels: ints ``(N,)`` in 0..9.
        num_scenes: number of scenes (>= 0).
        config: a :class:`SceneConfig`; or give its fields as keyword arguments.
        seed: random seed; the stream is ``default_rng([seed, split_index])``.
        split_index: second seed word, so splits draw independent streams.
        epoch: for scenes drawn anew every epoch: epoch 0 is the stream above,
            epoch ``e > 0`` the stream ``default_rng([seed, split_index, e])``.
        return_instances: also return each digit's scale and a map of which
            digit's pasted box every pixel lies in (the random stream, and so
            the scenes, are the same either way).

    Returns:
        (images uint8 (n, H, W), masks uint8 (n, H, W), digits int32 (n, max_digits))
        where ``digits`` indexes ``digit_images`` (-1: no digit). With
        ``return_instances`` two more arrays: ``scales`` float32 (n, max_digits),
        the resize factor of each digit (NaN: no digit), and ``instances`` uint8
        (n, H, W): ``1 + k`` on the pixels of the pasted box of digit ``k``
        (the later digit where boxes overlap; ink boxes never overlap under
        ``overlap="none"``), 0 outside every box.

    Raises:
        ValueError: bad parameters, an empty pool, or labels outside 0..9.

    Example:
        >>> images, masks, used = make_scenes(x_train, y_train, 100, seed=1)
    """
    if config is None:
        config = SceneConfig(**config_kwargs)
    elif config_kwargs:
        raise ValueError("make_scenes: give either `config` or its fields as keyword arguments, not both.")
    if isinstance(num_scenes, bool) or not isinstance(num_scenes, (int, np.integer)) or num_scenes < 0:
        raise ValueError(f"make_scenes: `num_scenes` must be an int >= 0, got {num_scenes!r}.")
    pool = np.asarray(digit_images)
    labels = np.asarray(digit_labels)
    if pool.ndim != 3 or pool.dtype != np.uint8 or len(pool) == 0:
        raise ValueError(f"make_scenes: the digit pool must be a non-empty uint8 (N, H, W) array, got {pool.dtype} {pool.shape}.")
    if labels.shape != (len(pool),) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise ValueError(f"make_scenes: digit labels must be {len(pool)} ints in 0..9.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"make_scenes: `seed` must be an int >= 0, got {seed!r}.")

    h, w = config.canvas_size
    lo, hi = config.digits_per_image
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ValueError(f"make_scenes: `epoch` must be an int >= 0, got {epoch!r}.")
    words = [int(seed), int(split_index)] + ([int(epoch)] if epoch else [])
    rng = np.random.default_rng(words)
    images = np.zeros((num_scenes, h, w), np.uint8)
    masks = np.zeros((num_scenes, h, w), np.uint8)
    used = np.full((num_scenes, hi), -1, np.int32)
    if return_instances:
        scales = np.full((num_scenes, hi), np.nan, np.float32)
        instances = np.zeros((num_scenes, h, w), np.uint8 if hi < 255 else np.uint16)
    fixed_scale = config.scale_range[0] == config.scale_range[1] == 1.0
    for n in range(num_scenes):
        count = int(rng.integers(lo, hi + 1))
        canvas = images[n]
        owner = np.zeros((h, w), np.int16)  # 1 + index of the digit that owns the pixel, 0: none
        boxes = []
        placed = 0
        for _ in range(count):
            index = int(rng.integers(len(pool)))
            if config.unit_scale_share and rng.uniform() < config.unit_scale_share:
                scale = 1.0  # its own draw only when the share is set: other configurations' scenes stay the same
            else:
                scale = float(rng.uniform(*config.scale_range))
            digit = pool[index] if fixed_scale else resize_bilinear(pool[index], max(1, int(round(28 * scale))))
            size_h, size_w = digit.shape
            ink_rows = np.flatnonzero(digit.any(1))
            ink_cols = np.flatnonzero(digit.any(0))
            for _try in range(_PLACEMENT_TRIES if config.overlap == "none" else 1):
                y = int(rng.integers(h - size_h + 1))
                x = int(rng.integers(w - size_w + 1))
                if config.overlap != "none" or not ink_rows.size:
                    break
                box = (y + ink_rows[0], x + ink_cols[0], y + ink_rows[-1], x + ink_cols[-1])
                if not _boxes_touch(box, boxes):
                    boxes.append(box)
                    break
            else:
                continue  # no room for this digit: leave it out
            region = canvas[y : y + size_h, x : x + size_w]
            region_owner = owner[y : y + size_h, x : x + size_w]
            if config.overlap == "occlude":
                take = digit > 0
            else:  # "max" (ties go to the later digit) and "none" (no overlaps anyway)
                take = (digit >= region) & (digit > 0)
            region[take] = digit[take]
            region_owner[take] = placed + 1
            used[n, placed] = index
            if return_instances:
                scales[n, placed] = size_h / 28.0  # the factor actually applied, after rounding to whole pixels
                instances[n, y : y + size_h, x : x + size_w] = placed + 1
            placed += 1
        digit_class = np.concatenate([[0], labels[used[n, :placed]].astype(np.int16) + 1])
        masks[n] = np.where(canvas >= config.threshold, digit_class[owner], 0)
    if return_instances:
        return images, masks, used, scales, instances
    return images, masks, used


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


def load_scenes_arrays(
    split="train",
    *,
    num_scenes=None,
    source=None,
    data_dir=None,
    download=True,
    seed=0,
    validation_digits=None,
    config=None,
    **config_kwargs,
):
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
    from kerasdil.data.mnist import MnistArrays, load_mnist_arrays

    if split not in SCENE_SPLITS:
        raise ValueError(f"mnist scenes: split must be one of {', '.join(SCENE_SPLITS)}; got {split!r}.")
    if config is None:
        config = SceneConfig(**config_kwargs)
    elif config_kwargs:
        raise ValueError("mnist scenes: give either `config` or its fields as keyword arguments, not both.")
    if num_scenes is None:
        num_scenes = DEFAULT_NUM_SCENES[split]
    arrays = source if isinstance(source, MnistArrays) else load_mnist_arrays(source, data_dir=data_dir, download=download)
    x, y, offset = _split_pool(arrays, split, validation_digits)
    images, masks, used, scales, instances = make_scenes(
        x, y, num_scenes, config=config, seed=seed, split_index=_SPLIT_INDEX[split], return_instances=True)
    used = np.where(used >= 0, used + offset, -1).astype(np.int32)
    label = "the embedded MNIST sample" if arrays.is_sample else arrays.source
    return ScenesArrays(images, masks, used, split, config, int(seed), label, arrays.is_sample, scales, instances)


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
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"segmentation data: batch_size must be an int >= 1, got {batch_size!r}.")
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


def mnist_scenes(
    split="train",
    *,
    batch_size=32,
    num_scenes=None,
    source=None,
    data_dir=None,
    download=True,
    seed=0,
    shuffle=None,
    limit=None,
    validation_digits=None,
    cache=True,
    new_scenes_every_epoch=False,
    first_epoch=0,
    jitter=False,
    config=None,
    **config_kwargs,
):
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
        config / canvas_size, digits_per_image, scale_range, overlap, threshold:
            how scenes look (:class:`SceneConfig`).

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
    if new_scenes_every_epoch:
        return _fresh_scenes_dataset(
            split, num_scenes=num_scenes, batch_size=batch_size, source=source, data_dir=data_dir,
            download=download, seed=seed, validation_digits=validation_digits, first_epoch=first_epoch,
            jitter=bool(jitter), config=config, **config_kwargs,
        )
    arrays = load_scenes_arrays(
        split, num_scenes=num_scenes, source=source, data_dir=data_dir, download=download, seed=seed,
        validation_digits=validation_digits, config=config, **config_kwargs,
    )
    return segmentation_dataset(
        arrays.images, arrays.masks, num_classes=SCENE_NUM_CLASSES, batch_size=batch_size, shuffle=shuffle,
        seed=seed, cache=cache,
    )


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


def _fresh_scenes_dataset(split, *, num_scenes, batch_size, source, data_dir, download, seed, validation_digits,
                          config, first_epoch=0, jitter=False, **config_kwargs):
    """A pipeline that composes new scenes at every pass (see ``mnist_scenes``)."""
    from kerasdil.data.mnist import MnistArrays, load_mnist_arrays

    epochs = SceneEpochs(first_epoch)
    if split not in SCENE_SPLITS:
        raise ValueError(f"mnist scenes: split must be one of {', '.join(SCENE_SPLITS)}; got {split!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"segmentation data: batch_size must be an int >= 1, got {batch_size!r}.")
    if config is None:
        config = SceneConfig(**config_kwargs)
    arrays = source if isinstance(source, MnistArrays) else load_mnist_arrays(source, data_dir=data_dir, download=download)
    x, y, _ = _split_pool(arrays, split, validation_digits)
    h, w = config.canvas_size

    def batches():
        epoch = epochs.take()
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
