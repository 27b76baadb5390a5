"""deeplab_aspp's architecture in plain Python: its constants, stage plan, costs and receptive field.

The builder (``model.py``) builds the DSDC backbone from :func:`stage_plan`
(:func:`kerasdil.backbones.plan.backbone_plan`); the parameter and MAC counts,
the receptive-field chain, ``kerasdil zoo info`` and the schedule search
(``search.py``) read the same plan. tests/test_zoo_plans.py pins every number
against the built model.
"""

from fractions import Fraction

from kerasdil.backbones.plan import backbone_plan
from kerasdil.zoo.mnist_dsdc.plan import DEFAULT_WIDTH
from kerasdil.zoo.record import TASK_INPUTS

#: The input size the zoo's segmenters default to (64 x 80, see ``TASK_INPUTS``) and the classes
#: per pixel of MNIST scenes: background and ten digits.
SEGMENTATION_INPUT_SHAPE, SEGMENTATION_NUM_CLASSES = TASK_INPUTS["segmentation"]
OUTPUT_STRIDES = (4, 8, 16)
DEFAULT_OUTPUT_STRIDE = 8

# Backbone stages: (name, dilation schedule, channels as a multiple of `width`).
# stem/stage1/stage2 have the layer names and shapes of mnist_dsdc's, so
# kerasdil.finetune.transfer_backbone copies a pretrained classifier into them.
BACKBONE_STAGES = (
    ("stage1", (1, 2, 5), 2),
    ("stage2", (1, 2, 3), 3),
    ("stage3", (1, 2, 3), 4),
    ("stage4", (1, 2, 3), 4),
)
# ASPP rates at output stride 8; they scale with 8 / output_stride (DeepLab doubles
# the rates when it halves the stride), i.e. 16, 32 and 48 input pixels apart.
ASPP_RATES_AT_OS8 = (2, 4, 6)
#: deeplab_aspp's default width is mnist_dsdc's, so the pretrained classifier transfers.
BACKBONE_WIDTH = DEFAULT_WIDTH
#: Defaults of deeplab_aspp's head: channels of every ASPP branch, of the decoder
#: blocks, and outputs of the backbone classifier on stage2 (MNIST's 10 digits).
ASPP_FILTERS = 64
DECODER_FILTERS = 32
BACKBONE_CLASSES = 10
#: Stems of the DSDC backbone: a 3x3 conv at full size, or a stride-2 one.
DEEPLAB_STEMS = ("full", "strided")
#: deeplab_aspp's mobile configuration (``deeplab_aspp(**MOBILE_CONFIG)``): a
#: strided stem, stages of 32 and 64 channels at 1/4 and 1/8 (16 x multiples of
#: 8, which XNNPACK's kernels favour), the last stage dilated instead of pooled,
#: and the light head (logits at 1/4, one 1x1 fusion with the image at full size).
MOBILE_CONFIG = dict(
    stem="strided",
    width=16,
    dilation_schedule=((), (1, 2), (1, 2, 3), (1, 2)),
    stage_filters=(16, 32, 64, 64),
    aspp_filters=32,
    decoder_filters=32,
    decoder="light",
)


#: The builder arguments of MOBILE_CONFIG that a schedule search leaves fixed.
MOBILE_FIXED = {k: v for k, v in MOBILE_CONFIG.items() if k not in ("dilation_schedule", "width")}
#: The backbone's per-stage rates at their natural stride, by default.
DEFAULT_SCHEDULE = tuple(schedule for _, schedule, _ in BACKBONE_STAGES)


def default_aspp_rates(output_stride):
    """The ASPP rates at ``output_stride``: ASPP_RATES_AT_OS8 scaled by 8 / output_stride."""
    return tuple(max(1, r * 8 // output_stride) for r in ASPP_RATES_AT_OS8)


def stage_plan(schedule=None, *, width=BACKBONE_WIDTH, stage_filters=None, stem="full",
               output_stride=DEFAULT_OUTPUT_STRIDE):
    """The DSDC backbone's :class:`~kerasdil.backbones.plan.BackbonePlan` (what the builder builds)."""
    filters = tuple(stage_filters) if stage_filters is not None else tuple(width * m for _, _, m in BACKBONE_STAGES)
    return backbone_plan(DEFAULT_SCHEDULE if schedule is None else schedule, filters, width=width, stem=stem,
                         output_stride=output_stride)


def deeplab_stage_rates(schedule, output_stride=DEFAULT_OUTPUT_STRIDE):
    """The rates each backbone stage runs with: a stage past the output stride gives up
    its pool and multiplies its rates by the stride given up (x2, x4), as in the builder."""
    return tuple(stage.rates for stage in stage_plan(schedule, output_stride=output_stride).stages)


def _head(tally, maps, input_shape, num_classes, *, aspp_rates, aspp_filters, decoder_filters, decoder,
          backbone_classes, last):
    """Adds the classifier evidence, the ASPP and the decoder to ``tally`` (see deeplab_aspp)."""
    classes = (backbone_classes or 0) if decoder else 0
    if classes:
        tally.conv(*maps["stage2"], classes, 1)  # "classifier": the Dense head at every position
    (h, w, c), f, n = maps[last], aspp_filters, len(aspp_rates)
    tally.conv(h, w, c, f, 1, bias=False, batchnorm=True)  # the 1x1 branch
    for _ in aspp_rates:
        tally.separable(h, w, c, f)
    tally.conv(1, 1, c, f, 1, bias=False, batchnorm=True)  # image pooling: a 1x1 conv on the pooled map
    tally.conv(h, w, (n + 2) * f, f, 1, bias=False, batchnorm=True)  # projection
    height, wide, channels = input_shape
    if not decoder:
        tally.conv(h, w, f, num_classes, 1)
        return tally
    d, r = decoder_filters, max(8, decoder_filters // 2)
    lh, lw, lc = maps["stage2" if decoder == "light" else "stage1"]
    tally.conv(lh, lw, lc, r, 1, bias=False, batchnorm=True)  # decoder_reduce
    tally.separable(lh, lw, f + r + classes, d)  # decoder_conv1
    tally.separable(lh, lw, d, d)  # decoder_conv2
    if decoder == "light":
        tally.conv(lh, lw, d, num_classes, 1)  # decoder_logits
        tally.conv(height, wide, num_classes + channels, num_classes, 1)  # logits: fused with the image
        return tally
    tally.separable(height, wide, d + maps["stem"][2] + channels, r)  # refine_conv on [decoder, stem, image]
    tally.conv(height, wide, r, num_classes, 1)  # logits
    return tally


def _upsampling(factor):
    from kerasdil.receptive import LayerSpec

    return [LayerSpec(2, Fraction(1, factor))] if factor > 1 else []  # bilinear: 2 taps


def head_specs(output_stride, aspp_rates, decoder):
    """The receptive-field chain of the head, from the backbone's last map to the logits."""
    from kerasdil.receptive import LayerSpec  # numpy: imported when a chain is asked for

    specs = [LayerSpec(3, 1, max(aspp_rates))]  # the widest ASPP branch (image pooling is global)
    if decoder == "light":
        return specs + _upsampling(output_stride // 4) + [LayerSpec(3), LayerSpec(3)] + _upsampling(4)
    if decoder:
        return specs + _upsampling(output_stride // 2) + [LayerSpec(3), LayerSpec(3)] + _upsampling(2) + [LayerSpec(3)]
    return specs + _upsampling(output_stride)


def summary(input_shape=SEGMENTATION_INPUT_SHAPE, num_classes=SEGMENTATION_NUM_CLASSES, backbone="dsdc",
            output_stride=DEFAULT_OUTPUT_STRIDE, aspp_rates=None, decoder=True, dilation_schedule=None,
            width=BACKBONE_WIDTH, aspp_filters=ASPP_FILTERS, decoder_filters=DECODER_FILTERS,
            backbone_classes=BACKBONE_CLASSES, stem="full", stage_filters=None, **_):
    """``(Tally, [LayerSpec])`` of ``deeplab_aspp(**config)`` without building it; None for a
    keras.applications backbone (only the built model knows those)."""
    if backbone != "dsdc":
        return None
    aspp_rates = default_aspp_rates(output_stride) if aspp_rates is None else tuple(aspp_rates)
    plan = stage_plan(dilation_schedule, width=width, stage_filters=stage_filters, stem=stem,
                      output_stride=output_stride)
    tally, maps = plan.count(tuple(input_shape))
    _head(tally, maps, tuple(input_shape), num_classes, aspp_rates=aspp_rates, aspp_filters=aspp_filters,
          decoder_filters=decoder_filters, decoder=decoder, backbone_classes=backbone_classes,
          last=plan.stages[-1].name)
    return tally, plan.layer_specs() + head_specs(output_stride, aspp_rates, decoder)


def deeplab_aspp_cost(schedule, width, input_shape, num_classes, aspp_rates, output_stride, *, stem="full",
                      stage_filters=None, aspp_filters=ASPP_FILTERS, decoder_filters=DECODER_FILTERS, decoder=True):
    """``(params, macs)`` of ``deeplab_aspp`` with a DSDC backbone, computed from its plan without building it.

    tests/test_zoo_plans.py and tests/test_tune_deeplab.py pin it against built models.
    """
    tally, _ = summary(input_shape, num_classes, output_stride=output_stride, aspp_rates=aspp_rates,
                       decoder=decoder, dilation_schedule=schedule, width=width, aspp_filters=aspp_filters,
                       decoder_filters=decoder_filters, stem=stem, stage_filters=stage_filters)
    return tally.params, tally.macs


def deeplab_aspp_mobile_cost(schedule, width, input_shape, num_classes, aspp_rates, output_stride):
    """``(params, macs)`` of ``deeplab_aspp(**MOBILE_CONFIG)`` with stages 2-4 given by ``schedule``
    (stage1 stays empty: the strided stem takes its place)."""
    return deeplab_aspp_cost(((),) + tuple(schedule), width, input_shape, num_classes, aspp_rates, output_stride,
                             **MOBILE_FIXED)
