"""Discrete dilation-schedule search spaces and the constraints that prune them.

Pure Python on top of :mod:`kerasdil.receptive` (numpy only; no TensorFlow), so a
whole space is enumerated, measured and pruned in well under a second, before
any training.

Why enumerate: keras-tuner samples one hyperparameter at a time, so a rule
such as "the schedule is gridding-free and the model has at most 60k
parameters" cannot be applied to a half-sampled trial. Instead every
candidate (one dilation schedule per stage plus a width) is listed up front,
measured (receptive field, gridding verdicts, parameters, MACs) and filtered;
the survivors are offered to the tuner as one categorical hyperparameter
(``hp.Choice("candidate", keys)``). No trial is ever spent on a rejected
candidate, and budgets that depend on the width are checked too, because the
width is part of the candidate.

Example:
    >>> from kerasdil.tune.constraints import ScheduleSpace, Constraints, MNIST_DSDC, prune
    >>> result = prune(MNIST_DSDC, ScheduleSpace(), Constraints(gridding_free=True, max_params=30_000))
    >>> print(result.summary())                              # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from kerasdil.receptive import LayerSpec, analyze_schedule, receptive_field

__all__ = [
    "ORDERS",
    "ScheduleSpace",
    "Candidate",
    "Constraints",
    "PruneResult",
    "SearchFamily",
    "MNIST_DSDC",
    "stage_schedules",
    "encode_candidate",
    "decode_candidate",
    "prune",
    "pareto_front",
]

#: How the rates inside one stage may be ordered.
#: "increasing": strictly increasing (1, 2, 5) -- the HDC paper's recommendation and the default;
#: "nondecreasing": repeats allowed (1, 1, 2); "any": every ordering (products of the rate set).
ORDERS = ("increasing", "nondecreasing", "any")

Schedule = Tuple[Tuple[int, ...], ...]


def _positive_ints(name, values) -> Tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ValueError(f"{name} must be a non-empty list of positive ints, got {values!r}.")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must contain positive ints, got {v!r} in {tuple(values)!r}.")
        out.append(int(v))
    return tuple(sorted(set(out)))


@dataclasses.dataclass(frozen=True)
class ScheduleSpace:
    """The raw (unconstrained) space of a schedule search.

    A candidate is one rate schedule per stage and one width. Every stage
    draws from the same ``depths`` and ``rates``.

    Attributes:
        depths: blocks per stage to consider, e.g. (2, 3, 4).
        rates: dilation rates a block may use, e.g. (1, 2, 3, 4, 5).
        order: "increasing" (default), "nondecreasing" or "any" (see ORDERS).
        widths: model widths (stem channels for mnist_dsdc), e.g. (8, 12, 16).

    Raises:
        ValueError: empty or non-positive lists, or an unknown order.

    Example:
        >>> ScheduleSpace(depths=(2, 3), rates=(1, 2, 3), widths=(8,)).size(stages=2)
        16
    """

    depths: Tuple[int, ...] = (2, 3, 4)
    rates: Tuple[int, ...] = (1, 2, 3, 4, 5)
    order: str = "increasing"
    widths: Tuple[int, ...] = (8, 12, 16)

    def __post_init__(self):
        object.__setattr__(self, "depths", _positive_ints("depths", self.depths))
        object.__setattr__(self, "rates", _positive_ints("rates", self.rates))
        object.__setattr__(self, "widths", _positive_ints("widths", self.widths))
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {self.order!r}.")

    def stage_schedules(self) -> List[Tuple[int, ...]]:
        """Every schedule one stage may take, shortest first."""
        return stage_schedules(self.depths, self.rates, self.order)

    def size(self, stages: int) -> int:
        """Number of raw candidates for a model with ``stages`` stages."""
        return len(self.stage_schedules()) ** stages * len(self.widths)

    def to_dict(self) -> dict:
        return {"depths": list(self.depths), "rates": list(self.rates), "order": self.order,
                "widths": list(self.widths)}

    @classmethod
    def from_dict(cls, data: dict) -> "ScheduleSpace":
        return cls(tuple(data["depths"]), tuple(data["rates"]), data["order"], tuple(data["widths"]))


def stage_schedules(depths, rates, order="increasing") -> List[Tuple[int, ...]]:
    """All rate tuples of the given depths whose rates come from ``rates``.

    Args:
        depths: iterable of block counts.
        rates: iterable of allowed rates.
        order: "increasing", "nondecreasing" or "any".

    Returns:
        list of tuples, by depth then lexicographically.

    Example:
        >>> stage_schedules((2,), (1, 2, 3))
        [(1, 2), (1, 3), (2, 3)]
    """
    rates = sorted(set(rates))
    make = {
        "increasing": itertools.combinations,
        "nondecreasing": itertools.combinations_with_replacement,
        "any": lambda r, d: itertools.product(r, repeat=d),
    }[order]
    return [tuple(s) for d in sorted(set(depths)) for s in make(rates, d)]


# ---------------------------------------------------------------------------
# candidates


def encode_candidate(schedule: Schedule, width: int) -> str:
    """The string keras-tuner sees for one candidate: ``"s1=1,2,5;s2=1,2,3;w=16"``."""
    stages = ";".join(f"s{i + 1}=" + ",".join(map(str, rates)) for i, rates in enumerate(schedule))
    return f"{stages};w={int(width)}"


_KEY = re.compile(r"^(s\d+=\d+(?:,\d+)*;)+w=\d+$")


def decode_candidate(key: str) -> Tuple[Schedule, int]:
    """Inverse of :func:`encode_candidate`.

    Raises:
        ValueError: ``key`` is not of the form ``"s1=1,2,5;s2=1,2,3;w=16"``.
    """
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(f"not a schedule candidate key such as 's1=1,2,5;s2=1,2,3;w=16': {key!r}.")
    parts = key.split(";")
    schedule = tuple(tuple(int(r) for r in p.split("=", 1)[1].split(",")) for p in parts[:-1])
    if any(r < 1 for rates in schedule for r in rates):
        raise ValueError(f"dilation rates must be positive in {key!r}.")
    return schedule, int(parts[-1].split("=", 1)[1])


def format_schedule(schedule: Schedule) -> str:
    """``((1, 2, 5), (1, 2, 3))`` -> ``"1,2,5 / 1,2,3"`` (stages separated by " / ")."""
    return " / ".join(",".join(map(str, rates)) for rates in schedule)


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One point of the space, measured.

    Attributes:
        key: the encoded string (what keras-tuner stores).
        schedule: rates per stage.
        width: model width.
        receptive_field: (h, w) receptive field of one output unit of the
            whole feature extractor, in input pixels.
        stage_gridding_free: per stage, the coverage-map verdict.
        stage_hdc_gridding_free: per stage, the HDC-rule verdict.
        model_gridding_free: coverage verdict of the whole chain (stem,
            pools and stages together).
        params: parameters of the built model (what ``model.count_params()``
            reports, BN statistics included).
        macs: multiply-accumulates of the conv and dense layers per image.
    """

    key: str
    schedule: Schedule
    width: int
    receptive_field: Tuple[int, int]
    stage_gridding_free: Tuple[bool, ...]
    stage_hdc_gridding_free: Tuple[Optional[bool], ...]
    model_gridding_free: bool
    params: int
    macs: int

    @property
    def gridding_free(self) -> bool:
        """Every stage passes both the HDC rule and the coverage map."""
        return all(self.stage_gridding_free) and all(v is not False for v in self.stage_hdc_gridding_free)

    @property
    def gridding_verdict(self) -> str:
        """Short text for reports: "free", or which stages grid."""
        bad = [
            f"s{i + 1}"
            for i, (cov, hdc) in enumerate(zip(self.stage_gridding_free, self.stage_hdc_gridding_free))
            if not cov or hdc is False
        ]
        return "free" if not bad else "grids in " + ",".join(bad)

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "schedule": [list(s) for s in self.schedule],
            "width": self.width,
            "receptive_field": list(self.receptive_field),
            "stage_gridding_free": list(self.stage_gridding_free),
            "stage_hdc_gridding_free": list(self.stage_hdc_gridding_free),
            "model_gridding_free": self.model_gridding_free,
            "gridding_free": self.gridding_free,
            "params": self.params,
            "macs": self.macs,
        }


# ---------------------------------------------------------------------------
# model families: how a candidate maps onto layers, parameters and MACs


@dataclasses.dataclass(frozen=True)
class SearchFamily:
    """What the search needs to know about one zoo model, without building it.

    Attributes:
        name: zoo model name.
        stages: number of stages with a dilation schedule.
        layer_specs: ``(schedule, input_shape) -> [LayerSpec]``, the chain from
            the input to the last spatial feature map.
        cost: ``(schedule, width, input_shape, num_classes) -> (params, macs)``.
        builder_kwargs: ``(schedule, width) -> dict`` of builder arguments.
        default_schedule: the hand-designed schedule of the zoo entry.
        default_width: its default width.
    """

    name: str
    stages: int
    layer_specs: Callable
    cost: Callable
    builder_kwargs: Callable
    default_schedule: Schedule
    default_width: int

    def measure(self, schedule: Schedule, width: int, input_shape=(28, 28, 1), num_classes=10) -> Candidate:
        """Measure one candidate (cached)."""
        return _measure(self, tuple(tuple(s) for s in schedule), int(width), tuple(input_shape), int(num_classes))

    def candidates(self, space: ScheduleSpace, input_shape=(28, 28, 1), num_classes=10) -> List[Candidate]:
        """Every raw candidate of ``space``, measured, in a stable order."""
        per_stage = space.stage_schedules()
        return [
            self.measure(schedule, width, input_shape, num_classes)
            for width in space.widths
            for schedule in itertools.product(per_stage, repeat=self.stages)
        ]


@functools.lru_cache(maxsize=4096)
def _stage_verdicts(rates: Tuple[int, ...]) -> Tuple[bool, Optional[bool]]:
    report = analyze_schedule(rates)
    return report.coverage_gridding_free, report.hdc_gridding_free


@functools.lru_cache(maxsize=65536)
def _chain(family_name: str, schedule: Schedule, input_shape) -> Tuple[Tuple[int, int], bool]:
    specs = _FAMILY_SPECS[family_name](schedule, input_shape)
    rf = receptive_field(specs)
    return rf.size, rf.gridding_free


_FAMILY_SPECS: Dict[str, Callable] = {}


@functools.lru_cache(maxsize=65536)
def _measure(family: SearchFamily, schedule, width, input_shape, num_classes) -> Candidate:
    if len(schedule) != family.stages:
        raise ValueError(f"{family.name} takes {family.stages} stage schedules, got {len(schedule)}: {schedule!r}.")
    verdicts = [_stage_verdicts(rates) for rates in schedule]
    size, model_free = _chain(family.name, schedule, input_shape)
    params, macs = family.cost(schedule, width, input_shape, num_classes)
    return Candidate(
        key=encode_candidate(schedule, width),
        schedule=schedule,
        width=width,
        receptive_field=tuple(size),
        stage_gridding_free=tuple(v[0] for v in verdicts),
        stage_hdc_gridding_free=tuple(v[1] for v in verdicts),
        model_gridding_free=model_free,
        params=int(params),
        macs=int(macs),
    )


# mnist_dsdc: stem DilatedConvBN(width, 3) at full size; per stage a 2x2 max-pool then a
# DilationStack of DSDC blocks (depthwise 3x3 dilated, no bias; pointwise 1x1, no bias; BN)
# with STAGE_MULTIPLIERS x width channels; global average pooling; Dense(num_classes).
# Mirrors kerasdil/zoo/mnist.py; tests/test_tune.py pins it against model.count_params().
_MNIST_MULTIPLIERS = (2, 3)


def _mnist_specs(schedule, input_shape):
    specs = [LayerSpec(3)]
    for rates in schedule:
        specs.append(LayerSpec(2, 2))
        specs.extend(LayerSpec(3, 1, r) for r in rates)
    return specs


def _mnist_cost(schedule, width, input_shape, num_classes):
    h, w, c = input_shape
    params = 9 * c * width + 4 * width  # stem conv (no bias) + BN (gamma, beta, mean, variance)
    macs = h * w * 9 * c * width
    channels = width
    for rates, mult in zip(schedule, _MNIST_MULTIPLIERS):
        h, w = h // 2, w // 2  # MaxPooling2D(2), "valid"
        filters = width * mult
        for _ in rates:
            params += 9 * channels + channels * filters + 4 * filters
            macs += h * w * (9 * channels + channels * filters)
            channels = filters
    params += channels * num_classes + num_classes
    macs += channels * num_classes
    return params, macs


MNIST_DSDC = SearchFamily(
    name="mnist_dsdc",
    stages=2,
    layer_specs=_mnist_specs,
    cost=_mnist_cost,
    builder_kwargs=lambda schedule, width: {"dilation_schedule": schedule, "width": width},
    default_schedule=((1, 2, 5), (1, 2, 3)),
    default_width=16,
)
_FAMILY_SPECS[MNIST_DSDC.name] = _mnist_specs


def register_family(family: SearchFamily) -> SearchFamily:
    """Make a :class:`SearchFamily` known to :func:`kerasdil.tune.get_family`.

    This is the hook for new zoo models (the DeepLab/ASPP segmenter among them):
    describe how a candidate maps onto layer specs, parameters and MACs, and
    which builder arguments it sets.
    """
    _FAMILY_SPECS[family.name] = family.layer_specs
    FAMILIES[family.name] = family
    return family


#: Families the schedule search knows, by zoo model name.
FAMILIES: Dict[str, SearchFamily] = {MNIST_DSDC.name: MNIST_DSDC}


# ---------------------------------------------------------------------------
# constraints


@dataclasses.dataclass(frozen=True)
class Constraints:
    """Rules applied to every candidate before the search.

    Attributes:
        gridding_free: every stage schedule must pass the HDC rule and the
            coverage map of :mod:`kerasdil.receptive` (no holes).
        min_receptive_field: the receptive field of the feature extractor must
            be at least this many pixels on each side (28 = the whole MNIST
            image).
        max_params: at most this many parameters.
        max_macs: at most this many multiply-accumulates per image.

    Example:
        >>> Constraints(gridding_free=True, min_receptive_field=28).active()
        ['gridding_free', 'min_receptive_field']
    """

    gridding_free: bool = False
    min_receptive_field: Optional[int] = None
    max_params: Optional[int] = None
    max_macs: Optional[int] = None

    def __post_init__(self):
        for name in ("min_receptive_field", "max_params", "max_macs"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive int or None, got {value!r}.")

    def active(self) -> List[str]:
        """Names of the constraints that are switched on, in the order they are applied."""
        return [name for name, _ in self.rules()]

    def rules(self) -> List[Tuple[str, Callable[[Candidate], bool]]]:
        """(name, predicate) pairs; a predicate returns True to keep a candidate."""
        out = []
        if self.gridding_free:
            out.append(("gridding_free", lambda c: c.gridding_free))
        if self.min_receptive_field is not None:
            m = self.min_receptive_field
            out.append(("min_receptive_field", lambda c: min(c.receptive_field) >= m))
        if self.max_params is not None:
            p = self.max_params
            out.append(("max_params", lambda c: c.params <= p))
        if self.max_macs is not None:
            m2 = self.max_macs
            out.append(("max_macs", lambda c: c.macs <= m2))
        return out

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class PruneResult:
    """The outcome of :func:`prune`.

    Attributes:
        raw: number of candidates in the raw space.
        survivors: candidates every constraint keeps, in space order.
        removed_sequential: constraint -> candidates it removed when the
            constraints are applied one after another in ``Constraints.active()``
            order (each counts only what the earlier ones left).
        removed_individual: constraint -> candidates it would remove from the
            raw space on its own.
    """

    raw: int
    survivors: List[Candidate]
    removed_sequential: Dict[str, int]
    removed_individual: Dict[str, int]

    def summary(self) -> str:
        """Human-readable lines for the log and reports."""
        lines = [f"raw space: {self.raw:,} candidates"]
        left = self.raw
        for name, n in self.removed_sequential.items():
            alone = self.removed_individual[name]
            left -= n
            lines.append(
                f"  {name:<20} removes {n:>6,} ({_share(n, self.raw)} of raw) in sequence, "
                f"{alone:>6,} ({_share(alone, self.raw)}) alone; {left:,} left"
            )
        lines.append(f"searchable: {len(self.survivors):,} candidates")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "raw": self.raw,
            "survivors": len(self.survivors),
            "removed_sequential": dict(self.removed_sequential),
            "removed_individual": dict(self.removed_individual),
        }


def _share(n, total) -> str:
    return f"{100.0 * n / total:.1f}%" if total else "0%"


def prune(family: SearchFamily, space: ScheduleSpace, constraints: Constraints, *, input_shape=(28, 28, 1),
          num_classes=10) -> PruneResult:
    """Enumerate ``space`` for ``family`` and drop what ``constraints`` reject.

    Counts are reported two ways: sequentially (in the order of
    ``constraints.active()``) and individually (each constraint alone against
    the raw space).

    Args:
        family: e.g. :data:`MNIST_DSDC`.
        space: the raw space.
        constraints: the rules.
        input_shape, num_classes: the model's, for parameters, MACs and the field.

    Returns:
        PruneResult.

    Example:
        >>> r = prune(MNIST_DSDC, ScheduleSpace(widths=(16,)), Constraints(gridding_free=True))
        >>> r.raw, r.removed_sequential["gridding_free"] > 0
        (625, True)
    """
    candidates = family.candidates(space, input_shape, num_classes)
    rules = constraints.rules()
    sequential, individual = {}, {}
    left = candidates
    for name, keep in rules:
        individual[name] = sum(1 for c in candidates if not keep(c))
        kept = [c for c in left if keep(c)]
        sequential[name] = len(left) - len(kept)
        left = kept
    return PruneResult(len(candidates), left, sequential, individual)


def pareto_front(points: Sequence[Tuple[float, float]]) -> List[int]:
    """Indices of the points no other point beats: fewer-or-equal cost and higher-or-equal score.

    Args:
        points: (cost, score) pairs, e.g. (params, val_accuracy).

    Returns:
        indices into ``points`` of the Pareto-optimal ones, by increasing cost.

    Example:
        >>> pareto_front([(10, 0.9), (20, 0.8), (30, 0.95)])
        [0, 2]
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -math.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front
