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

Two families: :data:`MNIST_DSDC` (two stages, :class:`ScheduleSpace`) and
:data:`DEEPLAB_ASPP` (four backbone stages plus the ASPP rates and the output
stride, :class:`SegmenterSpace`; its parameters and MACs are computed for the
whole segmenter, decoder included; each stage's gridding verdict is taken on its
schedule at its natural stride, and the whole chain must be hole-free too).

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

import numpy as np

from kerasdil.receptive import LayerSpec, analyze_schedule, receptive_field
from kerasdil.zoo import mnist_record, segmentation_record

__all__ = [
    "ORDERS",
    "ScheduleSpace",
    "Candidate",
    "Constraints",
    "PruneResult",
    "SearchFamily",
    "MNIST_DSDC",
    "DEEPLAB_ASPP",
    "SegmenterSpace",
    "OPTION_CODES",
    "stage_schedules",
    "encode_candidate",
    "decode_candidate",
    "decode_options",
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

    def per_stage_schedules(self, stages: int) -> List[List[Tuple[int, ...]]]:
        """The schedules each of ``stages`` stages may take (here: the same list for every stage)."""
        return [self.stage_schedules()] * stages

    def option_sets(self) -> List[tuple]:
        """The combinations of a family's other hyperparameters (none here)."""
        return [()]

    def size(self, stages: int) -> int:
        """Number of raw candidates for a model with ``stages`` stages."""
        return len(self.stage_schedules()) ** stages * len(self.widths)

    def to_dict(self) -> dict:
        return {"depths": list(self.depths), "rates": list(self.rates), "order": self.order,
                "widths": list(self.widths)}

    @classmethod
    def from_dict(cls, data: dict) -> "ScheduleSpace":
        return cls(tuple(data["depths"]), tuple(data["rates"]), data["order"], tuple(data["widths"]))


#: Output strides deeplab_aspp accepts (its record's).
OUTPUT_STRIDES = segmentation_record.OUTPUT_STRIDES


def _rate_menu(name, values) -> Tuple[Tuple[int, ...], ...]:
    """A non-empty list of non-empty positive-int tuples, duplicates dropped, order kept."""
    example = "((1, 2, 3), (2, 4, 6))"
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ValueError(f"{name} must be a non-empty list of rate tuples such as {example}, got {values!r}.")
    out = []
    for item in values:
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or not item:
            raise ValueError(f"{name} must hold non-empty rate tuples such as {example}, got {item!r}.")
        for v in item:
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must hold positive ints, got {v!r} in {tuple(item)!r}.")
        rates = tuple(int(v) for v in item)
        if rates not in out:
            out.append(rates)
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class SegmenterSpace(ScheduleSpace):
    """The raw space of a deeplab_aspp search.

    A candidate is a rate schedule for each of the four backbone stages, a
    width, the ASPP rates and an output stride. The first ``searched_stages``
    stages draw every schedule of ``depths`` x ``rates`` (as
    :class:`ScheduleSpace`); the later ones, which run at 1/8 and 1/16 of the
    input where there is little left to search, each pick from the short
    ``later_stage_schedules`` menu. Rates are given at each stage's natural
    stride, as ``deeplab_aspp(dilation_schedule=...)`` takes them; stages past
    the output stride multiply them (x2, x4).

    Attributes:
        depths, rates, order, widths: as :class:`ScheduleSpace`, for the
            searched stages; widths are the stem channels (stages use 2x, 3x,
            4x, 4x). Defaults (2, 3), (1, 2, 3, 5), "increasing", (12, 18).
        searched_stages: how many leading stages draw from depths x rates
            (0 to 4). Default 2.
        later_stage_schedules: the menu of the other stages. Default
            ((1, 2, 3), (1, 2)).
        aspp_rates: the menu of ASPP rate tuples, used as given (not scaled
            with the output stride). Default ((1, 2, 3), (2, 4, 6), (3, 6, 9), (2, 4, 8)).
        output_strides: from (4, 8, 16). Default all three; the input height
            and width must be multiples of each.

    Raises:
        ValueError: bad lists, an output stride not in (4, 8, 16), or
            searched_stages outside 0..4.

    Example:
        >>> SegmenterSpace().size(stages=4)
        9600
    """

    depths: Tuple[int, ...] = (2, 3)
    rates: Tuple[int, ...] = (1, 2, 3, 5)
    order: str = "increasing"
    widths: Tuple[int, ...] = (12, 18)
    searched_stages: int = 2
    later_stage_schedules: Tuple[Tuple[int, ...], ...] = ((1, 2, 3), (1, 2))
    aspp_rates: Tuple[Tuple[int, ...], ...] = ((1, 2, 3), (2, 4, 6), (3, 6, 9), (2, 4, 8))
    output_strides: Tuple[int, ...] = OUTPUT_STRIDES

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.searched_stages, bool) or not isinstance(self.searched_stages, int) \
                or not 0 <= self.searched_stages <= 4:
            raise ValueError(f"searched_stages must be an int from 0 to 4, got {self.searched_stages!r}.")
        object.__setattr__(self, "later_stage_schedules",
                           _rate_menu("later_stage_schedules", self.later_stage_schedules))
        object.__setattr__(self, "aspp_rates", _rate_menu("aspp_rates", self.aspp_rates))
        strides = _positive_ints("output_strides", self.output_strides)
        bad = [s for s in strides if s not in OUTPUT_STRIDES]
        if bad:
            raise ValueError(f"output_strides must come from {OUTPUT_STRIDES}, got {bad[0]!r}.")
        object.__setattr__(self, "output_strides", strides)

    def per_stage_schedules(self, stages: int) -> List[List[Tuple[int, ...]]]:
        """The schedules each of ``stages`` stages may take."""
        searched = self.stage_schedules()
        later = list(self.later_stage_schedules)
        return [searched if i < self.searched_stages else later for i in range(stages)]

    def option_sets(self) -> List[tuple]:
        """Every (ASPP rates, output stride) pair, output stride outermost."""
        return [(("aspp_rates", rates), ("output_stride", stride))
                for stride in self.output_strides for rates in self.aspp_rates]

    def size(self, stages: int) -> int:
        return (math.prod(len(s) for s in self.per_stage_schedules(stages)) * len(self.widths)
                * len(self.aspp_rates) * len(self.output_strides))

    def to_dict(self) -> dict:
        return {**super().to_dict(), "searched_stages": self.searched_stages,
                "later_stage_schedules": [list(s) for s in self.later_stage_schedules],
                "aspp_rates": [list(r) for r in self.aspp_rates], "output_strides": list(self.output_strides)}

    @classmethod
    def from_dict(cls, data: dict) -> "SegmenterSpace":
        return cls(tuple(data["depths"]), tuple(data["rates"]), data["order"], tuple(data["widths"]),
                   data["searched_stages"], tuple(tuple(s) for s in data["later_stage_schedules"]),
                   tuple(tuple(r) for r in data["aspp_rates"]), tuple(data["output_strides"]))

    @classmethod
    def from_schedule_space(cls, space: ScheduleSpace, **overrides) -> "SegmenterSpace":
        """A SegmenterSpace with the depths, rates, order and widths of ``space`` and default menus."""
        if isinstance(space, cls) and not overrides:
            return space
        base = {"depths": space.depths, "rates": space.rates, "order": space.order, "widths": space.widths}
        if isinstance(space, cls):
            base.update(searched_stages=space.searched_stages, later_stage_schedules=space.later_stage_schedules,
                        aspp_rates=space.aspp_rates, output_strides=space.output_strides)
        return cls(**{**base, **overrides})


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


#: Options a candidate may carry besides its schedule and width: name -> (code in the key, type).
#: A family with other discrete hyperparameters adds its own here.
OPTION_CODES: Dict[str, Tuple[str, type]] = {"aspp_rates": ("aspp", tuple), "output_stride": ("os", int)}

Options = Tuple[Tuple[str, object], ...]


def _normalize_options(options) -> Options:
    """``{"aspp_rates": [2, 4, 6], "output_stride": 8}`` -> ``(("aspp_rates", (2, 4, 6)), ("output_stride", 8))``."""
    if not options:
        return ()
    items = options.items() if isinstance(options, dict) else options
    out = []
    for name, value in items:
        if name not in OPTION_CODES:
            raise ValueError(f"unknown candidate option {name!r}; known: {', '.join(OPTION_CODES)}.")
        kind = OPTION_CODES[name][1]
        out.append((name, tuple(int(v) for v in value) if kind is tuple else int(value)))
    return tuple(out)


def encode_candidate(schedule: Schedule, width: int, options=()) -> str:
    """The string keras-tuner sees for one candidate.

    ``"s1=1,2,5;s2=1,2,3;w=16"``; options follow the width in the order given,
    e.g. ``"...;w=18;aspp=2,4,6;os=8"`` (codes in :data:`OPTION_CODES`).
    """
    stages = ";".join(f"s{i + 1}=" + ",".join(map(str, rates)) for i, rates in enumerate(schedule))
    extra = ""
    for name, value in _normalize_options(options):
        text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        extra += f";{OPTION_CODES[name][0]}={text}"
    return f"{stages};w={int(width)}{extra}"


_KEY = re.compile(r"^(s\d+=\d+(?:,\d+)*;)+w=\d+(?:;[a-z]+=\d+(?:,\d+)*)*$")


def _split_key(key: str):
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(f"not a schedule candidate key such as 's1=1,2,5;s2=1,2,3;w=16': {key!r}.")
    parts = key.split(";")
    w = next(i for i, p in enumerate(parts) if p.startswith("w="))
    return parts[:w], parts[w], parts[w + 1:]


def decode_candidate(key: str) -> Tuple[Schedule, int]:
    """Inverse of :func:`encode_candidate`: ``(schedule, width)``; options: :func:`decode_options`.

    Raises:
        ValueError: ``key`` is not of the form ``"s1=1,2,5;s2=1,2,3;w=16"``
            (optionally followed by ``";aspp=2,4,6;os=8"``).
    """
    stages, width, extra = _split_key(key)
    schedule = tuple(tuple(int(r) for r in p.split("=", 1)[1].split(",")) for p in stages)
    if any(r < 1 for rates in schedule for r in rates):
        raise ValueError(f"dilation rates must be positive in {key!r}.")
    decode_options(key)
    return schedule, int(width.split("=", 1)[1])


def decode_options(key: str) -> Dict[str, object]:
    """The options of a candidate key: ``{"aspp_rates": (2, 4, 6), "output_stride": 8}``, or ``{}``.

    Raises:
        ValueError: a malformed key or an unknown option code.
    """
    _, _, extra = _split_key(key)
    codes = {code: name for name, (code, _) in OPTION_CODES.items()}
    out = {}
    for part in extra:
        code, text = part.split("=", 1)
        if code not in codes:
            raise ValueError(f"unknown option {code!r} in candidate key {key!r}; known: {', '.join(codes)}.")
        name = codes[code]
        values = tuple(int(v) for v in text.split(","))
        if OPTION_CODES[name][1] is not tuple and len(values) != 1:
            raise ValueError(f"option {code!r} takes one number in candidate key {key!r}.")
        out[name] = values if OPTION_CODES[name][1] is tuple else values[0]
    return out


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
            whole feature extractor, in input pixels (deeplab_aspp: backbone
            plus the widest ASPP branch).
        stage_gridding_free: per stage, the coverage-map verdict on the stage's
            schedule at its natural stride (``schedule``; a deeplab stage past the
            output stride runs it multiplied, see ``stage_rates``, on a map the
            earlier stages already cover, which ``model_gridding_free`` checks).
        stage_hdc_gridding_free: per stage, the HDC-rule verdict on them.
        model_gridding_free: coverage verdict of the whole chain (stem,
            pools and stages together).
        params: parameters of the built model (what ``model.count_params()``
            reports, BN statistics included).
        macs: multiply-accumulates of the conv and dense layers per image
            (what ``kerasdil.zoo.stats.count_macs`` reports).
        options: the family's other hyperparameters, e.g.
            ``(("aspp_rates", (2, 4, 6)), ("output_stride", 8))``; empty for mnist_dsdc.
        stage_rates: the rates each stage runs with in the built model; equal
            to ``schedule`` unless the family rescales them (deeplab_aspp
            multiplies the stages past the output stride).
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
    options: Options = ()
    stage_rates: Optional[Schedule] = None

    def __post_init__(self):
        if self.stage_rates is None:
            object.__setattr__(self, "stage_rates", self.schedule)

    @property
    def option_values(self) -> dict:
        """``options`` as a dict."""
        return dict(self.options)

    @property
    def gridding_free(self) -> bool:
        """Every stage passes both the HDC rule and the coverage map."""
        return (
            all(self.stage_gridding_free)
            and all(v is not False for v in self.stage_hdc_gridding_free)
            and self.model_gridding_free
        )

    @property
    def gridding_verdict(self) -> str:
        """Short text for reports: "free", or which stages grid."""
        bad = [
            f"s{i + 1}"
            for i, (cov, hdc) in enumerate(zip(self.stage_gridding_free, self.stage_hdc_gridding_free))
            if not cov or hdc is False
        ]
        if bad:
            return "grids in " + ",".join(bad)
        return "free" if self.model_gridding_free else "grids (whole chain)"

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
            **({"stage_rates": [list(s) for s in self.stage_rates]} if self.stage_rates != self.schedule else {}),
            **{name: list(v) if isinstance(v, tuple) else v for name, v in self.options},
        }


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
        space_type: :class:`ScheduleSpace` or :class:`SegmenterSpace`.
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
    specs = _FAMILY_SPECS[family_name](schedule, input_shape, **dict(options))
    if all(s.kernel[0] == s.kernel[1] and s.stride[0] == s.stride[1] and s.dilation[0] == s.dilation[1]
           for s in specs):
        side, free = _square_chain(specs)
        return (side, side), free
    rf = receptive_field(specs)
    return rf.size, rf.gridding_free


_FAMILY_SPECS: Dict[str, Callable] = {}


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


# Each family's cost model (parameters and MACs without building the model) and
# defaults come from its zoo record (kerasdil/zoo/*_record.py), beside the builder
# they mirror; tests/test_tune.py and tests/test_tune_deeplab.py pin them against
# the built models.
_MNIST_RECORD = mnist_record.MNIST_DSDC_RECORD
_DEEPLAB_RECORD = segmentation_record.DEEPLAB_ASPP_RECORD


def _mnist_specs(schedule, input_shape):
    specs = [LayerSpec(3)]
    for rates in schedule:
        specs.append(LayerSpec(2, 2))
        specs.extend(LayerSpec(3, 1, r) for r in rates)
    return specs


MNIST_DSDC = SearchFamily(
    name="mnist_dsdc",
    stages=2,
    layer_specs=_mnist_specs,
    cost=_MNIST_RECORD.cost,
    # The family pins the stem and stage widths it mirrors, whatever the builder's defaults.
    builder_kwargs=lambda schedule, width: {"dilation_schedule": schedule, "width": width, "stem": "pool",
                                            "stage_filters": [width * m for m in mnist_record.STAGE_MULTIPLIERS]},
    default_schedule=mnist_record.DEFAULT_SCHEDULE,
    default_width=16,
)


def _deeplab_stage_rates(schedule, aspp_rates=None, output_stride=segmentation_record.DEFAULT_OUTPUT_STRIDE):
    return segmentation_record.deeplab_stage_rates(schedule, output_stride)


def _deeplab_specs(schedule, input_shape, aspp_rates, output_stride, stem="full"):
    # The ASPP branches are parallel; the widest one bounds the field (image pooling is
    # global and not counted), as ASPP.receptive_field_layers() says. A strided stem takes
    # stage1's pool.
    specs, stride = ([LayerSpec(3, 2)], 2) if stem == "strided" else ([LayerSpec(3)], 1)
    for i, rates in enumerate(_deeplab_stage_rates(schedule, output_stride=output_stride)):
        if stride < output_stride and not (i == 0 and stem == "strided"):
            specs.append(LayerSpec(2, 2))
            stride *= 2
        specs.extend(LayerSpec(3, 1, r) for r in rates)
    specs.append(LayerSpec(3, 1, max(aspp_rates)))
    return specs


def _deeplab_check(space, input_shape):
    h, w = input_shape[0], input_shape[1]
    for stride in space.output_strides:
        if h % stride or w % stride:
            fits = [str(s) for s in OUTPUT_STRIDES if not h % s and not w % s]
            hint = (f"search output stride{'s' if len(fits) > 1 else ''} {','.join(fits)} only" if fits
                    else "pick another input size")
            raise ValueError(
                f"deeplab_aspp: output stride {stride} does not divide the input size {h}x{w}; "
                f"{hint}, or use an input size whose sides are multiples of {stride}."
            )


DEEPLAB_ASPP = SearchFamily(
    name="deeplab_aspp",
    stages=4,
    layer_specs=_deeplab_specs,
    cost=_DEEPLAB_RECORD.cost,
    builder_kwargs=lambda schedule, width, aspp_rates, output_stride: {
        "dilation_schedule": schedule, "width": width, "aspp_rates": aspp_rates, "output_stride": output_stride},
    default_schedule=tuple(schedule for _, schedule, _ in segmentation_record.BACKBONE_STAGES),
    default_width=segmentation_record.BACKBONE_WIDTH,
    default_options=(("aspp_rates", segmentation_record.ASPP_RATES_AT_OS8),
                     ("output_stride", segmentation_record.DEFAULT_OUTPUT_STRIDE)),
    stage_rates=_deeplab_stage_rates,
    space_type=SegmenterSpace,
    input_shape=_DEEPLAB_RECORD.input_shape,
    num_classes=_DEEPLAB_RECORD.num_classes,
    task=_DEEPLAB_RECORD.task,
    objective="val_mean_iou",
    check=_deeplab_check,
)


def _mobile_specs(schedule, input_shape, aspp_rates, output_stride):
    # MOBILE_CONFIG: stage1 has no blocks, the strided stem takes its place.
    return _deeplab_specs(((),) + tuple(schedule), input_shape, aspp_rates, output_stride, stem="strided")


def _mobile_stage_rates(schedule, aspp_rates=None, output_stride=segmentation_record.DEFAULT_OUTPUT_STRIDE):
    return segmentation_record.deeplab_stage_rates(((),) + tuple(schedule), output_stride)[1:]


#: deeplab_aspp's mobile configuration (``MOBILE_CONFIG``): the schedules of stages 2-4
#: (stage1 stays empty, the strided stem takes its place), the ASPP rates and the output
#: stride are searched; the stem, stage widths and light head stay MOBILE_CONFIG's.
DEEPLAB_ASPP_MOBILE = dataclasses.replace(
    DEEPLAB_ASPP,  # the same options, space type, task, objective and input-size check
    name="deeplab_aspp_mobile",
    stages=3,
    layer_specs=_mobile_specs,
    cost=segmentation_record.deeplab_aspp_mobile_cost,
    builder_kwargs=lambda schedule, width, aspp_rates, output_stride: {
        **segmentation_record.MOBILE_FIXED, "dilation_schedule": ((),) + tuple(tuple(r) for r in schedule),
        "width": width, "aspp_rates": aspp_rates, "output_stride": output_stride},
    default_schedule=tuple(tuple(r) for r in segmentation_record.MOBILE_CONFIG["dilation_schedule"][1:]),
    default_width=segmentation_record.MOBILE_CONFIG["width"],
    stage_rates=_mobile_stage_rates,
    zoo_model="deeplab_aspp",
    space_defaults=(("depths", (1, 2, 3)), ("rates", (1, 2, 3, 4)),
                    ("widths", (segmentation_record.MOBILE_CONFIG["width"],)),
                    ("later_stage_schedules", ((1, 2), (1, 2, 3), (1,))), ("output_strides", (8,))),
    default_text="deeplab_aspp(**MOBILE_CONFIG), kerasdil/zoo/segmentation_record.py",
    first_stage=2,
)


def register_family(family: SearchFamily) -> SearchFamily:
    """Make a :class:`SearchFamily` known to :func:`kerasdil.tune.get_family`.

    This is the hook for new zoo models: describe how a candidate maps onto
    layer specs, parameters and MACs, and which builder arguments it sets
    (:data:`DEEPLAB_ASPP` shows a family with options, its own space type and
    a segmentation objective).
    """
    _FAMILY_SPECS[family.name] = family.layer_specs
    FAMILIES[family.name] = family
    return family


#: Families the schedule search knows, by zoo model name (or configuration name, such as
#: ``deeplab_aspp_mobile``).
FAMILIES: Dict[str, SearchFamily] = {}
register_family(MNIST_DSDC)
register_family(DEEPLAB_ASPP)
register_family(DEEPLAB_ASPP_MOBILE)
from kerasdil.zoo.series_dsdc import search as _series_search  # noqa: E402  (until families come from the entries)
register_family(SearchFamily(**_series_search.SERIES_DSDC))


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
