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

The families come from the zoo entries (:data:`FAMILIES`, loaded from each
record's ``search_families``): mnist_dsdc's two stages (:class:`ScheduleSpace`),
deeplab_aspp's four backbone stages plus the ASPP rates and the output stride
(:class:`SegmenterSpace`; parameters and MACs for the whole segmenter, decoder
included; each stage's gridding verdict on its schedule at its natural stride,
and the whole chain hole-free too), and its mobile configuration.

Example:
    >>> from kerasdil.tune.constraints import FAMILIES, ScheduleSpace, Constraints, prune
    >>> result = prune(FAMILIES["mnist_dsdc"], ScheduleSpace(), Constraints(gridding_free=True, max_params=30_000))
    >>> print(result.summary())                              # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Mapping
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from kerasdil.receptive import analyze_schedule, receptive_field
from kerasdil.tune.spaces import (  # noqa: F401  (importable from here too)
    OPTION_CODES,
    ORDERS,
    Candidate,
    Options,
    Schedule,
    ScheduleSpace,
    SegmenterSpace,
    _normalize_options,
    decode_candidate,
    decode_options,
    encode_candidate,
    format_schedule,
    stage_schedules,
)


# ---------------------------------------------------------------------------
# model families: how a candidate maps onto layers, parameters and MACs


@dataclasses.dataclass(frozen=True)
class SearchFamily:
    """What the search needs to know about one zoo model, without building it.

    Attributes:
        name: zoo model name.
        stages: number of stages with a dilation schedule.
        layer_specs: ``(schedule, input_shape, **options) -> [LayerSpec]``,
            the chain from the input to the feature map the receptive field
            is measured on.
        cost: ``(schedule, width, input_shape, num_classes, **options) -> (params, macs)``.
        builder_kwargs: ``(schedule, width, **options) -> dict`` of builder arguments.
        default_schedule: the hand-designed schedule of the zoo entry.
        default_width: its default width.
        default_options: its other hyperparameters, e.g.
            ``(("aspp_rates", (2, 4, 6)), ("output_stride", 8))``; these
            names (see :data:`OPTION_CODES`) are the family's options, in key order.
        stage_rates: optional ``(schedule, **options) -> schedule``: the rates
            each stage runs with, when the family rescales them (reported; the
            per-stage gridding verdicts are taken on the natural schedule and
            the whole chain is checked with these).
        space_type: :class:`ScheduleSpace` or :class:`SegmenterSpace` (or their
            names "schedule", "segmenter", so a zoo entry can describe its
            family as plain data).
        input_shape, num_classes: the zoo entry's defaults.
        task: the :mod:`kerasdil.tasks` task whose loss, metrics and data the
            search uses ("classification" or "segmentation").
        objective: the metric the search maximises (a Keras log name).
        check: optional ``(space, input_shape) -> None`` that raises
            ValueError for a space the model cannot take at that input size.
        zoo_model: the zoo model the candidates are built with, when the
            family is one configuration of it (``"deeplab_aspp"`` for
            ``deeplab_aspp_mobile``); None: the family's ``name``. Such a
            family's hand default is its own default candidate, not the zoo
            entry's builder defaults.
        space_defaults: ``(field, value)`` pairs that replace the space type's
            defaults in :meth:`make_space` (e.g. a family with one width).
        default_text: how reports name the hand default; None: ``create_model(name)``.
        first_stage: the model's number of the first searched stage (reports say
            "stage 2 / stage 3 / ..." for a family whose stage1 is fixed).
        zoo_config: optional ``(builder defaults) -> dict``: the defaults with
            what the builder resolves from None (its schedule, option values)
            filled in, so the zoo default is measured as built.
    """

    name: str
    stages: int
    layer_specs: Callable
    cost: Callable
    builder_kwargs: Callable
    default_schedule: Schedule
    default_width: int
    default_options: Options = ()
    stage_rates: Optional[Callable] = None
    space_type: type = ScheduleSpace
    input_shape: Tuple[int, int, int] = (28, 28, 1)
    num_classes: int = 10
    task: str = "classification"
    objective: str = "val_accuracy"
    check: Optional[Callable] = None
    zoo_model: Optional[str] = None
    space_defaults: Tuple = ()
    default_text: Optional[str] = None
    first_stage: int = 1
    zoo_config: Optional[Callable] = None

    def __post_init__(self):
        if isinstance(self.space_type, str):
            spaces = {"schedule": ScheduleSpace, "segmenter": SegmenterSpace}
            if self.space_type not in spaces:
                raise ValueError(f"family {self.name}: space_type must be one of {', '.join(spaces)}, "
                                 f"got {self.space_type!r}.")
            object.__setattr__(self, "space_type", spaces[self.space_type])

    @property
    def model_name(self) -> str:
        """The zoo model that builds the candidates."""
        return self.zoo_model or self.name

    def default_builder_kwargs(self) -> dict:
        """Builder arguments of the hand default (for a configuration family; ``{}`` for a zoo
        model's own family, whose hand default is ``create_model(name)``)."""
        if self.zoo_model is None:
            return {}
        return self.builder_kwargs(self.default_schedule, self.default_width, **dict(self.default_options))

    def make_space(self, **fields) -> ScheduleSpace:
        """The family's space type with ``fields`` over the family's defaults."""
        return self.space_type(**{**dict(self.space_defaults), **fields})

    def options_of(self, options=None) -> Options:
        """``options`` over the family's defaults, in the family's order.

        Raises:
            ValueError: an option this family does not have.
        """
        given = dict(_normalize_options(options))
        known = [name for name, _ in self.default_options]
        unknown = [name for name in given if name not in known]
        if unknown:
            raise ValueError(f"{self.name} has no option {unknown[0]!r}"
                             + (f"; its options: {', '.join(known)}." if known else "."))
        return tuple((name, given.get(name, default)) for name, default in self.default_options)

    def default_space(self) -> ScheduleSpace:
        """The raw space searched when none is given."""
        return self.make_space()

    def check_space(self, space: Optional[ScheduleSpace], input_shape=None) -> ScheduleSpace:
        """``space`` in the family's space type, checked against the input size.

        A plain :class:`ScheduleSpace` given for a segmenter takes the default
        segmenter menus; a :class:`SegmenterSpace` given for a classifier is an
        error (its ASPP rates and output strides would be ignored).

        Raises:
            ValueError: as above, or the family's ``check`` (e.g. an output
                stride that does not divide the input size).
        """
        space = self.default_space() if space is None else space
        if not isinstance(space, ScheduleSpace):
            raise ValueError(f"space must be a ScheduleSpace, got {type(space).__name__}.")
        if issubclass(self.space_type, SegmenterSpace):
            menus = {k: v for k, v in self.space_defaults if k not in ("depths", "rates", "order", "widths")}
            space = SegmenterSpace.from_schedule_space(space, **({} if isinstance(space, SegmenterSpace) else menus))
        elif isinstance(space, SegmenterSpace):
            raise ValueError(f"{self.name} has no ASPP rates or output stride to search; "
                             "give it a ScheduleSpace, not a SegmenterSpace.")
        if self.check is not None:
            self.check(space, tuple(input_shape or self.input_shape))
        return space

    def measure(self, schedule: Schedule, width: int, input_shape=None, num_classes=None, options=None) -> Candidate:
        """Measure one candidate (cached); ``options`` default to the family's."""
        return _measure(self, tuple(tuple(s) for s in schedule), int(width), tuple(input_shape or self.input_shape),
                        int(num_classes or self.num_classes), self.options_of(options))

    def measure_key(self, key: str, input_shape=None, num_classes=None) -> Candidate:
        """Measure the candidate of an encoded key."""
        schedule, width = decode_candidate(key)
        return self.measure(schedule, width, input_shape, num_classes, decode_options(key))

    @property
    def default_key(self) -> str:
        """The key of the hand-designed default."""
        return encode_candidate(self.default_schedule, self.default_width, self.default_options)

    def candidates(self, space: Optional[ScheduleSpace] = None, input_shape=None, num_classes=None) -> List[Candidate]:
        """Every raw candidate of ``space``, measured, in a stable order."""
        space = self.check_space(space, input_shape)
        per_stage = space.per_stage_schedules(self.stages)
        option_sets = space.option_sets() if self.default_options else [()]
        return [
            self.measure(schedule, width, input_shape, num_classes, options)
            for width in space.widths
            for options in option_sets
            for schedule in itertools.product(*per_stage)
        ]


@functools.lru_cache(maxsize=4096)
def _stage_verdicts(rates: Tuple[int, ...]) -> Tuple[bool, Optional[bool]]:
    report = analyze_schedule(rates)
    return report.coverage_gridding_free, report.hdc_gridding_free


def _square_chain(specs) -> Tuple[int, bool]:
    """Side and hole verdict of a chain of square layers, one axis, reachability only.

    The same answer as ``receptive_field(specs)`` (whose 2-D map is the outer
    product of two equal axes here) without path counts, which for the deep
    segmenter chains overflow int64 and make that exact count slow.
    """
    reach = np.ones(1, dtype=bool)
    jump = 1
    for s in specs:
        k, d = s.kernel[0], s.dilation[0]
        if k > 1:
            step = jump * d
            wider = np.zeros(reach.size + (k - 1) * step, dtype=bool)
            for j in range(k):
                wider[j * step : j * step + reach.size] |= reach
            reach = wider
        jump *= s.stride[0]
    return reach.size, bool(reach.all())


@functools.lru_cache(maxsize=65536)
def _chain(family_name: str, schedule: Schedule, input_shape, options: Options = ()) -> Tuple[Tuple[int, int], bool]:
    specs = FAMILIES[family_name].layer_specs(schedule, input_shape, **dict(options))
    if all(s.kernel[0] == s.kernel[1] and s.stride[0] == s.stride[1] and s.dilation[0] == s.dilation[1]
           for s in specs):
        side, free = _square_chain(specs)
        return (side, side), free
    rf = receptive_field(specs)
    return rf.size, rf.gridding_free


@functools.lru_cache(maxsize=65536)
def _measure(family: SearchFamily, schedule, width, input_shape, num_classes, options=()) -> Candidate:
    if len(schedule) != family.stages:
        raise ValueError(f"{family.name} takes {family.stages} stage schedules, got {len(schedule)}: {schedule!r}.")
    opts = dict(options)
    used = tuple(tuple(r) for r in family.stage_rates(schedule, **opts)) if family.stage_rates else schedule
    # Each stage is judged on its own schedule at its natural stride (a stage past the
    # output stride runs it doubled on a map that earlier stages already cover densely);
    # the whole chain's coverage catches any hole that this misses.
    verdicts = [_stage_verdicts(tuple(rates)) for rates in schedule]
    size, model_free = _chain(family.name, schedule, input_shape, options)
    params, macs = family.cost(schedule, width, input_shape, num_classes, **opts)
    return Candidate(
        key=encode_candidate(schedule, width, options),
        schedule=schedule,
        width=width,
        receptive_field=tuple(size),
        stage_gridding_free=tuple(v[0] for v in verdicts),
        stage_hdc_gridding_free=tuple(v[1] for v in verdicts),
        model_gridding_free=model_free,
        params=int(params),
        macs=int(macs),
        options=options,
        stage_rates=used,
    )


def register_family(family: SearchFamily) -> SearchFamily:
    """Make a :class:`SearchFamily` known to :func:`kerasdil.tune.get_family`.

    A zoo entry's families are found without this: its record names them
    (``ZooRecord.search_families``, e.g. ``kerasdil/zoo/deeplab_aspp/search.py``),
    and :data:`FAMILIES` loads them on first use. Call it for a family of your
    own model.
    """
    FAMILIES._families[family.name] = family
    return family


class _Families(Mapping):
    """Families by name (a zoo model's, or a configuration's such as ``deeplab_aspp_mobile``),
    loaded from the zoo entries' records on first use."""

    def __init__(self):
        self._families: Dict[str, SearchFamily] = {}
        self._loaded = False

    def _load(self):
        if not self._loaded:
            self._loaded = True
            from kerasdil.zoo.registry import list_models, model_info

            for name in list_models():
                for fields in model_info(name).record.load_search_families():
                    family = fields if isinstance(fields, SearchFamily) else SearchFamily(**fields)
                    self._families.setdefault(family.name, family)
        return self._families

    def __getitem__(self, name):
        return self._load()[name]

    def __iter__(self):
        return iter(self._load())

    def __len__(self):
        return len(self._load())


#: Families the schedule search knows, by name.
FAMILIES = _Families()


def __getattr__(name):
    # MNIST_DSDC, DEEPLAB_ASPP, DEEPLAB_ASPP_MOBILE: the zoo entries' families, by their former names here.
    if name.isupper() and name.lower() in FAMILIES:
        return FAMILIES[name.lower()]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------
# constraints


@dataclasses.dataclass(frozen=True)
class Constraints:
    """Rules applied to every candidate before the search.

    Attributes:
        gridding_free: every stage schedule must pass the HDC rule and the
            coverage map of :mod:`kerasdil.receptive` (no holes), and so must
            the whole chain (``Candidate.model_gridding_free``). For
            deeplab_aspp a stage is judged on its schedule at its natural
            stride: a stage past the output stride runs (1, 2, 3) as (2, 4, 6),
            whose taps alone sit on even offsets, but on a map the earlier
            stages already cover densely (DeepLab's multi-grid), and the
            whole-chain check confirms that no hole remains.
        min_receptive_field: the receptive field of the feature extractor must
            be at least this many pixels on each side (28 = the whole MNIST
            image). For deeplab_aspp: the backbone plus the widest ASPP branch
            (the branches are parallel; image pooling, global, is not counted;
            the decoder's few full-resolution 3x3 convs are not counted either).
        max_params: at most this many parameters (exactly ``model.count_params()``).
        max_macs: at most this many multiply-accumulates per image (exactly
            ``kerasdil.zoo.stats.count_macs(model)``).

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
        extremes: over the raw space, the fewest params, fewest MACs and the
            largest receptive field (side), to say how far a budget is off.
    """

    raw: int
    survivors: List[Candidate]
    removed_sequential: Dict[str, int]
    removed_individual: Dict[str, int]
    extremes: Dict[str, int] = dataclasses.field(default_factory=dict)

    def empty_message(self, constraints: Optional["Constraints"] = None) -> str:
        """One sentence for a search with nothing left: which constraints emptied the space, what to relax."""
        removed = ", ".join(f"{name} removed {n:,}" for name, n in self.removed_sequential.items() if n)
        text = f"no candidate is left to search: of {self.raw:,} candidates, {removed or 'nothing was removed'}"
        hints = []
        if constraints is not None and self.extremes:
            limits = (("max_params", "params", "the smallest candidate has {:,} parameters"),
                      ("max_macs", "macs", "the cheapest has {:,} MACs"),
                      ("min_receptive_field", "receptive_field", "the largest receptive field is {:,} pixels"))
            for name, extreme, words in limits:
                value = getattr(constraints, name)
                best = self.extremes.get(extreme)
                if value is None or best is None:
                    continue
                if (name == "min_receptive_field" and best < value) or (name != "min_receptive_field" and best > value):
                    hints.append(f"{words.format(best)} (--{name.replace('_', '-')} {value:,})")
        if hints:
            text += "; " + "; ".join(hints)
        return text + "; relax the constraints or widen the space."

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


def prune(family: SearchFamily, space: Optional[ScheduleSpace], constraints: Constraints, *, input_shape=None,
          num_classes=None) -> PruneResult:
    """Enumerate ``space`` for ``family`` and drop what ``constraints`` reject.

    Counts are reported two ways: sequentially (in the order of
    ``constraints.active()``) and individually (each constraint alone against
    the raw space).

    Args:
        family: e.g. :data:`MNIST_DSDC` or :data:`DEEPLAB_ASPP`.
        space: the raw space (None: the family's default space).
        constraints: the rules.
        input_shape, num_classes: the model's, for parameters, MACs and the
            field (default: the zoo entry's).

    Returns:
        PruneResult.

    Raises:
        ValueError: a space the family cannot take at this input size (e.g.
            an output stride that does not divide it).

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
    extremes = {}
    if candidates:
        extremes = {"params": min(c.params for c in candidates), "macs": min(c.macs for c in candidates),
                    "receptive_field": max(min(c.receptive_field) for c in candidates)}
    return PruneResult(len(candidates), left, sequential, individual, extremes)


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
