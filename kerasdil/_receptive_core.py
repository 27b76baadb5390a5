"""Receptive-field geometry: LayerSpec, per-axis coverage and receptive_field().

Pure Python and numpy (no TensorFlow, no Keras). The geometry is described in
the docstring of :mod:`kerasdil.receptive`, which re-exports the public names.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from fractions import Fraction
from typing import Sequence, Tuple, Union

import numpy as np

IntOrPair = Union[int, Tuple[int, int]]

# Axis names used in reports, in (h, w) order.
AXES = ("rows", "columns")


# ---------------------------------------------------------------------------
# validation helpers


def _is_int(value) -> bool:
    # bool is an int subclass, but True as a kernel size is always a mistake.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def int_pair(value, is_int=_is_int):
    """``value`` as an (h, w) tuple when it is one int or a pair of ints (``is_int`` says what is one), else None."""
    if is_int(value):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(is_int(v) for v in value):
        return tuple(value)
    return None


def _pair(value, what: str) -> Tuple[int, int]:
    """Return ``value`` as an (h, w) pair of positive ints or raise ValueError."""
    items = int_pair(value)
    if items is None or any(v < 1 for v in items):
        raise ValueError(
            f"{what} must be a positive int or an (h, w) pair of positive ints, got {value!r}."
        )
    return (int(items[0]), int(items[1]))


def _stride_pair(value, what: str) -> Tuple:
    """Return ``value`` as an (h, w) pair of strides: ints >= 1, or 1/u for an upsampling by u."""

    def one(v):
        if _is_int(v) and v >= 1:
            return int(v)
        if isinstance(v, Fraction) and v > 0 and (v.numerator == 1 or v.denominator == 1):
            return int(v) if v.denominator == 1 else v
        raise ValueError

    items = tuple(value) if isinstance(value, (tuple, list)) and len(value) == 2 else (value, value)
    try:
        return (one(items[0]), one(items[1]))
    except ValueError:
        raise ValueError(
            f"{what} must be a positive int, 1/u (fractions.Fraction(1, u), an upsampling by u) "
            f"or an (h, w) pair of them, got {value!r}."
        ) from None


def _schedule(dilation_schedule) -> Tuple[int, ...]:
    """Validate a dilation schedule: a non-empty sequence of positive ints."""
    if isinstance(dilation_schedule, (str, bytes)) or not isinstance(dilation_schedule, Sequence):
        if isinstance(dilation_schedule, np.ndarray) and dilation_schedule.ndim == 1:
            dilation_schedule = dilation_schedule.tolist()
        else:
            raise ValueError(
                "dilation_schedule must be a non-empty sequence of positive ints such as (1, 2, 5), "
                f"got {dilation_schedule!r}."
            )
    if len(dilation_schedule) == 0:
        raise ValueError(
            "dilation_schedule must be a non-empty sequence of positive ints such as (1, 2, 5), got an empty one."
        )
    for position, rate in enumerate(dilation_schedule, start=1):
        if not _is_int(rate) or rate < 1:
            raise ValueError(
                f"dilation_schedule must contain positive ints, got {rate!r} at position {position} "
                f"of {tuple(dilation_schedule)!r}."
            )
    return tuple(int(r) for r in dilation_schedule)


# ---------------------------------------------------------------------------
# layer description


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One spatial layer as far as the receptive field is concerned.

    Fields are given as an int or an ``(h, w)`` pair and stored as ``(h, w)``
    tuples, so ``LayerSpec(3) == LayerSpec((3, 3), (1, 1), (1, 1))``.

    Args:
        kernel: kernel (or pool) size, >= 1; for an upsampling, the number of
            input pixels one output pixel interpolates from (1 nearest,
            2 bilinear, 4 bicubic).
        stride: stride, >= 1, or ``fractions.Fraction(1, u)`` for an upsampling
            by ``u`` (see the module docstring).
        dilation: dilation rate, >= 1; 1 with a fractional stride.

    Raises:
        ValueError: a field is not a positive int or a pair of positive ints
            (strides: or 1/u), or an upsampling axis has a dilation.

    Example:
        >>> LayerSpec(3, dilation=2).dilation
        (2, 2)
        >>> LayerSpec(2, stride=Fraction(1, 4))  # bilinear upsampling by 4
        LayerSpec(kernel=(2, 2), stride=(Fraction(1, 4), Fraction(1, 4)), dilation=(1, 1))
    """

    kernel: IntOrPair
    stride: IntOrPair = 1
    dilation: IntOrPair = 1

    def __post_init__(self):
        # Frozen dataclass: normalise through object.__setattr__ once, at creation.
        object.__setattr__(self, "kernel", _pair(self.kernel, "LayerSpec kernel"))
        object.__setattr__(self, "stride", _stride_pair(self.stride, "LayerSpec stride"))
        object.__setattr__(self, "dilation", _pair(self.dilation, "LayerSpec dilation"))
        for s, d in zip(self.stride, self.dilation):
            if isinstance(s, Fraction) and d != 1:
                raise ValueError(
                    f"LayerSpec dilation must be 1 on an upsampling axis (stride {s}), got {self.dilation!r}."
                )


def _as_spec(layer) -> LayerSpec:
    if isinstance(layer, LayerSpec):
        return layer
    if isinstance(layer, (tuple, list)) and 1 <= len(layer) <= 3:
        return LayerSpec(*layer)
    raise ValueError(
        f"layers must hold LayerSpec objects or (kernel, stride, dilation) tuples, got {layer!r}."
    )


# ---------------------------------------------------------------------------
# coverage


def _coverage_1d(kernels, strides, dilations, dtype):
    """1-D path counts of a chain; returns (coverage, origin index, effective stride)."""
    coverage = np.ones(1, dtype=dtype)
    jump = 1  # spacing, in input pixels, of one step at the current layer's input
    origin = 0
    for k, s, d in zip(kernels, strides, dilations):
        if k > 1:
            step = jump * d
            wider = np.zeros(coverage.size + (k - 1) * step, dtype=dtype)
            for j in range(k):
                wider[j * step : j * step + coverage.size] += coverage
            coverage = wider
            origin += jump * (((k - 1) * d) // 2)
        jump *= s
    return coverage, origin, jump


def _upsampling_taps(p: int, k: int, u: int) -> Tuple[int, int]:
    """First and last input pixel that output pixel ``p`` of a ``k``-tap upsampling by ``u`` reads."""
    # The sample point is x = (p + 0.5) / u - 0.5 = num / (2u), in input pixel units.
    num = 2 * p + 1 - u
    if k % 2 == 0 and num % (2 * u) == 0:
        return num // (2 * u), num // (2 * u)  # on a pixel: the interpolation reads that pixel only
    first = (num + u * (2 - k)) // (2 * u)  # floor(x + 1 - k / 2)
    return first, first + k - 1


def _period(strides) -> int:
    """Output positions after which a chain's tap pattern repeats (1 without upsampling)."""
    partial, period = Fraction(1), 1
    for s in reversed(strides):
        partial *= s
        period = math.lcm(period, partial.denominator)
    return period


def _backward_1d(kernels, strides, dilations, position, dtype):
    """Path counts over input pixels for the output unit at ``position`` (1-D), walking
    from the output back to the input; returns (coverage, index of its first input pixel)."""
    coverage = np.ones(1, dtype=dtype)
    low = position  # map position of coverage[0]
    for k, s, d in reversed(tuple(zip(kernels, strides, dilations))):
        n = coverage.size
        if isinstance(s, Fraction):
            u = s.denominator
            taps = [_upsampling_taps(p, k, u) for p in range(low, low + n)]
            new_low = taps[0][0]
            wider = np.zeros(taps[-1][1] - new_low + 1, dtype=dtype)
            for count, (first, last) in zip(coverage, taps):
                wider[first - new_low : last - new_low + 1] += count
        else:
            new_low = low * s - ((k - 1) * d) // 2
            wider = np.zeros((n - 1) * s + (k - 1) * d + 1, dtype=dtype)
            for j in range(k):
                wider[j * d : j * d + (n - 1) * s + 1 : s] += coverage
        coverage, low = wider, new_low
    return coverage, low


def _coverage_1d_upsampling(kernels, strides, dilations, dtype):
    """Like :func:`_coverage_1d` for a chain with fractional strides: the output unit
    (position modulo the period) with the widest field, then the most touched pixels.

    Returns (coverage, origin index, effective stride, output position)."""
    stride = Fraction(1)
    for s in strides:
        stride *= s
    best = None
    for position in range(_period(strides)):
        coverage, low = _backward_1d(kernels, strides, dilations, position, dtype)
        key = (coverage.size, int(np.count_nonzero(coverage)))
        if best is None or key > best[0]:
            origin = math.floor(position * stride) - low
            best = (key, coverage, origin, position)
    _, coverage, origin, position = best
    return coverage, origin, int(stride) if stride.denominator == 1 else stride, position


def _axis_extent(kernels, strides, dilations) -> int:
    """Size of the field along one axis, without coverage (the widest output unit)."""
    if not any(isinstance(s, Fraction) for s in strides):
        size, jump = 1, 1
        for k, s, d in zip(kernels, strides, dilations):
            size += jump * (k - 1) * d
            jump *= s
        return size
    widest = 0
    for position in range(_period(strides)):
        low = high = position
        for k, s, d in reversed(tuple(zip(kernels, strides, dilations))):
            if isinstance(s, Fraction):
                low, high = _upsampling_taps(low, k, s.denominator)[0], _upsampling_taps(high, k, s.denominator)[1]
            else:
                low, high = low * s - ((k - 1) * d) // 2, high * s + (k - 1) * d - ((k - 1) * d) // 2
        widest = max(widest, high - low + 1)
    return widest


def _json_number(value):
    """An int as is; a fractional stride as the string "1/u"."""
    return str(value) if isinstance(value, Fraction) else value


@dataclasses.dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of one output unit of a chain of layers.

    Attributes:
        size: (h, w) extent of the field in input pixels.
        stride: (h, w) effective stride (product of the layers' strides; a
            ``Fraction`` where the output is finer than the input).
        coverage: 2-D int array of shape ``size``; the number of paths from each
            input offset to the output unit (0 = hole).
        origin: (row, column) index in ``coverage`` of offset (0, 0), the input
            pixel under the output unit.
        axis_coverage: the 1-D coverage of rows and of columns;
            ``coverage == np.outer(*axis_coverage)``.
        touched: number of offsets with at least one path.
        total: number of offsets in the field (``size[0] * size[1]``).
        holes: offsets inside the field with no path (``total - touched``).
        gridding_free: True when there are no holes.
        layers: the LayerSpec chain analysed.
        output_position: (row, column) of the output unit analysed, modulo
            the period of the tap pattern; (0, 0) without upsampling, where
            every unit has the same field. With upsampling, the unit with the
            largest field (see the module docstring).
    """

    size: Tuple[int, int]
    stride: Tuple[int, int]
    coverage: np.ndarray
    origin: Tuple[int, int]
    axis_coverage: Tuple[np.ndarray, np.ndarray]
    touched: int
    total: int
    holes: int
    gridding_free: bool
    layers: Tuple[LayerSpec, ...]
    output_position: Tuple[int, int] = (0, 0)

    def offsets(self, axis: int) -> np.ndarray:
        """Input offsets along ``axis`` (0 rows, 1 columns), aligned with the coverage."""
        return np.arange(self.size[axis]) - self.origin[axis]

    def axis_hole_offsets(self, axis: int) -> Tuple[int, ...]:
        """Offsets along ``axis`` (0 rows, 1 columns) that no path reaches.

        A 2-D cell is a hole exactly when its row or its column is a 1-D hole,
        because the 2-D coverage is the outer product of the two axes.
        """
        cov = self.axis_coverage[axis]
        return tuple(int(o) for o in self.offsets(axis)[cov == 0])

    def hole_offsets(self) -> Tuple[Tuple[int, int], ...]:
        """All (dy, dx) offsets inside the field that no path reaches."""
        rows, cols = np.nonzero(self.coverage == 0)
        return tuple(
            (int(r) - self.origin[0], int(c) - self.origin[1]) for r, c in zip(rows, cols)
        )

    def to_dict(self) -> dict:
        """JSON-ready summary (1-D coverages per axis; the 2-D map is their outer product)."""
        return {
            "receptive_field": list(self.size),
            "effective_stride": [_json_number(v) for v in self.stride],
            "origin": list(self.origin),
            "output_position": list(self.output_position),
            "touched": self.touched,
            "total": self.total,
            "holes": self.holes,
            "gridding_free": self.gridding_free,
            "hole_offsets": {AXES[a]: list(self.axis_hole_offsets(a)) for a in (0, 1)},
            "coverage": {AXES[a]: [int(v) for v in self.axis_coverage[a]] for a in (0, 1)},
            "layers": [
                {"kernel": list(s.kernel), "stride": [_json_number(v) for v in s.stride],
                 "dilation": list(s.dilation)}
                for s in self.layers
            ],
        }


#: Most offsets (height x width) a coverage map may have: 4096 x 4096, 128 MiB of int64 counts.
MAX_COVERAGE_CELLS = 1 << 24


def receptive_field(layers) -> ReceptiveField:
    """Receptive field, effective stride and coverage map of a chain of layers.

    Args:
        layers: the chain from input to output, as LayerSpec objects or
            ``(kernel, stride, dilation)`` tuples. An empty chain is the
            identity (a 1x1 field). Upsampling layers have a fractional
            stride ``Fraction(1, u)``; the field is then that of the output
            unit with the largest field (``output_position``).

    Returns:
        ReceptiveField with ``size``, ``stride``, ``coverage`` (path counts),
        ``holes``, ``gridding_free``, ``touched`` and ``total``.

    Raises:
        ValueError: an entry is not a valid layer description, or the field has more
            than ``MAX_COVERAGE_CELLS`` offsets.

    Example:
        >>> rf = receptive_field([LayerSpec(3, dilation=2)])
        >>> rf.size, rf.touched, rf.total
        ((5, 5), 9, 25)
    """
    if isinstance(layers, (LayerSpec, str, bytes)):
        raise ValueError(f"layers must be a list of LayerSpec, got {layers!r}.")
    specs = tuple(_as_spec(layer) for layer in layers)
    extents = [
        _axis_extent([s.kernel[a] for s in specs], [s.stride[a] for s in specs], [s.dilation[a] for s in specs])
        for a in (0, 1)
    ]
    if extents[0] * extents[1] > MAX_COVERAGE_CELLS:
        # The map holds one count per offset; refuse before allocating it (it would need terabytes).
        raise ValueError(
            f"the receptive field is {extents[0]:,} x {extents[1]:,} pixels, too large for a coverage map "
            f"(at most {MAX_COVERAGE_CELLS:,} offsets); use smaller dilation rates (the field of 3x3 layers "
            "is 1 + 2 x the sum of the rates)."
        )
    paths = [math.prod(s.kernel[axis] for s in specs) for axis in (0, 1)]
    # Total paths bound every cell; stay in int64 while the product fits, else exact Python ints.
    dtype = np.int64 if paths[0] * paths[1] < 2**63 else object
    axis = []
    for a in (0, 1):
        chain = ([s.kernel[a] for s in specs], [s.stride[a] for s in specs], [s.dilation[a] for s in specs])
        if any(isinstance(v, Fraction) for v in chain[1]):
            axis.append(_coverage_1d_upsampling(*chain, dtype))
        else:
            axis.append(_coverage_1d(*chain, dtype) + (0,))
    (cov_h, origin_h, stride_h, position_h), (cov_w, origin_w, stride_w, position_w) = axis
    coverage = np.outer(cov_h, cov_w)
    touched = int(np.count_nonzero(cov_h)) * int(np.count_nonzero(cov_w))
    total = cov_h.size * cov_w.size
    return ReceptiveField(
        size=(cov_h.size, cov_w.size),
        stride=(stride_h, stride_w),
        coverage=coverage,
        origin=(origin_h, origin_w),
        axis_coverage=(cov_h, cov_w),
        touched=touched,
        total=total,
        holes=total - touched,
        gridding_free=touched == total,
        layers=specs,
        output_position=(position_h, position_w),
    )
