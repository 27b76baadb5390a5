"""Receptive field and gridding analysis for stacks of (dilated) convolutions.

Pure Python and numpy: importing this module never imports TensorFlow or Keras,
so ``kerasdil rf`` answers at once. ``layers_from_model`` reads a Keras model
that the caller already built; it only looks at layer attributes.

Geometry
--------
A layer is a :class:`LayerSpec` ``(kernel, stride, dilation)``. Each field is an
int or an ``(h, w)`` pair; the two axes are independent, so the 2-D coverage map
is the outer product of one 1-D coverage per axis.

For one output unit of a stack of layers, the *coverage map* counts, for every
input offset inside the receptive field, how many paths through the taps of
the stack lead from that offset to the output unit. A count of 0 inside the
field is a *hole*: that input pixel never influences the unit. This is the
gridding artefact of dilated convolution (Yu & Koltun 2016; Wang et al. 2018).

Layer ``l`` with kernel ``k``, dilation ``d`` and stride ``s`` reads, from its
input, the offsets ``j * d - ((k - 1) * d) // 2`` for ``j = 0 .. k - 1``. This is
where Keras/TensorFlow ``padding="same"`` puts the taps at stride 1: centred
for odd kernels; for even kernels the extra tap lies after the centre (kernel
2 reads offsets 0 and +1). Offsets of later layers are multiplied by the
product of the strides of the layers before them, so a stride-2 layer doubles
the spacing of every tap above it; the effective stride is the product of all
strides. Padding other than "same" shifts the offsets but changes neither the
size of the field nor its holes.

Upsampling is a fractional stride: a layer with stride ``1/u``
(``fractions.Fraction(1, u)``) makes its output ``u`` times finer, so the taps
of later layers are ``1/u`` as far apart in input pixels. Its kernel is the
number of input pixels one output pixel interpolates from: 1 for nearest
neighbour, 2 for bilinear, 4 for bicubic. Output pixel ``p`` samples input
coordinate ``x = (p + 0.5) / u - 0.5`` (half-pixel centres, as Keras and
``tf.image.resize``) and reads the ``k`` pixels around it: ``floor(x)`` and
``floor(x) + 1`` for bilinear, the pixel containing ``x + 0.5`` for nearest; only
``x`` itself when ``x`` falls exactly on a pixel (every interpolation kernel is
1 there and 0 on the other pixels). Which pixels those are depends on ``p``
modulo ``u``, so a chain that upsamples is not translation invariant: its
output units differ in field by up to a few low-resolution pixels.
:func:`receptive_field` then reports the output unit with the largest field
(``output_position``, taken modulo the period of the pattern); offset 0 is
the input pixel at that unit's position (its index times the effective
stride). Chains without upsampling give every unit the same field.

Path counts are exact: numpy int64 while the total number of paths fits, Python
ints (object arrays) for very deep stacks beyond that.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import tempfile
from fractions import Fraction
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from kerasdil import _compat

__all__ = ["LayerSpec", "ReceptiveField", "receptive_field", "receptive_field_of_model", "analyze_schedule",
           "is_gridding_free", "plot_coverage", "SequenceCoverage", "analyze_sequence_schedule", "covers_length",
           "schedule_for_length"]

IntOrPair = Union[int, Tuple[int, int]]

# Axis names used in reports, in (h, w) order.
AXES = ("rows", "columns")


# ---------------------------------------------------------------------------
# validation helpers


def _is_int(value) -> bool:
    # bool is an int subclass, but True as a kernel size is always a mistake.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _pair(value, what: str) -> Tuple[int, int]:
    """Return ``value`` as an (h, w) pair of positive ints or raise ValueError."""
    if _is_int(value):
        items = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        items = tuple(value)
    else:
        raise ValueError(
            f"{what} must be a positive int or an (h, w) pair of positive ints, got {value!r}."
        )
    if any(v < 1 for v in items):
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


# ---------------------------------------------------------------------------
# dilation schedules: HDC rule and coverage


def _check_hdc_kernel(kernel) -> None:
    if _pair(kernel, "kernel") != (3, 3):
        raise ValueError(
            f"the HDC rule of Wang et al. (2018) is defined only for kernel 3, got kernel={kernel!r}; "
            "use is_gridding_free(), which checks the coverage map, for other kernels."
        )


def hdc_max_distance(dilation_schedule, kernel=3) -> list:
    """The HDC maximum distances M_1 .. M_n of a dilation schedule, in the order given.

    Wang et al. (2018), "Understanding Convolution for Semantic Segmentation":
    ``M_n = r_n`` and ``M_i = max(M_{i+1} - 2 r_i, M_{i+1} - 2 (M_{i+1} - r_i), r_i)``,
    the largest distance between two touched input offsets after layers i..n.
    The paper calls a schedule gridding-free when ``M_2 <= K``; that test
    silently assumes ``r_1 = 1``. :func:`hdc_gridding_free` gives the version
    that agrees with the coverage map.

    Args:
        dilation_schedule: dilation rates r_1 .. r_n from input to output.
        kernel: kernel size; the rule is defined for 3 (or (3, 3)) only.

    Returns:
        list of ints ``[M_1, ..., M_n]``.

    Raises:
        ValueError: invalid schedule, or a kernel other than 3.

    Example:
        >>> hdc_max_distance((1, 2, 5))
        [1, 2, 5]
    """
    rates = _schedule(dilation_schedule)
    _check_hdc_kernel(kernel)
    m = [0] * len(rates)
    m[-1] = rates[-1]
    for i in range(len(rates) - 2, -1, -1):
        above, r = m[i + 1], rates[i]
        m[i] = max(above - 2 * r, above - 2 * (above - r), r)
    return m


def hdc_gridding_free(dilation_schedule, kernel=3) -> bool:
    """HDC verdict, in the formulation that agrees with the coverage map.

    The recursion of :func:`hdc_max_distance` is run on the rates sorted in
    ascending order, down to and including the first layer, and the schedule is
    gridding-free when ``M_1 == 1`` (adjacent touched offsets are 1 apart).

    Why this form: in a stride-1 stack the set of input offsets reached is the
    Minkowski sum of the layers' taps, so it does not depend on the order of
    the layers, whereas the recursion does. It is meaningful when every layer
    fills the gaps left by the larger rates above it, i.e. in ascending order
    (the order the paper recommends). Requiring ``M_1 == 1`` instead of the
    paper's ``M_2 <= K`` also covers the first layer: ``M_1 >= r_1``, so it
    needs ``r_1 = 1``, and with ``r_1 = 1`` it is exactly ``M_2 <= 3``.
    Examples: (1, 2, 5) is gridding-free; (2, 4, 8) (M_1 = 2) and (1, 2, 9)
    (M_2 = 5) are not; (2, 1) is, like its ascending form (1, 2).

    The agreement with :func:`is_gridding_free` is pinned by an exhaustive
    test over every schedule of length 1 to 3 with rates 1 to 10
    (tests/test_receptive.py); spot checks of every ascending schedule of
    length 4 with rates up to 12 and length 5 up to 8 found no disagreement
    either, but no proof is claimed beyond the tested range.

    Args:
        dilation_schedule: dilation rates from input to output.
        kernel: kernel size; the rule is defined for 3 (or (3, 3)) only.

    Returns:
        True when the HDC rule finds no gridding.

    Raises:
        ValueError: invalid schedule, or a kernel other than 3.

    Example:
        >>> hdc_gridding_free((1, 2, 5)), hdc_gridding_free((2, 4, 8))
        (True, False)
    """
    rates = _schedule(dilation_schedule)
    return hdc_max_distance(sorted(rates), kernel)[0] == 1


def is_gridding_free(dilation_schedule, kernel=3) -> bool:
    """True when a stride-1 stack with these dilation rates has no holes in its field.

    This is the coverage verdict: every input offset inside the receptive
    field reaches the output unit through at least one path. It holds for any
    kernel size.

    Args:
        dilation_schedule: dilation rates from input to output.
        kernel: kernel size, an int or an (h, w) pair.

    Returns:
        bool.

    Raises:
        ValueError: invalid schedule or kernel.

    Example:
        >>> is_gridding_free((1, 2, 5)), is_gridding_free((1, 2, 9))
        (True, False)
    """
    rates = _schedule(dilation_schedule)
    return receptive_field([LayerSpec(kernel, 1, r) for r in rates]).gridding_free


@dataclasses.dataclass(frozen=True)
class ScheduleReport:
    """Gridding analysis of a dilation schedule (see :func:`analyze_schedule`).

    Attributes:
        dilation_schedule: rates from input to output.
        kernel: (h, w) kernel of every layer.
        strides: stride of each layer.
        receptive_field: the ReceptiveField of the stack.
        hdc_order: the schedule in the order the HDC rule is evaluated
            (ascending), or None when the rule does not apply.
        max_distance: M_1 .. M_n for ``hdc_order``, or None.
        hdc_gridding_free: HDC verdict, or None when the rule does not apply
            (kernel other than 3, or a stride above 1).
        coverage_gridding_free: verdict of the coverage map (always defined).
        agree: whether both verdicts agree; None when there is no HDC verdict.
        notes: sentences explaining a missing verdict or a disagreement.
    """

    dilation_schedule: Tuple[int, ...]
    kernel: Tuple[int, int]
    strides: Tuple[int, ...]
    receptive_field: ReceptiveField
    hdc_order: Optional[Tuple[int, ...]]
    max_distance: Optional[Tuple[int, ...]]
    hdc_gridding_free: Optional[bool]
    coverage_gridding_free: bool
    agree: Optional[bool]
    notes: Tuple[str, ...]

    @property
    def gridding_free(self) -> bool:
        """The authoritative verdict: the coverage map."""
        return self.coverage_gridding_free

    def to_dict(self) -> dict:
        """JSON-ready form of the report."""
        out = {
            "dilation_schedule": list(self.dilation_schedule),
            "kernel": list(self.kernel),
            "strides": list(self.strides),
        }
        out.update(self.receptive_field.to_dict())
        out.pop("layers")
        out["hdc"] = {
            "order": None if self.hdc_order is None else list(self.hdc_order),
            "max_distance": None if self.max_distance is None else list(self.max_distance),
            "gridding_free": self.hdc_gridding_free,
        }
        out["coverage_gridding_free"] = self.coverage_gridding_free
        out["gridding_free"] = self.gridding_free
        out["agree"] = self.agree
        out["notes"] = list(self.notes)
        return out


def analyze_schedule(dilation_schedule, kernel=3, strides=None) -> ScheduleReport:
    """Gridding analysis of a dilation schedule: HDC rule and coverage map together.

    Args:
        dilation_schedule: dilation rates from input to output, e.g. (1, 2, 5).
        kernel: kernel size of every layer, an int or an (h, w) pair.
        strides: optional stride per layer (same length as the schedule);
            default all 1. The HDC rule assumes stride 1, so with any stride
            above 1 only the coverage verdict is given.

    Returns:
        ScheduleReport; ``report.agree`` is False, with a note, if the HDC
        rule and the coverage map ever disagree.

    Raises:
        ValueError: invalid schedule, kernel or strides.

    Example:
        >>> report = analyze_schedule((2, 4, 8))
        >>> report.hdc_gridding_free, report.coverage_gridding_free, report.agree
        (False, False, True)
    """
    rates = _schedule(dilation_schedule)
    kernel_hw = _pair(kernel, "kernel")
    if strides is None:
        strides = (1,) * len(rates)
    if isinstance(strides, (str, bytes)) or not isinstance(strides, Sequence) or len(strides) != len(rates):
        raise ValueError(
            f"strides must give one stride per layer ({len(rates)} for {rates!r}), got {strides!r}."
        )
    for position, s in enumerate(strides, start=1):
        if not _is_int(s) or s < 1:
            raise ValueError(f"strides must contain positive ints, got {s!r} at position {position}.")
    strides = tuple(int(s) for s in strides)

    rf = receptive_field([LayerSpec(kernel_hw, s, r) for r, s in zip(rates, strides)])
    notes = []
    hdc_order = max_distance = hdc = agree = None
    if kernel_hw != (3, 3):
        notes.append(
            f"The HDC rule (Wang et al. 2018) is defined for 3x3 kernels only, not {kernel_hw[0]}x{kernel_hw[1]}; "
            "the verdict comes from the coverage map alone."
        )
    elif any(s > 1 for s in strides):
        notes.append(
            "The HDC rule (Wang et al. 2018) assumes stride 1 throughout; "
            "the verdict comes from the coverage map alone."
        )
    else:
        hdc_order = tuple(sorted(rates))
        max_distance = tuple(hdc_max_distance(hdc_order))
        hdc = max_distance[0] == 1
        agree = hdc == rf.gridding_free
        if hdc_order != rates:
            notes.append(
                "The HDC rule is evaluated on the ascending order "
                f"{', '.join(map(str, hdc_order))}; the coverage of a stride-1 stack does not depend on the order."
            )
        if not agree:
            notes.append(
                f"The HDC rule says {'gridding-free' if hdc else 'gridding'} but the coverage map has "
                f"{rf.holes} holes; trust the coverage map."
            )
    return ScheduleReport(
        dilation_schedule=rates,
        kernel=kernel_hw,
        strides=strides,
        receptive_field=rf,
        hdc_order=hdc_order,
        max_distance=max_distance,
        hdc_gridding_free=hdc,
        coverage_gridding_free=rf.gridding_free,
        agree=agree,
        notes=tuple(notes),
    )


# ---------------------------------------------------------------------------
# Sequences: 1-D schedules and the length they must cover


@dataclasses.dataclass(frozen=True)
class SequenceCoverage:
    """Receptive field of a 1-D dilation schedule against a series length.

    Attributes:
        dilation_schedule: rates from input to output.
        kernel: kernel size of every layer.
        receptive_field: steps one output step sees, ``1 + (kernel - 1) * sum(rates)``.
        gridding_free: no step inside the field is skipped.
        hole_offsets: offsets (relative to the output step, "same" padding) that no
            path reaches.
        length: the series length asked about, or None.
        covers: ``receptive_field >= length`` (None without a length): with "same"
            padding the middle step sees the whole series, with "causal" padding
            the last step does.
    """

    dilation_schedule: Tuple[int, ...]
    kernel: int
    receptive_field: int
    gridding_free: bool
    hole_offsets: Tuple[int, ...]
    length: Optional[int]
    covers: Optional[bool]

    def to_dict(self) -> dict:
        """JSON-ready form."""
        out = dataclasses.asdict(self)
        out["dilation_schedule"] = list(self.dilation_schedule)
        out["hole_offsets"] = list(self.hole_offsets)
        return out


def _length(length, what="length"):
    if length is None:
        return None
    if not _is_int(length) or length < 1:
        raise ValueError(f"{what} must be a positive int (steps of the series), got {length!r}.")
    return int(length)


def analyze_sequence_schedule(dilation_schedule, length=None, kernel=3) -> SequenceCoverage:
    """Receptive field and gridding of a 1-D dilation schedule, and whether it covers ``length``.

    Args:
        dilation_schedule: rates from input to output, e.g. (1, 2, 4, 8).
        length: steps of the series (optional).
        kernel: kernel size of every layer (int). Default 3.

    Returns:
        :class:`SequenceCoverage`.

    Raises:
        ValueError: an invalid schedule, kernel or length.

    Example:
        >>> report = analyze_sequence_schedule((1, 2, 4, 8), length=150)
        >>> report.receptive_field, report.covers
        (31, False)
    """
    rates = _schedule(dilation_schedule)
    if not _is_int(kernel) or kernel < 1:
        raise ValueError(f"kernel must be a positive int for a 1-D schedule, got {kernel!r}.")
    length = _length(length)
    rf = receptive_field([LayerSpec((1, kernel), 1, (1, r)) for r in rates])
    size = rf.size[1]
    return SequenceCoverage(
        dilation_schedule=rates,
        kernel=int(kernel),
        receptive_field=size,
        gridding_free=rf.gridding_free,
        hole_offsets=rf.axis_hole_offsets(1),
        length=length,
        covers=None if length is None else size >= length,
    )


def covers_length(dilation_schedule, length, kernel=3) -> bool:
    """True when the schedule's receptive field spans at least ``length`` steps.

    Example:
        >>> covers_length((1, 2, 4, 8, 16, 32, 64), 150), covers_length((1, 2, 4, 8), 150)
        (True, False)
    """
    if length is None:
        raise ValueError("length must be a positive int (steps of the series), got None.")
    return bool(analyze_sequence_schedule(dilation_schedule, length, kernel).covers)


def schedule_for_length(length, kernel=3, max_blocks=12) -> Tuple[int, ...]:
    """The shortest doubling schedule (1, 2, 4, ...) whose receptive field covers ``length``.

    Doubling rates with kernel 3 are gridding-free, and each block doubles the field,
    so the depth grows with the logarithm of the length.

    Args:
        length: steps of the series.
        kernel: kernel size of every layer (>= 2). Default 3.
        max_blocks: longest schedule returned; a longer series gets this many blocks
            (its field then falls short, which :func:`covers_length` reports).

    Returns:
        Tuple of rates.

    Raises:
        ValueError: a non-positive length, a kernel below 2 or a bad ``max_blocks``.

    Example:
        >>> schedule_for_length(150)
        (1, 2, 4, 8, 16, 32, 64)
    """
    length = _length(length)
    if not _is_int(kernel) or kernel < 2:
        raise ValueError(f"kernel must be an int >= 2 for the field to grow, got {kernel!r}.")
    if not _is_int(max_blocks) or max_blocks < 1:
        raise ValueError(f"max_blocks must be a positive int, got {max_blocks!r}.")
    rates = [1]
    while 1 + (kernel - 1) * sum(rates) < length and len(rates) < max_blocks:
        rates.append(rates[-1] * 2)
    return tuple(rates)


# ---------------------------------------------------------------------------
# Keras models (duck-typed: keras is never imported here)

# Layers after which the output no longer has a spatial position of its own.
_GLOBAL_LAYERS = ("Flatten", "Dense", "EinsumDense")
# Input pixels one output pixel of an upsampling reads, per Keras interpolation
# ("area" upsampling by an integer factor copies one pixel, like nearest).
_INTERPOLATION_TAPS = {"nearest": 1, "area": 1, "bilinear": 2, "bicubic": 4, "lanczos3": 6, "lanczos5": 10}


def _spatial(value, layer) -> Tuple[int, int]:
    """Keras stores sizes as 1- or 2-tuples; map 1-D layers onto the rows axis."""
    if _is_int(value):
        return (int(value), int(value))
    value = tuple(value)
    if len(value) == 1:
        return (int(value[0]), 1)
    if len(value) == 2:
        return (int(value[0]), int(value[1]))
    raise ValueError(
        f"layers_from_model handles 1-D and 2-D layers only; layer {getattr(layer, 'name', layer)!r} "
        f"has a {len(value)}-D size {value!r}."
    )


def _upsampling(factors, taps):
    """LayerSpec of an upsampling by integer ``factors`` (h, w) reading ``taps`` pixels."""
    stride = tuple(Fraction(1, f) for f in factors)
    kernel = tuple(taps if f > 1 else 1 for f in factors)  # an axis with factor 1 is a plain copy
    return LayerSpec(kernel, stride)


def _resize_factors(layer):
    """Integer upsampling factors (h, w) of a Resizing layer, or None when not an integer upsampling."""
    try:
        shape = tuple(layer.input.shape)
    except (AttributeError, ValueError):
        return None
    if len(shape) != 4:
        return None
    h, w = (shape[2], shape[3]) if getattr(layer, "data_format", None) == "channels_first" else shape[1:3]
    if not (_is_int(h) and _is_int(w) and h > 0 and w > 0):
        return None
    out_h, out_w = layer.height, layer.width
    if out_h % h or out_w % w:
        return None
    return (out_h // h, out_w // w)


def _layer_specs(layer):
    """Specs of one leaf layer: (list of LayerSpec, stops_chain)."""
    name = type(layer).__name__
    if name.startswith("Global") or name in _GLOBAL_LAYERS:
        return [], True
    if name.startswith("UpSampling") and hasattr(layer, "size"):
        taps = _INTERPOLATION_TAPS.get(str(getattr(layer, "interpolation", "nearest")).lower())
        if taps is None:
            return [], True  # an interpolation this analysis does not know
        size = (layer.size,) if name == "UpSampling1D" and _is_int(layer.size) else layer.size  # 1-D: rows only
        return [_upsampling(_spatial(size, layer), taps)], False
    if name == "Resizing":
        taps = _INTERPOLATION_TAPS.get(str(getattr(layer, "interpolation", "")).lower())
        factors = _resize_factors(layer)
        if taps is None or factors is None:
            return [], True  # a non-integer or shrinking resize is not modelled
        return [_upsampling(factors, taps)], False
    if "Transpose" in name and hasattr(layer, "kernel_size") and hasattr(layer, "strides"):
        kernel = _spatial(layer.kernel_size, layer)
        strides = _spatial(layer.strides, layer)
        dilation = _spatial(getattr(layer, "dilation_rate", 1), layer)
        conv = LayerSpec(kernel, 1, dilation)
        if strides == (1, 1):
            return [conv], False  # a stride-1 transposed conv reads like a conv
        # Zero insertion, then a conv: modelled as nearest upsampling then the conv,
        # an upper bound (the inserted zeros read nothing).
        return [_upsampling(strides, 1), conv], False
    if hasattr(layer, "kernel_size") and hasattr(layer, "strides") and hasattr(layer, "dilation_rate"):
        return [
            LayerSpec(
                _spatial(layer.kernel_size, layer),
                _spatial(layer.strides, layer),
                _spatial(layer.dilation_rate, layer),
            )
        ], False
    if hasattr(layer, "pool_size") and hasattr(layer, "strides"):
        strides = layer.strides if layer.strides is not None else layer.pool_size
        return [LayerSpec(_spatial(layer.pool_size, layer), _spatial(strides, layer))], False
    return [], False


def _chain_extent(specs) -> int:
    """Area of the receptive field of a chain, cheaply (no coverage needed)."""
    area = 1
    for a in (0, 1):
        area *= _axis_extent([s.kernel[a] for s in specs], [s.stride[a] for s in specs],
                             [s.dilation[a] for s in specs])
    return area


def _best(chains):
    """Among parent chains, the one to continue: spatial before stopped, then largest field."""
    return max(chains, key=lambda c: (not c[1], _chain_extent(c[0])))


def _walk(layer, depth=0):
    """(specs, stopped) for a layer, a composite layer or a model."""
    if depth > 100:
        raise ValueError("layers_from_model: layers are nested more than 100 deep.")
    custom = getattr(layer, "receptive_field_layers", None)
    if callable(custom):
        return [_as_spec(s) for s in custom()], False
    specs, stopped = _layer_specs(layer)
    if specs or stopped:
        return specs, stopped
    graph = _walk_graph(layer, depth)
    if graph is not None:
        return graph
    children = getattr(layer, "layers", None)
    if children is None and _compat.has_flatten_layers(layer):
        children = _compat.flatten_layers(layer, recursive=False)
    if not children:
        return [], False  # spatially neutral: BN, activation, dropout, add, concat, ...
    return _walk_sequence(children, depth)


def _walk_sequence(children, depth):
    specs = []
    for child in children:
        child_specs, stopped = _walk(child, depth + 1)
        specs.extend(child_specs)
        if stopped:
            return specs, True
    return specs, False


def _walk_graph(model, depth):
    """Longest chain through a functional graph, or None if ``model`` has none.

    At a merge (Add, Concatenate, Multiply...) the chain continues from the
    input with the largest receptive field, preferring inputs that still have
    spatial positions (so a squeeze-and-excitation side branch, which ends in
    global pooling, does not end the main chain). The layers after a merge
    see every input at the same resolution, so they widen every input's field
    alike, and the widest input gives the widest field at the output: the
    result is the maximum over all paths from the input to the output. (With
    upsampling inside a merged branch this holds up to the phase effects of
    interpolation, a few input pixels.) Uses Keras 3's functional graph
    (``_nodes_by_depth``, ``Node.parent_nodes``); if that is missing the caller
    falls back to walking ``model.layers`` in order.
    """
    by_depth = _compat.nodes_by_depth(model)
    outputs = getattr(model, "outputs", None)
    if not by_depth or not outputs:
        return None
    # Read the graph first, so that errors raised while reading the layers
    # themselves (below) are not mistaken for a missing graph.
    try:
        nodes = [  # deepest level first = closest to the inputs
            (id(node), node.operation, [id(p) for p in node.parent_nodes])
            for level in sorted(by_depth, reverse=True)
            for node in by_depth[level]
        ]
        ends = [id(_compat.output_node(tensor)) for tensor in outputs]
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    chains = {}
    for node_id, operation, parent_ids in nodes:
        parents = [chains[p] for p in parent_ids if p in chains]
        specs, stopped = _best(parents) if parents else ([], False)
        if not stopped:
            own, own_stop = _walk(operation, depth + 1)
            specs, stopped = specs + own, own_stop
        chains[node_id] = (specs, stopped)
    if not all(end in chains for end in ends):
        return None
    return _best([chains[end] for end in ends])


def layers_from_model(model) -> list:
    """The chain of LayerSpec from the input of a built Keras model to its spatial output.

    Keras is not imported: layers are read by their attributes.

    * a layer with a ``receptive_field_layers()`` method (kerasdil's composite
      layers) contributes the LayerSpec list it returns;
    * a layer with ``kernel_size``, ``strides`` and ``dilation_rate``
      (Conv1D/2D, DepthwiseConv2D, SeparableConv2D) contributes one LayerSpec;
    * a pooling layer with ``pool_size`` and ``strides`` contributes one
      LayerSpec (pool size as kernel);
    * global pooling, Flatten and Dense end the spatial chain: the result is
      the field of the last spatial feature map before them;
    * upsampling is a fractional stride (see the module docstring):
      ``UpSampling1D/2D`` by ``u`` is ``LayerSpec(taps, Fraction(1, u))`` with
      2 taps for bilinear, 1 for nearest, 4 for bicubic (the input pixels one
      output pixel interpolates from); a ``Resizing`` to an integer multiple
      of its (static) input size likewise; a stride-1 ``Conv2DTranspose`` is a
      conv; a strided one is nearest upsampling then the conv, an upper
      bound. Other resizes end the chain;
    * every other layer (BatchNormalization, Activation, Add, Concatenate,
      Dropout, padding...) is spatially neutral;
    * nested models and layers are walked recursively. For a functional
      model with branches (skips, Add, Concatenate), the chain follows, at
      each merge, the input with the largest receptive field: the path with
      the largest field, which is the field of the model (a longest chain,
      not the union of all branches). Sequential and subclassed models are
      walked in layer order.

    1-D layers are mapped onto the rows axis (``(k, 1)``).

    Args:
        model: a built Keras model or layer.

    Returns:
        list of LayerSpec, input to output.

    Raises:
        ValueError: a layer has 3-D sizes, or ``receptive_field_layers()``
            returned something that is not a LayerSpec.

    Example:
        >>> import keras  # doctest: +SKIP
        >>> m = keras.Sequential([keras.Input((28, 28, 1)),
        ...                       keras.layers.Conv2D(8, 3, dilation_rate=2)])  # doctest: +SKIP
        >>> layers_from_model(m)  # doctest: +SKIP
        [LayerSpec(kernel=(3, 3), stride=(1, 1), dilation=(2, 2))]
    """
    specs, _ = _walk(model)
    return specs


def receptive_field_of_model(model) -> ReceptiveField:
    """Receptive field of one output unit of a built Keras model.

    Equivalent to ``receptive_field(layers_from_model(model))``; see
    :func:`layers_from_model` for how layers and branches are read.

    Args:
        model: a built Keras model.

    Returns:
        ReceptiveField.

    Raises:
        ValueError: as :func:`layers_from_model`.

    Example:
        >>> receptive_field_of_model(model).size  # doctest: +SKIP
        (17, 17)
    """
    return receptive_field(layers_from_model(model))


# ---------------------------------------------------------------------------
# presentation


def format_offsets(offsets, limit: int = 12) -> str:
    """Short text for a set of 1-D offsets, e.g. ``"±4, ±5"`` or ``"±(1..9)"``.

    Symmetric sets are written with ``±``; runs of 3 or more consecutive
    offsets as ``a..b``; beyond ``limit`` items the list is cut with a count.

    Args:
        offsets: iterable of ints.
        limit: most items to print.

    Returns:
        str ("none" for an empty set).

    Example:
        >>> format_offsets([-5, -4, 4, 5])
        '±4, ±5'
    """
    values = sorted(set(int(o) for o in offsets))
    if not values:
        return "none"
    symmetric = 0 not in values and all(-v in values for v in values)
    shown = [v for v in values if v > 0] if symmetric else values
    runs = []
    for v in shown:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    items = []
    for lo, hi in runs:
        if hi - lo >= 2:
            items.append(f"±({lo}..{hi})" if symmetric else f"{lo:+d}..{hi:+d}")
        else:
            items.extend(f"±{v}" if symmetric else (f"{v:+d}" if v else "0") for v in range(lo, hi + 1))
    if len(items) > limit:
        return ", ".join(items[:limit]) + f", ... ({len(values)} offsets in all)"
    return ", ".join(items)


def plot_coverage(result: ReceptiveField, path, title: Optional[str] = None) -> str:
    """Draw the 2-D coverage map (path counts) as a heatmap, holes in red.

    matplotlib is imported here only, through its Agg canvas (no display and
    no change to the global pyplot backend). The image is written to a
    temporary file in the same folder and renamed, so an interrupted run never
    leaves a half-written file.

    Args:
        result: a ReceptiveField.
        path: output file; the format follows its suffix (.png by default).
        title: optional title; a summary is used by default.

    Returns:
        the path written, as str.

    Raises:
        FileNotFoundError: the folder of ``path`` does not exist.
        ValueError: the suffix is not an image format matplotlib can write.

    Example:
        >>> plot_coverage(receptive_field([LayerSpec(3, dilation=2)]), "rf.png")  # doctest: +SKIP
        'rf.png'
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path!r}: folder {folder!r} does not exist.")
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import MaxNLocator
    import matplotlib

    if fmt not in FigureCanvasAgg.get_supported_filetypes():
        raise ValueError(
            f"cannot write a coverage plot as {fmt!r}; use a file name ending in .png, .svg or .pdf."
        )
    h, w = result.size
    cov = np.asarray(result.coverage, dtype=float)
    masked = np.ma.masked_equal(cov, 0)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d62728")  # masked cells = holes

    side = min(12.0, max(4.0, 0.3 * max(h, w)))
    fig = Figure(figsize=(side + 1.5, side + 0.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    oy, ox = result.origin
    extent = (-ox - 0.5, w - ox - 0.5, h - oy - 0.5, -oy - 0.5)
    peak = float(cov.max())
    image = ax.imshow(masked, cmap=cmap, extent=extent, interpolation="nearest", vmin=1, vmax=max(peak, 2.0))
    colorbar = fig.colorbar(image, ax=ax, label="paths to the output unit")
    colorbar.locator = MaxNLocator(integer=True)
    colorbar.update_ticks()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="white", linewidth=2))
    if max(h, w) <= 25:
        for r in range(h):
            for c in range(w):
                if result.coverage[r, c]:
                    # dark text on the bright end of viridis, white elsewhere
                    color = "black" if cov[r, c] > 1 + 0.6 * (peak - 1) and peak > 1 else "white"
                    ax.text(c - ox, r - oy, str(result.coverage[r, c]), ha="center", va="center",
                            fontsize=7, color=color)
    ax.set_xlabel("column offset")
    ax.set_ylabel("row offset")
    if title is None:
        title = (
            f"receptive field {h}x{w}, stride {result.stride[0]}x{result.stride[1]}: "
            + ("gridding-free" if result.gridding_free else f"{result.holes} holes of {result.total}")
        )
    ax.set_title(title)
    fig.legend(
        handles=[
            Patch(facecolor="#d62728", label="hole (no path)"),
            Patch(facecolor="none", edgecolor="black", label="offset 0 (under the output unit)"),
        ],
        loc="lower center",
        ncol=2,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.06, 1, 1))

    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            fig.savefig(handle, format=fmt, dpi=100)
        # mkstemp creates 0600 files; give the image the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
