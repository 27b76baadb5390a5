"""Image corruptions at five severities, in the style of MNIST-C (Mu and Gilmer, 2019).

``corrupt(images, name, severity, seed=0)`` returns a corrupted copy of a batch of
images: camera and scanner noise, blur, low contrast, other lighting, other
positions and sizes, other pens and marks on the paper. Each corruption has five
severities (1 mild .. 5 strong); every level's parameter is listed below. Written
in numpy and ``scipy.ndimage``; nothing here imports TensorFlow.

Determinism: the same images, name, severity and seed always give the same
output. Every image of a batch gets its own random draws. The draws depend on the
seed and the corruption's name but not on the severity, so severity 5 of an image
is severity 1 of it made stronger (the same Gaussian noise scaled up, the same
direction of shift, the same strokes plus more), and the distance from the clean
image grows with the severity.

Pixel sizes (blur widths, pen widths, elastic displacement) are in pixels and
suit digits about 20 pixels tall, as in MNIST and the kerasdil scenes; shift is a
fraction of the image size. Geometric corruptions fill uncovered pixels with the
image's background (the median of its border pixels, 0 for MNIST). Strokes, spots
and fog are drawn in the foreground value 1.0 (white, like MNIST's digits).

======================  =======================================================  ====================================
name                    what it does                                             parameter per severity 1..5
======================  =======================================================  ====================================
gaussian_noise          add N(0, sigma) to every pixel, clip                      sigma 0.08, 0.12, 0.18, 0.26, 0.38
shot_noise              Poisson photon count: poisson(x * rate) / rate            rate 60, 25, 12, 5, 3
impulse_noise           salt-and-pepper: a fraction p of pixels set to 0 or 1     p 0.03, 0.06, 0.09, 0.17, 0.27
gaussian_blur           Gaussian filter, sigma in pixels                          sigma 0.5, 0.75, 1, 1.4, 1.8
motion_blur             average along a line at a random angle, length in px      length 3, 5, 7, 9, 11
pixelate                average over blocks of this size in px, then enlarge      block 1.5, 2, 2.5, 3, 3.5
contrast                (x - mean) * factor + mean, mean per image                factor 0.5, 0.35, 0.25, 0.15, 0.1
brightness              add a constant, clip                                      offset 0.1, 0.2, 0.3, 0.4, 0.5
fog                     add a smooth random field in [0, a], clip                 a 0.2, 0.3, 0.45, 0.6, 0.75
shift                   move by this fraction of the image size, random direction fraction 0.05, 0.1, 0.15, 0.2, 0.25
rotation                rotate about the centre, random sign, degrees             degrees 10, 20, 30, 40, 50
scale                   enlarge or shrink (random choice) about the centre        factor 1.1, 1.2, 1.3, 1.4, 1.5
shear                   horizontal shear (slant), random sign                     shear 0.1, 0.2, 0.3, 0.4, 0.5
elastic                 smooth random displacement (sigma 4 px), RMS in px        RMS 0.5, 0.9, 1.3, 1.7, 2.1
thick                   soft grey dilation by a disk of this radius in px         radius 1, 1.5, 2, 2.5, 3
thin                    min(x, erosion by a 3x3 cross + slack)                    slack 0.6, 0.45, 0.3, 0.15, 0
lines                   this many straight pen strokes (1.5 px wide) over it      count 1, 2, 3, 4, 5
zigzag                  a random polyline of this many segments (1.5 px wide)     segments 2, 3, 4, 5, 6
spatter                 ink spots covering this fraction of the image             fraction 0.01, 0.02, 0.035, 0.05, 0.07
======================  =======================================================  ====================================

Example:
    >>> from kerasdil.data import corrupt, CORRUPTIONS
    >>> noisy = corrupt(x_test, "gaussian_noise", severity=3, seed=0)   # float32 in [0, 1]
    >>> for name in CORRUPTIONS:
    ...     print(name, model.evaluate(corrupt(x_test, name, 5), y_test, verbose=0))
"""

import zlib
from typing import Iterable, Iterator, Tuple, Union

import numpy as np

from kerasdil.data._corruption_kernels import (  # noqa: F401  (public here)
    _FUNCTIONS,
    CORRUPTION_PARAMETERS,
    motion_kernels,
)

#: Severity levels accepted by :func:`corrupt`.
SEVERITIES = (1, 2, 3, 4, 5)

#: Every corruption name, in the order of the table above.
CORRUPTIONS = tuple(CORRUPTION_PARAMETERS)


# ----------------------------------------------------------------------------- public API


def corrupt(images, name: str, severity: int, seed: int = 0) -> np.ndarray:
    """Return a corrupted copy of a batch of images.

    Args:
        images: a batch shaped ``(N, H, W)`` or ``(N, H, W, C)``, any H, W and C. Floats
            must lie in [0, 1] (as :func:`kerasdil.data.normalize` gives); unsigned or
            signed integers are read as pixels 0..255 and divided by 255 first.
        name: one of :data:`CORRUPTIONS` (see the table in this module's docstring).
        severity: 1 (mild) .. 5 (strong).
        seed: a non-negative integer; the same seed gives the same output.

    Returns:
        float32 array in [0, 1] with the shape of ``images``.

    Raises:
        ValueError: an unknown name or severity, a negative seed, an image batch
            of the wrong rank, float pixels outside [0, 1] or integer pixels
            outside 0..255.

    Example:
        >>> x = corrupt(x_test, "rotation", severity=2, seed=0)
        >>> x.shape == x_test.shape, x.dtype
        (True, dtype('float32'))
    """
    name = _check_name(name)
    severity = _check_severity(severity)
    seed = _check_seed(seed)
    x, squeeze = _as_batch(images)
    if x.shape[0] == 0:
        return x[..., 0] if squeeze else x
    value = CORRUPTION_PARAMETERS[name][1][severity - 1]
    # The stream depends on the name, not the severity: the levels share their draws.
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    out = _FUNCTIONS[name](x, value, rng)
    out = np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
    return out[..., 0] if squeeze else out


def resolve_corruptions(corruptions: Union[str, Iterable[str]] = "all") -> Tuple[str, ...]:
    """Turn ``"all"``, a comma-separated string or a list of names into a tuple of names.

    Args:
        corruptions: ``"all"``, e.g. ``"gaussian_noise,shift"``, or a list of names.

    Returns:
        The names in the order given (``"all"``: :data:`CORRUPTIONS`), duplicates removed.

    Raises:
        ValueError: an unknown name or an empty selection.

    Example:
        >>> resolve_corruptions("gaussian_noise, shift")
        ('gaussian_noise', 'shift')
    """
    if isinstance(corruptions, str):
        if corruptions.strip() == "all":
            return CORRUPTIONS
        corruptions = [c.strip() for c in corruptions.split(",") if c.strip()]
    names = tuple(dict.fromkeys(_check_name(c) for c in corruptions))
    if not names:
        raise ValueError(f"no corruption named; choose 'all' or names from: {', '.join(CORRUPTIONS)}.")
    return names


def resolve_severities(severities: Union[str, int, Iterable[int]] = SEVERITIES) -> Tuple[int, ...]:
    """Turn ``"1,3,5"``, one integer or a list of integers into a sorted tuple of severities.

    Raises:
        ValueError: a severity outside 1..5 or an empty selection.

    Example:
        >>> resolve_severities("5,1")
        (1, 5)
    """
    if isinstance(severities, str):
        parts = [s.strip() for s in severities.split(",") if s.strip()]
        try:
            severities = [int(s) for s in parts]
        except ValueError:
            raise ValueError(f"severities must be integers from 1 to 5 separated by commas; got {','.join(parts)!r}.") from None
    elif isinstance(severities, (int, np.integer)) and not isinstance(severities, bool):
        severities = [severities]
    levels = tuple(sorted({_check_severity(s) for s in severities}))
    if not levels:
        raise ValueError("no severity named; choose from 1, 2, 3, 4, 5.")
    return levels


def iter_corruptions(images, corruptions="all", severities=SEVERITIES, seed: int = 0
                     ) -> Iterator[Tuple[str, int, np.ndarray]]:
    """Yield ``(name, severity, corrupted_images)`` for every selected corruption and severity.

    Names and severities are checked before the first image is corrupted, so a typo
    fails at once rather than after minutes of work.

    Args:
        images: as for :func:`corrupt`.
        corruptions: ``"all"``, a comma-separated string or a list of names.
        severities: a list of levels 1..5 or a string such as ``"1,3,5"``.
        seed: as for :func:`corrupt`.

    Raises:
        ValueError: as for :func:`corrupt`.

    Example:
        >>> for name, severity, x in iter_corruptions(x_test, "shift,rotation", (1, 5)):
        ...     print(name, severity, model.evaluate(x, y_test, verbose=0))
    """
    names = resolve_corruptions(corruptions)
    levels = resolve_severities(severities)
    seed = _check_seed(seed)
    _as_batch(images)  # a bad batch fails before the generator is first advanced
    return _iterate(images, names, levels, seed)


def _iterate(images, names, levels, seed):
    for name in names:
        for severity in levels:
            yield name, severity, corrupt(images, name, severity, seed)


def describe_corruption(name: str, severity: int) -> str:
    """``"gaussian_noise sigma=0.26"``: the name and the parameter value at ``severity``."""
    name = _check_name(name)
    label, values = CORRUPTION_PARAMETERS[name]
    return f"{name} {label}={values[_check_severity(severity) - 1]}"


# ----------------------------------------------------------------------------- checks


def _check_name(name):
    if not isinstance(name, str) or name not in CORRUPTION_PARAMETERS:
        raise ValueError(f"unknown corruption {name!r}; choose from: {', '.join(CORRUPTIONS)}.")
    return name


def _check_severity(severity):
    if isinstance(severity, (bool, np.bool_)) or not isinstance(severity, (int, np.integer)) or not 1 <= severity <= 5:
        raise ValueError(f"severity must be an integer from 1 to 5; got {severity!r}.")
    return int(severity)


def _check_seed(seed):
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}.")
    return int(seed)


def _as_batch(images):
    """-> (float32 (N, H, W, C) copy in [0, 1], True when the input had no channel axis)."""
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"corrupt() expects a batch of images shaped (N, H, W) or (N, H, W, C); got shape {x.shape} "
            "(for one image pass images[None])."
        )
    if x.dtype == np.bool_ or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"corrupt() expects float pixels in [0, 1] or integer pixels 0..255; got dtype {x.dtype}.")
    if np.issubdtype(x.dtype, np.integer):
        if x.size and (int(x.min()) < 0 or int(x.max()) > 255):
            raise ValueError(f"integer images must hold pixels 0..255; got {int(x.min())}..{int(x.max())}.")
        x = x.astype(np.float32) / np.float32(255.0)
    else:
        if x.size and not np.isfinite(x).all():
            raise ValueError("corrupt() got NaN or infinite pixels; pass float images in [0, 1].")
        lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if lo < -1e-6 or hi > 1.0 + 1e-6:
            hint = " (they look like 0..255: divide by 255 or pass uint8)" if hi > 1.5 else ""
            raise ValueError(f"float images must lie in [0, 1]; got {lo:.4g}..{hi:.4g}{hint}.")
        x = np.clip(x.astype(np.float32), 0.0, 1.0)
    squeeze = x.ndim == 3
    return (x[..., None] if squeeze else x), squeeze


assert set(_FUNCTIONS) == set(CORRUPTION_PARAMETERS)
