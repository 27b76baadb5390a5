"""Sequences: 1-D dilation schedules and the length they must cover.

Pure Python and numpy; re-exported by :mod:`kerasdil.receptive`.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

from kerasdil._receptive_core import LayerSpec, _is_int, _schedule, receptive_field

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
