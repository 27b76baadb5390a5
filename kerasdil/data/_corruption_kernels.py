"""The image corruptions themselves: one numpy / ``scipy.ndimage`` function per name.

Each takes a float32 batch ``(N, H, W, C)`` in [0, 1], the parameter value of the chosen
severity and a ``numpy.random.Generator``, and returns the corrupted batch (clipped by the
caller). The names, their severity tables and the checks are :mod:`kerasdil.data.corrupt`.
"""

import numpy as np

_PEN_WIDTH = 1.5  # pixels: a ballpoint line on a 20-pixel digit
_ELASTIC_SIGMA = 4.0  # pixels: smoothness of the elastic displacement field
_FOG_GRIDS = ((2, 1.0), (4, 0.5), (8, 0.25))  # (cells per side, weight): low frequencies only
_SPATTER_SIGMA = 1.2  # pixels: size of an ink spot


# ----------------------------------------------------------------------------- helpers


#: name -> (parameter name, its value at severities 1..5). kerasdil.data.corrupt's docstring table
#: shows the same values (a test keeps the two equal).
CORRUPTION_PARAMETERS = {
    "gaussian_noise": ("sigma", (0.08, 0.12, 0.18, 0.26, 0.38)),
    "shot_noise": ("rate", (60, 25, 12, 5, 3)),
    "impulse_noise": ("p", (0.03, 0.06, 0.09, 0.17, 0.27)),
    "gaussian_blur": ("sigma", (0.5, 0.75, 1, 1.4, 1.8)),
    "motion_blur": ("length", (3, 5, 7, 9, 11)),
    "pixelate": ("block", (1.5, 2, 2.5, 3, 3.5)),
    "contrast": ("factor", (0.5, 0.35, 0.25, 0.15, 0.1)),
    "brightness": ("offset", (0.1, 0.2, 0.3, 0.4, 0.5)),
    "fog": ("a", (0.2, 0.3, 0.45, 0.6, 0.75)),
    "shift": ("fraction", (0.05, 0.1, 0.15, 0.2, 0.25)),
    "rotation": ("degrees", (10, 20, 30, 40, 50)),
    "scale": ("factor", (1.1, 1.2, 1.3, 1.4, 1.5)),
    "shear": ("shear", (0.1, 0.2, 0.3, 0.4, 0.5)),
    "elastic": ("RMS", (0.5, 0.9, 1.3, 1.7, 2.1)),
    "thick": ("radius", (1, 1.5, 2, 2.5, 3)),
    "thin": ("slack", (0.6, 0.45, 0.3, 0.15, 0)),
    "lines": ("count", (1, 2, 3, 4, 5)),
    "zigzag": ("segments", (2, 3, 4, 5, 6)),
    "spatter": ("fraction", (0.01, 0.02, 0.035, 0.05, 0.07)),
}


def _background(x):
    """Per image and channel: the median of the border pixels, shaped (N, 1, 1, C)."""
    border = np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1)  # (N, 2H+2W, C)
    return np.median(border, axis=1)[:, None, None, :].astype(np.float32)


def _bilinear(x, src_y, src_x, fill):
    """Sample ``x`` (N, H, W, C) at source coordinates (N, H, W); outside the image: ``fill``."""
    n, h, w, c = x.shape
    padded = np.empty((n, h + 2, w + 2, c), np.float32)
    padded[:] = fill
    padded[:, 1:-1, 1:-1] = x
    flat = padded.reshape(n * (h + 2) * (w + 2), c)
    sy = np.clip(np.asarray(src_y, np.float32) + 1.0, 0.0, h + 1.0)
    sx = np.clip(np.asarray(src_x, np.float32) + 1.0, 0.0, w + 1.0)
    y0 = np.minimum(sy.astype(np.intp), h)  # floor: sy >= 0
    x0 = np.minimum(sx.astype(np.intp), w)
    wy = (sy - y0)[..., None]
    wx = (sx - x0)[..., None]
    base = (np.arange(n) * (h + 2) * (w + 2))[:, None, None] + y0 * (w + 2) + x0
    top = flat[base] * (1 - wx) + flat[base + 1] * wx
    bottom = flat[base + w + 2] * (1 - wx) + flat[base + w + 3] * wx
    return top * (1 - wy) + bottom * wy


def _grid(h, w):
    yy, xx = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    return yy, xx


def _affine(x, matrices, shifts=None):
    """Apply per-image 2x2 ``matrices`` (on (y, x) about the centre) and ``shifts`` (N, 2) in px."""
    n, h, w, _ = x.shape
    yy, xx = _grid(h, w)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    py, px = yy - cy, xx - cx
    if shifts is not None:
        py = py[None] - shifts[:, 0, None, None]
        px = px[None] - shifts[:, 1, None, None]
    else:
        py, px = py[None], px[None]
    inv = np.linalg.inv(matrices)  # output pixel -> source pixel
    src_y = inv[:, 0, 0, None, None] * py + inv[:, 0, 1, None, None] * px + cy
    src_x = inv[:, 1, 0, None, None] * py + inv[:, 1, 1, None, None] * px + cx
    return _bilinear(x, src_y, src_x, _background(x))


def _signs(rng, n):
    return rng.choice(np.array([-1.0, 1.0]), size=n)


def _interpolation_matrix(size, cells):
    """(size, cells + 1) linear interpolation from a coarse grid spanning the image."""
    pos = np.linspace(0.0, cells, size)
    lo = np.minimum(np.floor(pos).astype(int), cells - 1)
    frac = pos - lo
    m = np.zeros((size, cells + 1))
    m[np.arange(size), lo] = 1 - frac
    m[np.arange(size), lo + 1] += frac
    return m


def _segment_distance(yy, xx, a, b):
    """Distance from every pixel (H, W) to segments a->b given per image as (N, 2) arrays."""
    d = b - a
    length2 = np.maximum((d ** 2).sum(-1), 1e-12)[:, None, None]
    py = yy[None] - a[:, 0, None, None]
    px = xx[None] - a[:, 1, None, None]
    t = np.clip((py * d[:, 0, None, None] + px * d[:, 1, None, None]) / length2, 0.0, 1.0)
    return np.hypot(py - t * d[:, 0, None, None], px - t * d[:, 1, None, None])


def _pen(distance):
    """Antialiased stroke of width _PEN_WIDTH from a distance map: 1 inside, linear 1-px edge."""
    return np.clip(_PEN_WIDTH / 2 + 0.5 - distance, 0.0, 1.0).astype(np.float32)


def _most(name):
    """The parameter at the strongest severity: every level draws that many strokes, so the levels share draws."""
    return CORRUPTION_PARAMETERS[name][1][-1]


def _draw(x, strokes):
    """Ink (N, H, W) in [0, 1] drawn over x in the foreground value 1."""
    ink = strokes[..., None]
    return x * (1 - ink) + ink


# ----------------------------------------------------------------------------- noise


def _gaussian_noise(x, sigma, rng):
    noise = rng.standard_normal(x.shape, dtype=np.float32)
    return x + np.float32(sigma) * noise


def _shot_noise(x, rate, rng):
    return rng.poisson(x * rate).astype(np.float32) / np.float32(rate)


def _impulse_noise(x, p, rng):
    u = rng.random(x.shape, dtype=np.float32)
    salt = rng.random(x.shape, dtype=np.float32) < 0.5
    hit = u < p  # a larger p hits a superset of the pixels hit at a smaller one
    return np.where(hit, salt.astype(np.float32), x)


# ----------------------------------------------------------------------------- blur


def _gaussian_blur(x, sigma, rng):
    from scipy import ndimage

    return ndimage.gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="nearest", truncate=3.0)


def motion_kernels(angles, length):
    """(N, K, K) line kernels ``length`` px long at the given angles (radians), K = length rounded up to odd.

    Each kernel averages along a segment through its centre (bilinear weights, summing to 1).
    ``corrupt(..., "motion_blur")`` draws a random angle per image; the training
    augmentation (``blur_probability`` with ``motion_directions``) uses evenly spaced ones.
    """
    angle = np.asarray(angles, np.float64).reshape(-1)
    n = angle.size
    size = int(length) | 1
    t = np.linspace(-(length - 1) / 2.0, (length - 1) / 2.0, 8 * size)
    cy = cx = (size - 1) / 2.0
    py = cy + t[None] * np.sin(angle)[:, None]
    px = cx + t[None] * np.cos(angle)[:, None]
    kernels = np.zeros((n, size, size))
    y0, x0 = np.floor(py).astype(int), np.floor(px).astype(int)
    wy, wx = py - y0, px - x0
    rows = np.repeat(np.arange(n), t.size)
    for dy, dx, weight in ((0, 0, (1 - wy) * (1 - wx)), (1, 0, wy * (1 - wx)), (0, 1, (1 - wy) * wx), (1, 1, wy * wx)):
        yi, xi = np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)
        np.add.at(kernels, (rows, yi.ravel(), xi.ravel()), weight.ravel())
    return (kernels / kernels.sum(axis=(1, 2), keepdims=True)).astype(np.float32)


def _motion_blur(x, length, rng):
    n, h, w, _ = x.shape
    kernels = motion_kernels(rng.uniform(0.0, np.pi, size=n), length)
    size = kernels.shape[1]
    r = size // 2
    padded = np.pad(x, ((0, 0), (r, r), (r, r), (0, 0)), mode="edge")
    out = np.zeros_like(x)
    for u in range(size):
        for v in range(size):
            k = kernels[:, u, v]
            if k.any():
                out += k[:, None, None, None] * padded[:, u:u + h, v:v + w]
    return out


def _pixelate(x, block, rng):
    n, h, w, _ = x.shape

    def matrix(size):
        small = max(1, int(round(size / block)))
        edges = np.linspace(0.0, size, small + 1)  # block boundaries in source pixels
        lo, hi = edges[:-1, None], edges[1:, None]
        pix = np.arange(size)[None]
        overlap = np.clip(np.minimum(hi, pix + 1) - np.maximum(lo, pix), 0, None)  # (small, size)
        down = overlap / overlap.sum(1, keepdims=True)
        owner = np.minimum((np.arange(size) + 0.5) * small / size, small - 1).astype(int)
        return down[owner].astype(np.float32)  # (size, size): block average, shown blockwise

    return np.einsum("ij,njkc,lk->nilc", matrix(h), x, matrix(w), optimize=True)


# ----------------------------------------------------------------------------- light


def _contrast(x, factor, rng):
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return (x - mean) * np.float32(factor) + mean


def _brightness(x, offset, rng):
    return x + np.float32(offset)


def _fog(x, a, rng):
    n, h, w, _ = x.shape
    field = np.zeros((n, h, w))
    for cells, weight in _FOG_GRIDS:
        coarse = rng.random((n, cells + 1, cells + 1))
        field += weight * np.einsum("ij,njk,lk->nil", _interpolation_matrix(h, cells), coarse,
                                    _interpolation_matrix(w, cells), optimize=True)
    lo = field.min(axis=(1, 2), keepdims=True)
    hi = field.max(axis=(1, 2), keepdims=True)
    field = (field - lo) / np.maximum(hi - lo, 1e-12)
    return x + np.float32(a) * field[..., None].astype(np.float32)


# ----------------------------------------------------------------------------- geometry


def _shift(x, fraction, rng):
    n, h, w, _ = x.shape
    angle = rng.uniform(0.0, 2 * np.pi, size=n)
    shifts = np.stack([np.sin(angle) * fraction * h, np.cos(angle) * fraction * w], axis=1)
    return _affine(x, np.broadcast_to(np.eye(2), (n, 2, 2)), shifts)


def _rotation(x, degrees, rng):
    theta = np.deg2rad(degrees) * _signs(rng, x.shape[0])
    c, s = np.cos(theta), np.sin(theta)
    return _affine(x, np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], 1))


def _scale(x, factor, rng):
    n = x.shape[0]
    f = factor ** _signs(rng, n)  # enlarge or shrink, one each per image at random
    return _affine(x, f[:, None, None] * np.eye(2)[None])


def _shear(x, shear, rng):
    n = x.shape[0]
    matrices = np.broadcast_to(np.eye(2), (n, 2, 2)).copy()
    matrices[:, 1, 0] = shear * _signs(rng, n)  # x += k * y: a slant, as in italic handwriting
    return _affine(x, matrices)


def _elastic(x, rms, rng):
    from scipy import ndimage

    n, h, w, _ = x.shape
    field = rng.uniform(-1.0, 1.0, size=(2, n, h, w))
    field = ndimage.gaussian_filter(field, sigma=(0, 0, _ELASTIC_SIGMA, _ELASTIC_SIGMA), mode="reflect")
    norm = np.sqrt((field ** 2).sum(0).mean(axis=(1, 2), keepdims=True))
    field *= rms / np.maximum(norm, 1e-12)  # every image moves by the same RMS distance
    yy, xx = _grid(h, w)
    return _bilinear(x, yy[None] + field[0], xx[None] + field[1], _background(x))


# ----------------------------------------------------------------------------- pens and marks


def _disk(radius):
    r = int(np.floor(radius))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return (yy ** 2 + xx ** 2) <= radius ** 2 + 1e-9


def _thick(x, radius, rng):
    n, h, w, _ = x.shape
    r = int(np.ceil(radius))
    padded = np.pad(x, ((0, 0), (r, r), (r, r), (0, 0)), mode="edge")
    out = x.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            # A neighbour's ink reaches a pixel with a weight falling from 1 to 0 over the
            # last pixel of the radius, so thickness grows smoothly with the radius.
            weight = float(np.clip(radius + 0.5 - np.hypot(dy, dx), 0.0, 1.0))
            if weight > 0 and (dy or dx):
                np.maximum(out, weight * padded[:, r + dy:r + dy + h, r + dx:r + dx + w], out=out)
    return out


def _thin(x, slack, rng):
    from scipy import ndimage

    eroded = ndimage.grey_erosion(x, footprint=_disk(1.0)[None, :, :, None], mode="nearest")
    # A pixel keeps at most its darkest neighbour + slack: stroke edges fade first.
    return np.minimum(x, eroded + np.float32(slack))


def _lines(x, count, rng):
    n, h, w, _ = x.shape
    most = _most("lines")
    # Long strokes through a random point of the middle of the image, at a random angle.
    centre = rng.uniform(0.2, 0.8, size=(most, n, 2)) * np.array([h - 1, w - 1])
    angle = rng.uniform(0.0, np.pi, size=(most, n))
    half = rng.uniform(0.3, 0.6, size=(most, n)) * max(h, w)
    direction = np.stack([np.sin(angle), np.cos(angle)], -1)
    yy, xx = _grid(h, w)
    ink = np.zeros((n, h, w), np.float32)
    for i in range(int(count)):
        a = centre[i] - half[i, :, None] * direction[i]
        b = centre[i] + half[i, :, None] * direction[i]
        ink = np.maximum(ink, _pen(_segment_distance(yy, xx, a, b)))
    return _draw(x, ink)


def _zigzag(x, segments, rng):
    n, h, w, _ = x.shape
    most = _most("zigzag")
    vertices = rng.uniform(0.1, 0.9, size=(most + 1, n, 2)) * np.array([h - 1, w - 1])
    yy, xx = _grid(h, w)
    ink = np.zeros((n, h, w), np.float32)
    for i in range(int(segments)):
        ink = np.maximum(ink, _pen(_segment_distance(yy, xx, vertices[i], vertices[i + 1])))
    return _draw(x, ink)


def _spatter(x, fraction, rng):
    from scipy import ndimage

    n, h, w, _ = x.shape
    field = ndimage.gaussian_filter(rng.standard_normal((n, h, w)), sigma=(0, _SPATTER_SIGMA, _SPATTER_SIGMA),
                                    mode="wrap")
    field /= field.std(axis=(1, 2), keepdims=True) + 1e-12
    threshold = np.quantile(field, 1.0 - fraction, axis=(1, 2))[:, None, None]
    # Soft spot edges (0.25 std wide); a smaller fraction's spots lie inside a larger one's.
    ink = np.clip((field - threshold) / 0.25 + 0.5, 0.0, 1.0).astype(np.float32)
    return _draw(x, ink)


_FUNCTIONS = {
    "gaussian_noise": _gaussian_noise,
    "shot_noise": _shot_noise,
    "impulse_noise": _impulse_noise,
    "gaussian_blur": _gaussian_blur,
    "motion_blur": _motion_blur,
    "pixelate": _pixelate,
    "contrast": _contrast,
    "brightness": _brightness,
    "fog": _fog,
    "shift": _shift,
    "rotation": _rotation,
    "scale": _scale,
    "shear": _shear,
    "elastic": _elastic,
    "thick": _thick,
    "thin": _thin,
    "lines": _lines,
    "zigzag": _zigzag,
    "spatter": _spatter,
}
