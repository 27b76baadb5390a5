"""Dilation schedules: the HDC rule and the coverage report of a schedule.

Pure Python and numpy; re-exported by :mod:`kerasdil.receptive`.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence, Tuple

from kerasdil._receptive_core import LayerSpec, ReceptiveField, _is_int, _pair, _schedule, receptive_field



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
