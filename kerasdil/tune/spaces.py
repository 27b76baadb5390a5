"""Schedule search spaces and candidate keys, in plain Python.

:class:`ScheduleSpace` (depths, rates, order and widths per stage) and
:class:`SegmenterSpace` (plus ASPP rates and output strides) enumerate the raw
candidates; a candidate is one dilation schedule per stage, a width and the
family's options, encoded as a key such as ``"s1=1,2,5;s2=1,2,3;w=16"``
(:func:`encode_candidate`, :func:`decode_candidate`). :class:`Candidate` holds
what :mod:`kerasdil.tune.constraints` measured for it.

Example:
    >>> decode_candidate("s1=1,2,5;s2=1,2,3;w=16")
    (((1, 2, 5), (1, 2, 3)), 16)
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from typing import Dict, List, Optional, Sequence, Tuple

from kerasdil.zoo.deeplab_aspp.plan import OUTPUT_STRIDES

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
