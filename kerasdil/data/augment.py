"""Image augmentation for classifier training: random affine, elastic warp and appearance changes.

:func:`augment_batch` draws, per image of a batch, a random rotation, zoom,
translation and shear (:data:`AUGMENTATION`), optionally a smooth elastic
displacement field (Simard et al., 2003), and appearance changes in the order of
a camera or scanner (stroke width, blur, contrast, brightness, fog, a stray line,
sensor noise). Stateless: the same seed gives the same batch. The MNIST pipeline
(:func:`kerasdil.data.mnist`) and the user's image folders
(``kerasdil.data.sources.DataSpec.dataset(augment=...)``) both use it.

Example:
    >>> import tensorflow as tf
    >>> from kerasdil.data.augment import augment_batch
    >>> out = augment_batch(tf.zeros((8, 28, 28, 1)), tf.constant([1, 2]), elastic_alpha=17.0)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Random affine augmentation, drawn independently for every image.
AUGMENTATION = {
    "max_rotation_degrees": 10.0,  # rotation uniform in [-10, 10] degrees
    "max_translation_pixels": 2.0,  # shift uniform in [-2, 2] px, per axis
    "max_zoom": 0.1,  # scale uniform in [0.9, 1.1]
    "max_shear": 0.0,  # horizontal shear (slant) uniform in [-max_shear, max_shear], off by default
    # Elastic distortion (Simard et al., 2003), off by default: a displacement
    # field of uniform noise smoothed by a Gaussian `elastic_sigma` px wide and
    # multiplied by `elastic_alpha` (Simard: 34 and 4 on MNIST). 0 turns it off.
    "elastic_alpha": 0.0,
    "elastic_sigma": 4.0,
    # Appearance changes (off by default), each applied to an image with its own
    # probability and a strength drawn uniformly up to its maximum, after the
    # geometric ones, in the order of a camera or scanner: stroke width, blur,
    # contrast, brightness, fog, a stray line, then sensor noise. They teach a
    # classifier the inputs users meet (kerasdil.data.corrupt measures them).
    "stroke_probability": 0.0,  # thicker (grey dilation) or thinner (erosion) strokes, half each
    "blur_probability": 0.0,  # Gaussian blur (sigma up to max_blur_sigma) or a motion blur, half each
    "max_blur_sigma": 1.5,
    # Motion blur: one of `motion_directions` evenly spaced directions from horizontal
    # (2: horizontal or vertical; 4 adds the diagonals) and an odd length from 5 px up to
    # `max_motion_length` px (5 px only by default).
    "motion_directions": 2.0,
    "max_motion_length": 5.0,
    "contrast_probability": 0.0,  # (x - mean) * c + mean, c in [min_contrast, 1]
    "min_contrast": 0.2,
    "brightness_probability": 0.0,  # x + b, b in [0, max_brightness]
    "max_brightness": 0.5,
    "fog_probability": 0.0,  # smooth random overlay, amplitude up to max_fog
    "max_fog": 0.5,
    "line_probability": 0.0,  # random straight strokes across the image, each with this probability
    "max_lines": 1.0,  # how many strokes may be drawn (each on its own draw)
    "noise_probability": 0.0,  # Gaussian noise, std up to max_noise_std
    "max_noise_std": 0.5,
    "impulse_probability": 0.0,  # salt-and-pepper on up to max_impulse_fraction of the pixels
    "max_impulse_fraction": 0.15,
}

#: The appearance settings of :data:`AUGMENTATION` that are probabilities (at most 1).
APPEARANCE_PROBABILITIES = (
    "stroke_probability", "blur_probability", "contrast_probability", "brightness_probability",
    "fog_probability", "line_probability", "noise_probability", "impulse_probability",
)

def augmentation_settings(augment):
    """Check an ``augment`` argument; return its overrides of :data:`AUGMENTATION`.

    Returns None for False (no augmentation), ``{}`` for True (the defaults) and
    the dict itself for a dict of settings (augmentation on, those changed).

    Raises:
        ValueError: not a bool or dict, an unknown key, or a value that is not a
            number >= 0.
    """
    if augment is None or augment is False:
        return None
    if augment is True:
        return {}
    if not isinstance(augment, Mapping):
        raise ValueError(f"augment must be True, False or a dict of augmentation settings; got {augment!r}.")
    unknown = sorted(set(augment) - set(AUGMENTATION))
    if unknown:
        raise ValueError(
            f"unknown augmentation setting(s) {', '.join(map(repr, unknown))}; the settings are "
            f"{', '.join(AUGMENTATION)}."
        )
    for key, value in augment.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value >= 0:
            raise ValueError(f"augmentation setting {key!r} must be a number >= 0; got {value!r}.")
    if "elastic_sigma" in augment and not augment["elastic_sigma"] > 0:
        raise ValueError(f"augmentation setting 'elastic_sigma' must be > 0; got {augment['elastic_sigma']!r}.")
    for key in APPEARANCE_PROBABILITIES:
        if key in augment and augment[key] > 1:
            raise ValueError(f"augmentation setting {key!r} is a probability (0 to 1); got {augment[key]!r}.")
    if "max_lines" in augment and (augment["max_lines"] < 1 or augment["max_lines"] != int(augment["max_lines"])):
        raise ValueError(f"augmentation setting 'max_lines' must be a whole number >= 1; got {augment['max_lines']!r}.")
    if "motion_directions" in augment and (augment["motion_directions"] < 1
                                           or augment["motion_directions"] != int(augment["motion_directions"])):
        raise ValueError("augmentation setting 'motion_directions' must be a whole number >= 1; "
                         f"got {augment['motion_directions']!r}.")
    if "max_motion_length" in augment and not 5 <= augment["max_motion_length"] <= 27:
        raise ValueError("augmentation setting 'max_motion_length' must be between 5 and 27 px; "
                         f"got {augment['max_motion_length']!r}.")
    if "min_contrast" in augment and augment["min_contrast"] > 1:
        raise ValueError(f"augmentation setting 'min_contrast' must be at most 1; got {augment['min_contrast']!r}.")
    return {key: float(value) for key, value in augment.items()}


def augment_batch(images, seed, **overrides):
    """Apply one random affine (rotation, zoom, translation) per image of a batch.

    Rotation, zoom and shift are drawn per image from :data:`AUGMENTATION`
    (±10°, ±10 %, ±2 px), around the image centre, bilinear, zero (black) fill;
    the result is clipped to [0, 1]. Stateless: the same ``seed`` gives the same
    output. Runs as one ``ImageProjectiveTransformV3`` op per batch.

    With ``elastic_alpha`` > 0 each image is also warped by its own smooth
    random displacement field (Simard et al., 2003: uniform noise smoothed by a
    Gaussian of width ``elastic_sigma``, times ``elastic_alpha``; with the
    default sigma of 4, each axis of the displacement has a standard deviation
    of about 1.3 px at alpha 34 and 0.64 px at alpha 17). The affine and the
    elastic map are composed into one bilinear resampling, a gather per output
    pixel, compiled by XLA where TensorFlow has it (``_compiled_resample``).

    Args:
        images: float32 tensor ``(B, H, W, C)`` in [0, 1].
        seed: int tensor of shape ``(2,)`` (a stateless-random seed).
        **overrides: replace entries of :data:`AUGMENTATION`, e.g.
            ``max_rotation_degrees=0``.

    Returns:
        float32 tensor of the same shape, values in [0, 1].

    Raises:
        KeyError: an override that is not a key of :data:`AUGMENTATION`.

    Example:
        >>> out = augment_batch(tf.zeros([4, 28, 28, 1]), tf.constant([1, 2]))
    """
    import tensorflow as tf

    unknown = set(overrides) - set(AUGMENTATION)
    if unknown:
        raise KeyError(f"unknown augmentation setting(s): {', '.join(sorted(unknown))}")
    config = {**AUGMENTATION, **overrides}
    images = tf.convert_to_tensor(images, tf.float32)
    draws = tf.random.stateless_uniform([tf.shape(images)[0], 4], seed=seed, minval=-1.0, maxval=1.0)
    angle = draws[:, 0] * (config["max_rotation_degrees"] * np.pi / 180.0)
    scale = 1.0 + draws[:, 1] * config["max_zoom"]
    shift_x = draws[:, 2] * config["max_translation_pixels"]
    shift_y = draws[:, 3] * config["max_translation_pixels"]
    shear = None
    if config["max_shear"]:  # its own draw, so the other draws of a seed do not change with it
        shear_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 3)
        shear = tf.random.stateless_uniform([tf.shape(images)[0]], seed=shear_seed, minval=-1.0, maxval=1.0)
        shear = shear * config["max_shear"]
    if config["elastic_alpha"]:
        field_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 1)
        noise, smooth_y, smooth_x = _elastic_noise(images, field_seed, float(config["elastic_alpha"]),
                                                   float(config["elastic_sigma"]))
        coefficients = _affine_coefficients(tf.shape(images), angle, scale, shift_x, shift_y, shear)
        out = (_compiled_resample() or _resample)(images, coefficients, noise, smooth_y, smooth_x)
    else:
        out = tf.clip_by_value(_affine(images, angle, scale, shift_x, shift_y, shear), 0.0, 1.0)
    if any(config[key] for key in APPEARANCE_PROBABILITIES):
        appearance_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 2)
        out = _appearance(out, appearance_seed, config)
    return tf.ensure_shape(out, images.shape)  # keep the static (B, 28, 28, 1) for Keras


def _gaussian_kernel_1d(sigma, radius):
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (taps / taps.sum()).astype(np.float32)


def _separable_blur(images, taps):
    """Blur every channel of ``images`` with the separable kernel ``taps`` (zero padding)."""
    import tensorflow as tf

    channels = images.shape[-1] or 1
    row = tf.tile(tf.constant(taps, tf.float32)[None, :, None, None], [1, 1, channels, 1])
    col = tf.tile(tf.constant(taps, tf.float32)[:, None, None, None], [1, 1, channels, 1])
    out = tf.nn.depthwise_conv2d(images, row, [1, 1, 1, 1], "SAME")
    out = tf.nn.depthwise_conv2d(out, col, [1, 1, 1, 1], "SAME")
    return out


def _motion_blurs(x, directions, longest):
    """``x`` blurred by every motion kernel of the augmentation: each of ``directions``
    evenly spaced angles (from horizontal) at each odd length from 5 to ``longest`` px.
    Horizontal and vertical kernels are exact 1-D box filters."""
    import tensorflow as tf

    from kerasdil.data.corrupt import motion_kernels

    channels = x.shape[-1] or 1
    out = []
    for length in range(5, max(5, longest) + 1, 2):
        box = tf.constant(np.full((length,), 1.0 / length, np.float32))
        for k in range(directions):
            angle = np.pi * k / directions
            if np.isclose(angle, 0.0):
                kernel = box[None, :]
            elif np.isclose(angle, np.pi / 2):
                kernel = box[:, None]
            else:
                kernel = tf.constant(motion_kernels([angle], length)[0])
            kernel = tf.tile(kernel[:, :, None, None], [1, 1, channels, 1])
            out.append(tf.nn.depthwise_conv2d(x, kernel, [1] * 4, "SAME"))
    return out


def _appearance(images, seed, config):
    """The appearance half of ``augment_batch``: stroke width, blur, contrast,
    brightness, fog, a line, noise. Each change hits an image with its probability
    and a strength drawn per image; all draws are stateless from ``seed``."""
    import tensorflow as tf

    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    seeds = iter(tf.unstack(tf.random.stateless_uniform([32, 2], seed=seed, minval=0, maxval=2**31 - 1,
                                                        dtype=tf.int64)))

    def draw(per="image", minval=0.0, maxval=1.0):
        size = [b, 1, 1, 1] if per == "image" else tf.shape(images)
        return tf.random.stateless_uniform(size, seed=next(seeds), minval=minval, maxval=maxval)

    def apply(key, changed, x):
        hit = tf.cast(draw() < config[key], x.dtype)
        return x + hit * (changed - x)

    x = images
    if config["stroke_probability"]:
        thick = tf.nn.max_pool2d(x, 3, 1, "SAME")
        thin = -tf.nn.max_pool2d(-x, 2, 1, "SAME")
        amount = draw()
        changed = tf.where(draw() < 0.5, x + amount * (thick - x), x + amount * (thin - x))
        x = apply("stroke_probability", changed, x)
    if config["blur_probability"]:
        sigma = max(float(config["max_blur_sigma"]), 0.3)
        gaussian = _separable_blur(x, _gaussian_kernel_1d(sigma, int(np.ceil(2 * sigma))))
        kind = draw()
        motions = _motion_blurs(x, int(config["motion_directions"]), int(config["max_motion_length"]))
        # kind < 0.5: Gaussian; the upper half is split evenly over the motion kernels.
        index = tf.clip_by_value(tf.cast(tf.floor((kind - 0.5) * 2.0 * len(motions)), tf.int32), 0, len(motions) - 1)
        pick = tf.one_hot(index[:, 0, 0, 0], len(motions), axis=0)[:, :, None, None, None]
        motion = tf.reduce_sum(tf.stack(motions) * pick, 0)
        blurred = tf.where(kind < 0.5, gaussian, motion)
        x = apply("blur_probability", x + draw() * (blurred - x), x)
    if config["contrast_probability"]:
        mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        c = draw(minval=float(config["min_contrast"]), maxval=1.0)
        x = apply("contrast_probability", (x - mean) * c + mean, x)
    if config["brightness_probability"]:
        x = apply("brightness_probability", x + draw(maxval=float(config["max_brightness"])), x)
    if config["fog_probability"]:
        coarse = tf.random.stateless_uniform(tf.stack([b, 4, 4, shape[3]]), seed=next(seeds))
        fog = tf.image.resize(coarse, tf.stack([h, w]), method="bicubic")
        x = apply("fog_probability", x + draw(maxval=float(config["max_fog"])) * fog, x)
    if config["line_probability"]:
        ys, xs = tf.meshgrid(tf.range(tf.cast(h, tf.float32)), tf.range(tf.cast(w, tf.float32)), indexing="ij")
        line_seeds = tf.random.stateless_uniform([int(config["max_lines"]), 2], seed=next(seeds), minval=0,
                                                 maxval=2**31 - 1, dtype=tf.int64)
        for k in range(int(config["max_lines"])):
            draws = tf.random.stateless_uniform([b, 7], seed=line_seeds[k])
            ends = draws[:, :4] * tf.cast(tf.stack([w, h, w, h]), tf.float32)
            x0, y0, x1, y1 = (ends[:, i, None, None] for i in range(4))
            dx, dy = x1 - x0, y1 - y0
            t = tf.clip_by_value(((xs - x0) * dx + (ys - y0) * dy) / (dx * dx + dy * dy + 1e-6), 0.0, 1.0)
            distance = tf.sqrt((xs - x0 - t * dx) ** 2 + (ys - y0 - t * dy) ** 2)
            width = (0.5 + draws[:, 4])[:, None, None]
            line = tf.clip_by_value(width + 0.5 - distance, 0.0, 1.0)[..., None]
            shade = (0.5 + 0.5 * draws[:, 5])[:, None, None, None]
            hit = tf.cast(draws[:, 6] < config["line_probability"], x.dtype)[:, None, None, None]
            x = x + hit * (tf.maximum(x, line * shade) - x)
    x = tf.clip_by_value(x, 0.0, 1.0)
    if config["noise_probability"]:
        std = draw(maxval=float(config["max_noise_std"]))
        noisy = x + std * tf.random.stateless_normal(tf.shape(x), seed=next(seeds))
        x = apply("noise_probability", tf.clip_by_value(noisy, 0.0, 1.0), x)
    if config["impulse_probability"]:
        fraction = draw(maxval=float(config["max_impulse_fraction"]))
        u = draw(per="pixel")
        salted = tf.where(u < fraction / 2, 0.0, tf.where(u > 1.0 - fraction / 2, 1.0, x))
        x = apply("impulse_probability", salted, x)
    return x


#: Set to False before a pipeline is built to resample without XLA (see ``_compiled_resample``).
XLA_RESAMPLING = True
_COMPILED_RESAMPLE = None


def _resample(images, coefficients, noise=None, smooth_y=None, smooth_x=None):
    """The deterministic part of ``augment_batch``: the elastic field from its noise
    (when given), one bilinear resampling at the composed map, the clip to [0, 1]."""
    import tensorflow as tf

    field = None if noise is None else _smooth(noise, smooth_y, smooth_x)
    return tf.clip_by_value(_warp(images, coefficients, field), 0.0, 1.0)


def _compiled_resample():
    """``_resample`` compiled by XLA, or None where it cannot be (or ``XLA_RESAMPLING`` is off).

    XLA fuses the resampling's ~20 elementwise ops and its gather into one loop:
    on a batch of 128 MNIST images, 0.78 ms for field + resampling + clip against
    2.1 ms op by op, which doubles the elastic pipeline's images/s. (The affine
    alone stays on ``ImageProjectiveTransformV3``: compiled, it was no faster in
    the pipeline.) The random draws stay outside, so the augmentation drawn for a
    seed does not depend on whether XLA is used. Probed once per process,
    eagerly, on a tiny batch.
    """
    global _COMPILED_RESAMPLE
    if not XLA_RESAMPLING:
        return None
    if _COMPILED_RESAMPLE is None:
        import tensorflow as tf

        compiled = tf.function(_resample, jit_compile=True, reduce_retracing=True)
        with tf.init_scope():
            try:
                probe = tf.zeros([1, 4, 4, 1])
                identity = _affine_coefficients(tf.shape(probe), [0.0], [1.0], [0.0], [0.0])
                compiled(probe, identity, tf.zeros([1, 2, 2, 2]), tf.ones([4, 2]), tf.ones([4, 2])).numpy()
                _COMPILED_RESAMPLE = compiled
            except (tf.errors.OpError, NotImplementedError):  # no XLA CPU JIT here: resample op by op
                _COMPILED_RESAMPLE = False
    return _COMPILED_RESAMPLE or None


def _smoothing_matrix(size, sigma):
    """(size, ceil(size / 2)) Gaussian smoothing of a half-resolution noise grid.

    Simard's field smooths full-resolution noise with a Gaussian of width
    ``sigma`` (radius ``3 sigma``, weights summing to 1, zero padding). That
    Gaussian leaves almost nothing above the half-resolution grid's Nyquist
    frequency, so the noise is drawn on a grid of samples at ``2j + 0.5``, a
    quarter as many random numbers, and each row is scaled so that a pixel's
    value has the variance Simard's smoothing gives it.
    """
    radius = int(np.ceil(3.0 * sigma))
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    full = np.exp(-0.5 * (offsets / sigma) ** 2) * (np.abs(offsets) <= radius)
    full /= np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2).sum()
    coarse = 2.0 * np.arange((size + 1) // 2) + 0.5
    weights = np.exp(-0.5 * ((np.arange(size)[:, None] - coarse[None, :]) / sigma) ** 2)
    weights *= np.sqrt((full ** 2).sum(axis=1) / (weights ** 2).sum(axis=1))[:, None]
    return weights.astype(np.float32)


def _elastic_noise(images, seed, alpha, sigma):
    """The random half of an elastic field: ``(noise, smooth_y, smooth_x)``, whose
    ``smooth_y @ noise @ smooth_x.T`` is the (B, 2, H, W) field of (dx, dy) in pixels."""
    import tensorflow as tf

    height, width = images.shape[1], images.shape[2]
    if height is None or width is None:
        raise ValueError(f"elastic augmentation needs a static image height and width; got shape {images.shape}.")
    smooth_y = tf.constant(alpha * _smoothing_matrix(int(height), sigma))
    smooth_x = tf.constant(_smoothing_matrix(int(width), sigma))
    noise = tf.random.stateless_uniform(
        tf.stack([tf.shape(images)[0], 2, smooth_y.shape[1], smooth_x.shape[1]]), seed=seed, minval=-1.0, maxval=1.0
    )
    return noise, smooth_y, smooth_x


def _smooth(noise, smooth_y, smooth_x):
    """The elastic field from ``_elastic_noise``'s parts: (B, 2, H, W) displacements (dx, dy) in pixels."""
    import tensorflow as tf

    return tf.matmul(tf.matmul(smooth_y, noise), smooth_x, transpose_b=True)


def _warp(images, coefficients, field=None):
    """Bilinear resampling (zero fill) at the affine map of (output pixel + field).

    Same sampling rule as ``ImageProjectiveTransformV3`` with BILINEAR and
    CONSTANT 0: with no (or a zero) field it reproduces ``_affine``.
    """
    import tensorflow as tf

    a0, a1, a2, b0, b1, b2 = (c[:, None, None] for c in coefficients)
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    grid_y, grid_x = tf.meshgrid(tf.range(hf), tf.range(wf), indexing="ij")
    x, y = grid_x[None], grid_y[None]
    if field is not None:
        x = x + field[:, 0]
        y = y + field[:, 1]
    src_x = a0 * x + a1 * y + a2
    src_y = b0 * x + b1 * y + b2
    # One gather per output pixel: the image zero-padded by 2 px, each entry holding
    # its 2x2 neighbourhood. Clamping the top-left tap to [-2, size] keeps every
    # sample that falls outside the image reading padding, i.e. zeros.
    x0 = tf.clip_by_value(tf.floor(src_x), -2.0, wf)
    y0 = tf.clip_by_value(tf.floor(src_y), -2.0, hf)
    wx = tf.clip_by_value(src_x - x0, 0.0, 1.0)[..., None]
    wy = tf.clip_by_value(src_y - y0, 0.0, 1.0)[..., None]
    padded = tf.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]])
    quads = tf.concat(
        [padded[:, :-1, :-1], padded[:, :-1, 1:], padded[:, 1:, :-1], padded[:, 1:, 1:]], axis=-1
    )  # (B, H + 3, W + 3, 4 C)
    channels = shape[3]
    row = tf.cast(y0, tf.int32) + 2
    col = tf.cast(x0, tf.int32) + 2
    index = (tf.range(b) * (h + 3) * (w + 3))[:, None, None] + row * (w + 3) + col
    taps = tf.gather(tf.reshape(quads, tf.stack([-1, 4 * channels])), index)
    top_left, top_right, bottom_left, bottom_right = tf.split(taps, 4, axis=-1)
    top = top_left + wx * (top_right - top_left)
    bottom = bottom_left + wx * (bottom_right - bottom_left)
    return top + wy * (bottom - top)


def _affine_coefficients(shape, angle, scale, shift_x, shift_y, shear=None):
    """Inverse-map coefficients (a0, a1, a2, b0, b1, b2), one per image, of the affine
    that shears (x += shear * y), rotates by ``angle`` (radians), scales, then shifts
    (px, +x right, +y down)."""
    import tensorflow as tf

    angle, scale, shift_x, shift_y = (
        tf.cast(tf.convert_to_tensor(v), tf.float32) for v in (angle, scale, shift_x, shift_y)
    )
    # Forward map: out = scale * R(angle) Sh(shear) (in - c) + c + shift. Sampling wants
    # the inverse (output pixel -> input pixel): in = M (out - c - shift) + c, with
    # M = Sh(-shear) R(-angle) / scale.
    cx = (tf.cast(shape[2], tf.float32) - 1.0) / 2.0
    cy = (tf.cast(shape[1], tf.float32) - 1.0) / 2.0
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    a0, a1, b0, b1 = cos, sin, -sin, cos
    if shear is not None:
        shear = tf.cast(tf.convert_to_tensor(shear), tf.float32)
        a0, a1 = cos + shear * sin, sin - shear * cos
    a2 = cx - a0 * (cx + shift_x) - a1 * (cy + shift_y)
    b2 = cy - b0 * (cx + shift_x) - b1 * (cy + shift_y)
    return a0, a1, a2, b0, b1, b2


def _affine(images, angle, scale, shift_x, shift_y, shear=None):
    """Shear, rotate by ``angle`` (radians), scale, then shift (px, +x right, +y down), per image."""
    import tensorflow as tf

    shape = tf.shape(images)
    a0, a1, a2, b0, b1, b2 = _affine_coefficients(shape, angle, scale, shift_x, shift_y, shear)
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
