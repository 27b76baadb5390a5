"""How one MNIST scene is composed: its parameters, digit resizing, photometric jitter, the generator.

The data set built on it (splits, arrays, ``tf.data`` pipelines) is :mod:`kerasdil.data.scenes`,
whose docstring says how a scene is made; every public name here is importable from there too.
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
OVERLAP_POLICIES = ("none", "max", "occlude")
#: How a digit's resize factor is drawn from ``scale_range``: uniformly, or uniformly in log scale
#: (as many digits halve as double their size).
SCALE_LAWS = ("uniform", "log_uniform")
#: Where digits go: anywhere on the canvas ("uniform"), or each digit after the first against an
#: earlier one, boxes overlapping ("cluster", digits that touch and cross).
PLACEMENTS = ("uniform", "cluster")
_PLACEMENT_TRIES = 100
#: Under ``placement="cluster"``: the distance between the centres of a digit's box and its
#: neighbour's, as a share of the distance at which the boxes would just touch.
_CLUSTER_REACH = (0.65, 0.9)
#: The fields that came after the first scenes: recorded only when they differ from these
#: defaults, so records written before them still compare equal.
_LATER_DEFAULTS = {"unit_scale_share": 0.0, "scale_law": "uniform", "placement": "uniform", "border_cut": 0.0,
                   "clutter": (0, 0)}


@dataclasses.dataclass(frozen=True)
class SceneConfig:
    """The parameters that define how scenes look (not how many there are).

    Attributes:
        canvas_size: (height, width) of a scene. Default (64, 80).
        digits_per_image: (min, max) digits per scene, inclusive. Default (1, 3).
        scale_range: (min, max) resize factor of a 28 x 28 digit. Default (1.0, 1.0).
        unit_scale_share: share of the digits kept at scale 1.0, the rest drawn from
            ``scale_range`` (a mix of the standard and the varied scenes). Default 0.
        overlap: "none" (default), "max" or "occlude" (see :mod:`kerasdil.data.scenes`).
        threshold: pixel value (1..255) from which a pixel counts as a stroke. Default 128.
        scale_law: "uniform" (default) or "log_uniform": how the factor is drawn from ``scale_range``.
        placement: "uniform" (default) or "cluster": each digit after the first is placed against
            an earlier one, their boxes overlapping (needs ``overlap`` "max" or "occlude").
        border_cut: share (0..0.5) of a digit's box side that may lie outside the canvas: digits
            cut by the border. Default 0.
        clutter: (min, max) clutter strokes per scene (long lines and arcs drawn beneath the
            digits, labelled background). Default (0, 0).
    """

    canvas_size: Tuple[int, int] = CANVAS_SIZE
    digits_per_image: Tuple[int, int] = (1, 3)
    scale_range: Tuple[float, float] = (1.0, 1.0)
    overlap: str = "none"
    threshold: int = 128
    unit_scale_share: float = 0.0
    scale_law: str = "uniform"
    placement: str = "uniform"
    border_cut: float = 0.0
    clutter: Tuple[int, int] = (0, 0)

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
        self._check_later_fields(pair("clutter", self.clutter, int))
        object.__setattr__(self, "canvas_size", canvas)
        object.__setattr__(self, "digits_per_image", digits)
        object.__setattr__(self, "scale_range", scale)
        object.__setattr__(self, "threshold", int(self.threshold))

    def _check_later_fields(self, clutter):
        for name, choices in (("scale_law", SCALE_LAWS), ("placement", PLACEMENTS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"mnist scenes: `{name}` must be one of {', '.join(choices)}, "
                                 f"got {getattr(self, name)!r}.")
        if self.placement == "cluster" and self.overlap == "none":
            raise ValueError("mnist scenes: placement='cluster' lets digits touch and cross; "
                             "give it overlap='max' or overlap='occlude'.")
        cut = self.border_cut
        if isinstance(cut, bool) or not isinstance(cut, (int, float, np.number)) or not 0 <= cut <= 0.5:
            raise ValueError(f"mnist scenes: `border_cut` must be a number from 0 to 0.5 (the share of a "
                             f"digit's box that may lie outside the canvas), got {cut!r}.")
        if not 0 <= clutter[0] <= clutter[1]:
            raise ValueError(f"mnist scenes: `clutter` must satisfy 0 <= low <= high, got {self.clutter!r}.")
        object.__setattr__(self, "border_cut", float(cut))
        object.__setattr__(self, "clutter", clutter)

    def as_dict(self):
        """JSON-friendly dict of the parameters (the fields added after the first scenes,
        ``unit_scale_share``, ``scale_law``, ``placement``, ``border_cut`` and ``clutter``, only
        when set, so records written before them still compare equal)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()
                if k not in _LATER_DEFAULTS or v != _LATER_DEFAULTS[k]}


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


def draw_clutter(canvas, rng, count_range):
    """Draw clutter strokes into a uint8 ``canvas`` (in place, pixel-wise maximum).

    Each stroke is, with equal odds, a straight line (as long as 0.6-1.0 of the canvas' longer
    side) or an arc (radius 0.3-0.6 of the shorter side, spanning 60-180 degrees), anti-aliased,
    1-3 px wide, at 60-100 % ink: longer and rounder than any digit stroke, so a model can tell
    them apart. Returns the number of strokes drawn.
    """
    h, w = canvas.shape
    count = int(rng.integers(count_range[0], count_range[1] + 1))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(count):
        width, ink = rng.uniform(1.0, 3.0), rng.uniform(0.6, 1.0) * 255
        cy, cx, angle = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0, 2 * np.pi)
        if rng.random() < 0.5:  # a line through (cy, cx)
            half = rng.uniform(0.3, 0.5) * max(h, w)
            dy, dx = np.sin(angle), np.cos(angle)
            along = np.clip((yy - cy) * dy + (xx - cx) * dx, -half, half)
            distance = np.hypot(yy - cy - along * dy, xx - cx - along * dx)
        else:  # an arc of the circle around (cy, cx)
            radius, span = rng.uniform(0.3, 0.6) * min(h, w), rng.uniform(np.pi / 3, np.pi)
            inside = np.mod(np.arctan2(yy - cy, xx - cx) - angle, 2 * np.pi) <= span
            distance = np.where(inside, np.abs(np.hypot(yy - cy, xx - cx) - radius), np.inf)
        stroke = np.clip(width / 2 + 0.5 - distance, 0.0, 1.0) * ink
        np.maximum(canvas, np.rint(stroke).astype(np.uint8), out=canvas)
    return count


def _draw_scale(config, rng):
    if config.unit_scale_share and rng.uniform() < config.unit_scale_share:
        return 1.0  # its own draw only when the share is set: other configurations' scenes stay the same
    low, high = config.scale_range
    if config.scale_law == "log_uniform":
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))
    return float(rng.uniform(low, high))


def _draw_position(config, rng, canvas_size, size, anchors):
    """Top-left corner of a ``size`` (h, w) box: anywhere it fits (less ``border_cut``), or against an anchor box."""
    (h, w), (size_h, size_w) = canvas_size, size
    cut_h, cut_w = int(config.border_cut * size_h), int(config.border_cut * size_w)
    if config.placement == "cluster" and anchors:
        ay, ax, ah, aw = anchors[int(rng.integers(len(anchors)))]
        angle, reach = rng.uniform(0, 2 * np.pi), rng.uniform(*_CLUSTER_REACH)
        dy, dx = np.sin(angle), np.cos(angle)
        step = reach / max(abs(dy), abs(dx))  # to the square's side: boxes overlap by 1 - reach of touching
        y = int(round(ay + ah / 2 + dy * step * (ah + size_h) / 2 - size_h / 2))
        x = int(round(ax + aw / 2 + dx * step * (aw + size_w) / 2 - size_w / 2))
        return min(max(y, -cut_h), h - size_h + cut_h), min(max(x, -cut_w), w - size_w + cut_w)
    if cut_h or cut_w:
        return int(rng.integers(-cut_h, h - size_h + cut_h + 1)), int(rng.integers(-cut_w, w - size_w + cut_w + 1))
    return int(rng.integers(h - size_h + 1)), int(rng.integers(w - size_w + 1))


def _clip_box(canvas_size, y, x, size_h, size_w):
    """(canvas slices, digit slices) of a box at (y, x) cut by the canvas border."""
    h, w = canvas_size
    y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + size_h, h), min(x + size_w, w)
    return (slice(y0, y1), slice(x0, x1)), (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))


def _place_digits(config, pool, rng, count, canvas, owner, used_row, scale_row=None, instance_map=None):
    """Paste ``count`` drawn digits into one scene (in place); returns how many found room."""
    fixed_scale = config.scale_range[0] == config.scale_range[1] == 1.0
    boxes, anchors, placed = [], [], 0
    for _ in range(count):
        index = int(rng.integers(len(pool)))
        scale = _draw_scale(config, rng)
        digit = pool[index] if fixed_scale else resize_bilinear(pool[index], max(1, int(round(28 * scale))))
        size_h, size_w = digit.shape
        ink_rows = np.flatnonzero(digit.any(1))
        ink_cols = np.flatnonzero(digit.any(0))
        for _try in range(_PLACEMENT_TRIES if config.overlap == "none" else 1):
            y, x = _draw_position(config, rng, canvas.shape, digit.shape, anchors)
            if config.overlap != "none" or not ink_rows.size:
                break
            box = (y + ink_rows[0], x + ink_cols[0], y + ink_rows[-1], x + ink_cols[-1])
            if not _boxes_touch(box, boxes):
                boxes.append(box)
                break
        else:
            continue  # no room for this digit: leave it out
        anchors.append((y, x, size_h, size_w))
        where, part = _clip_box(canvas.shape, y, x, size_h, size_w)
        digit = digit[part]
        region, region_owner = canvas[where], owner[where]
        if config.overlap == "occlude":
            take = digit > 0
        else:  # "max" (ties go to the later digit) and "none" (no overlaps anyway)
            take = (digit >= region) & (digit > 0)
        region[take] = digit[take]
        region_owner[take] = placed + 1
        used_row[placed] = index
        if scale_row is not None:
            scale_row[placed] = size_h / 28.0  # the factor actually applied, after rounding to whole pixels
            instance_map[where] = placed + 1
        placed += 1
    return placed


def _check_make_arguments(num_scenes, pool, labels, seed, epoch, stream):
    if isinstance(num_scenes, bool) or not isinstance(num_scenes, (int, np.integer)) or num_scenes < 0:
        raise ValueError(f"make_scenes: `num_scenes` must be an int >= 0, got {num_scenes!r}.")
    if pool.ndim != 3 or pool.dtype != np.uint8 or len(pool) == 0:
        raise ValueError(f"make_scenes: the digit pool must be a non-empty uint8 (N, H, W) array, got {pool.dtype} {pool.shape}.")
    if labels.shape != (len(pool),) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise ValueError(f"make_scenes: digit labels must be {len(pool)} ints in 0..9.")
    for name, value in (("seed", seed), ("epoch", epoch), ("stream", stream)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"make_scenes: `{name}` must be an int >= 0, got {value!r}.")


def make_scenes(digit_images, digit_labels, num_scenes, *, config=None, seed=0, split_index=0, epoch=0,
                return_instances=False, stream=0, **config_kwargs):
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
        stream: a further seed word for a mixture of generators (generator ``k``
            of a mixture draws ``default_rng([seed, split_index, epoch, k])``; 0: none).

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
    pool = np.asarray(digit_images)
    labels = np.asarray(digit_labels)
    _check_make_arguments(num_scenes, pool, labels, seed, epoch, stream)
    h, w = config.canvas_size
    lo, hi = config.digits_per_image
    words = [int(seed), int(split_index)] + ([int(epoch)] if epoch or stream else []) + ([int(stream)] if stream else [])
    rng = np.random.default_rng(words)
    images = np.zeros((num_scenes, h, w), np.uint8)
    masks = np.zeros((num_scenes, h, w), np.uint8)
    used = np.full((num_scenes, hi), -1, np.int32)
    scales = np.full((num_scenes, hi), np.nan, np.float32) if return_instances else None
    instances = np.zeros((num_scenes, h, w), np.uint8 if hi < 255 else np.uint16) if return_instances else None
    for n in range(num_scenes):
        count = int(rng.integers(lo, hi + 1))
        owner = np.zeros((h, w), np.int16)  # 1 + index of the digit that owns the pixel, 0: none
        if config.clutter[1]:
            draw_clutter(images[n], rng, config.clutter)
        placed = _place_digits(config, pool, rng, count, images[n], owner, used[n],
                               *((scales[n], instances[n]) if return_instances else ()))
        digit_class = np.concatenate([[0], labels[used[n, :placed]].astype(np.int16) + 1])
        masks[n] = np.where(images[n] >= config.threshold, digit_class[owner], 0)
    if return_instances:
        return images, masks, used, scales, instances
    return images, masks, used
