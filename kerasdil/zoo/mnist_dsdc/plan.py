"""mnist_dsdc's and mnist_conv's architecture in plain Python: constants, stage plan, costs, receptive field.

The builders (``model.py``) build the backbone from :func:`stage_plan`
(:func:`kerasdil.backbones.plan.backbone_plan`); parameters, MACs, the
receptive-field chain, ``kerasdil zoo info`` and the schedule search
(``search.py``) read the same plan. tests/test_zoo_plans.py pins every number
against the built models.
"""

from kerasdil.backbones.plan import backbone_plan
from kerasdil.zoo.record import TASK_INPUTS

MNIST_INPUT_SHAPE, MNIST_NUM_CLASSES = TASK_INPUTS["classification"]
# One schedule per stage: stage 1 runs at 14x14, stage 2 at 7x7. Both are
# gridding-free for 3x3 kernels (HDC rule; `kerasdil rf 1,2,5` shows it).
DEFAULT_SCHEDULE = ((1, 2, 5), (1, 2, 3))
#: Channels of stage 1 and 2 as multiples of the stem's ``width``.
STAGE_MULTIPLIERS = (2, 3)
#: The stem width of the width-18 DSDC network (six blocks, full-size stem): mnist_conv's default,
#: deeplab_aspp's backbone, and the architecture of the ``mnist_dsdc:mnist_w18`` weights it transfers from.
DEFAULT_WIDTH = 18

#: mnist_dsdc's defaults: a stride-2 3x3 stem with 32 channels at 14x14, a 2x2 max-pool, and
#: three DSDC blocks of 64 channels at 7x7 with rates 1, 2, 3 (gridding-free). Every layer has
#: a channel count that is a multiple of 16 and only the stem runs at 14x14: in int8 LiteRT
#: (XNNPACK) a 16-channel or 14x14 DSDC block costs several times its share of the arithmetic
#: (kerasdil/zoo/mnist_dsdc/README.md has the measurements).
CLASSIFIER_DEFAULTS = dict(dilation_schedule=((), (1, 2, 3)), width=32, stem="strided", stage_filters=(32, 64))
#: Stems of the classifiers: a 3x3 conv at full size then a 2x2 max-pool ("pool"), a
#: stride-2 3x3 conv ("strided"), or SpaceToDepth(2) then the 3x3 conv ("space_to_depth").
STEMS = ("pool", "strided", "space_to_depth")


def stage_plan(schedule, width, stem="pool", stage_filters=None):
    """The backbone's :class:`~kerasdil.backbones.plan.BackbonePlan`: stem, then per stage a pool and blocks.

    ``stage_filters`` None gives ``width`` x STAGE_MULTIPLIERS.
    """
    filters = [width * m for m in STAGE_MULTIPLIERS] if stage_filters is None else list(stage_filters)
    return backbone_plan(schedule, filters, width=width, stem=stem)


def summary(input_shape=MNIST_INPUT_SHAPE, num_classes=MNIST_NUM_CLASSES, dilation_schedule=DEFAULT_SCHEDULE,
            width=DEFAULT_WIDTH, include_top=True, stem="pool", stage_filters=None, batchnorm=True, block="dsdc", **_):
    """``(Tally, [LayerSpec])`` of the classifier (``block="conv"``: mnist_conv) without building it."""
    schedule = dilation_schedule
    if schedule and all(isinstance(r, int) for r in schedule):
        schedule = (tuple(schedule),) * len(STAGE_MULTIPLIERS)
    plan = stage_plan(schedule, width, stem, stage_filters)
    tally, maps = plan.count(tuple(input_shape), block=block, batchnorm=batchnorm)
    if include_top:
        channels = maps[plan.stages[-1].name][2]
        tally.conv(1, 1, channels, num_classes)  # the Dense head on the pooled features
    return tally, plan.layer_specs()


def conv_summary(**config):
    """:func:`summary` of mnist_conv (full 3x3 conv blocks)."""
    return summary(**config, block="conv")


def mnist_dsdc_cost(schedule, width, input_shape, num_classes):
    """``(params, macs)`` of ``mnist_dsdc(dilation_schedule=schedule, width=width, stem="pool")``, from its plan.

    tests/test_tune.py pins it against ``model.count_params()``.
    """
    tally, _ = summary(input_shape, num_classes, schedule, width)
    return tally.params, tally.macs
