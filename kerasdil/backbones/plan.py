"""The DSDC backbone's stage plan, in plain Python (no Keras, no TensorFlow).

A DSDC backbone is a 3x3 ``stem`` conv and stages of DSDC blocks, each after a
2x2 max-pool; once the ``output_stride`` is reached, a stage gives up its pool
and multiplies its rates by the stride it gave up (DeepLab's trade of stride for
dilation). :func:`backbone_plan` says, stage by stage, what the builder
(:func:`kerasdil.backbones.dsdc.dsdc_backbone`) makes. The same plan gives the
backbone's receptive-field chain (:meth:`BackbonePlan.layer_specs`) and its
parameters and MACs (:meth:`BackbonePlan.count`), so the zoo's costs, receptive
fields and schedule searches read the architecture from the one place the
builder reads it.

Example:
    >>> plan = backbone_plan(((), (1, 2, 3)), (32, 64), width=32, stem="strided")
    >>> [(s.name, s.pool, s.rates, s.stride) for s in plan.stages]
    [('stage1', False, (), 2), ('stage2', True, (1, 2, 3), 4)]
"""

import dataclasses
from typing import Optional, Tuple


#: Stems: a 3x3 conv at full size ("full"; the classifiers call it "pool": the
#: first stage's max-pool follows it), a stride-2 3x3 conv that takes the first
#: stage's pool ("strided"), or SpaceToDepth(2) and a 3x3 conv at half size.
STEMS = ("full", "pool", "strided", "space_to_depth")


@dataclasses.dataclass
class Tally:
    """Parameters (all, and those not trained: BN moving statistics) and MACs per image."""

    params: int = 0
    non_trainable: int = 0
    macs: int = 0

    def conv(self, h, w, channels, filters, kernel=1, *, bias=True, batchnorm=False):
        """A Conv2D (``bias``) and its BatchNormalization (``batchnorm``) on an (h, w) output."""
        self.params += kernel * kernel * channels * filters + (filters if bias else 0)
        self.macs += h * w * kernel * kernel * channels * filters
        self.norm(filters if batchnorm else 0)

    def separable(self, h, w, channels, filters, *, batchnorm=True):
        """A DSDC block: 3x3 depthwise (no bias), 1x1 pointwise, BN (or a bias without BN)."""
        self.params += 9 * channels + channels * filters + (0 if batchnorm else filters)
        self.macs += h * w * (9 * channels + channels * filters)
        self.norm(filters if batchnorm else 0)

    def norm(self, channels):
        """A BatchNormalization over ``channels``: gamma, beta trained; mean, variance not."""
        self.params += 4 * channels
        self.non_trainable += 2 * channels

    @property
    def trainable(self):
        return self.params - self.non_trainable


@dataclasses.dataclass(frozen=True)
class Stage:
    """One backbone stage as built: ``pool`` before it, blocks at ``rates``, its map at ``stride``."""

    name: str
    pool: bool
    rates: Tuple[int, ...]
    filters: int
    stride: int


@dataclasses.dataclass(frozen=True)
class BackbonePlan:
    """What :func:`backbone_plan` decided: the stem and the stages."""

    stem: str
    width: int
    stages: Tuple[Stage, ...]

    @property
    def stem_stride(self):
        """The stride of the stem's output (1, or 2 for "strided" and "space_to_depth")."""
        return 1 if self.stem in ("full", "pool") else 2

    def layer_specs(self):
        """The receptive-field chain from the input to the last stage's map."""
        from kerasdil.receptive import LayerSpec  # numpy: imported when a chain is asked for

        specs = {"strided": [LayerSpec(3, 2)], "space_to_depth": [LayerSpec(2, 2), LayerSpec(3)]}.get(
            self.stem, [LayerSpec(3)])
        for stage in self.stages:
            if stage.pool:
                specs.append(LayerSpec(2, 2))
            specs.extend(LayerSpec(3, 1, r) for r in stage.rates)
        return specs

    def count(self, input_shape, *, block="dsdc", batchnorm=True, tally=None):
        """Parameters and MACs of the backbone on ``input_shape`` (H, W, C).

        Args:
            block: "dsdc" (DSDC blocks, ``DilationStack``) or "conv" (full 3x3
                ``DilatedConvBN`` blocks).
            batchnorm: BN after every conv (else biases).
            tally: a :class:`Tally` to add to (default a new one).

        Returns:
            ``(tally, maps)``: the tally and ``{"stem" | stage name: (h, w, channels)}``.
        """
        tally = Tally() if tally is None else tally
        h, w, c = input_shape
        if self.stem == "strided":
            h, w = -(-h // 2), -(-w // 2)  # "same" padding
        elif self.stem == "space_to_depth":
            h, w, c = h // 2, w // 2, 4 * c
        tally.conv(h, w, c, self.width, 3, bias=not batchnorm, batchnorm=batchnorm)
        maps, c = {"stem": (h, w, self.width)}, self.width
        for stage in self.stages:
            if stage.pool:
                h, w = h // 2, w // 2  # MaxPooling2D(2), "valid"
            for _ in stage.rates:
                if block == "dsdc":
                    tally.separable(h, w, c, stage.filters, batchnorm=batchnorm)
                else:
                    tally.conv(h, w, c, stage.filters, 3, bias=not batchnorm, batchnorm=batchnorm)
                c = stage.filters
            maps[stage.name] = (h, w, c)
        return tally, maps


def backbone_plan(schedule, filters, *, width, stem="full", output_stride: Optional[int] = None):
    """The stages of a DSDC backbone.

    Args:
        schedule: per-stage dilation rates at the stages' natural stride; ``()``
            for a stage without blocks (its pool stays).
        filters: channels of each stage.
        width: the stem's channels.
        stem: one of :data:`STEMS`.
        output_stride: stop pooling at this stride and dilate the later stages
            instead; None pools before every stage.

    Returns:
        A :class:`BackbonePlan`.

    Raises:
        ValueError: an unknown stem, or ``filters`` of another length than ``schedule``.
    """
    if stem not in STEMS:
        raise ValueError(f"backbone stem must be one of {', '.join(map(repr, STEMS))}, got {stem!r}.")
    if len(filters) != len(schedule):
        raise ValueError(f"backbone: {len(schedule)} stage schedules but {len(filters)} stage filters.")
    stages, stride, dilation = [], (1 if stem in ("full", "pool") else 2), 1
    for i, (rates, channels) in enumerate(zip(schedule, filters)):
        pool = False
        if i == 0 and stride == 2:
            pass  # the stem halved the size itself: it took this stage's pool
        elif output_stride is None or stride < output_stride:
            pool, stride = True, stride * 2
        else:
            dilation *= 2  # the stride this stage gives up becomes dilation
        stages.append(Stage(f"stage{i + 1}", pool, tuple(int(r) * dilation for r in rates), int(channels), stride))
    return BackbonePlan(stem, int(width), tuple(stages))
