"""The record of deeplab_aspp (``kerasdil.zoo.deeplab_aspp.model``).

Also the architecture constants deeplab_aspp's builder and its cost model share.
"""

from kerasdil.zoo.mnist_dsdc.record import DEFAULT_WIDTH, dsdc_stack_cost
from kerasdil.zoo.record import BACKBONE_LAYER_PREFIXES, ZooRecord

# The input size the zoo's segmenters default to. M2NIST's 64 x 84 canvas divides
# only by 4 (84 = 4 * 21), so for output strides 8 and 16 the zoo uses 64 x 80,
# which divides by 16; `deeplab_aspp(input_shape=(64, 84, 1), output_stride=4)`
# runs on the M2NIST size.
SEGMENTATION_INPUT_SHAPE = (64, 80, 1)
#: Classes per pixel of MNIST scenes: background and ten digits.
SEGMENTATION_NUM_CLASSES = 11
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


def deeplab_stage_rates(schedule, output_stride=DEFAULT_OUTPUT_STRIDE):
    """The rates each backbone stage runs with: a stage past the output stride gives up
    its pool and multiplies its rates by the stride given up (x2, x4), as in the builder."""
    stride, dilation, out = 1, 1, []
    for rates in schedule:
        if stride < output_stride:
            stride *= 2
        else:
            dilation *= 2
        out.append(tuple(r * dilation for r in rates))
    return tuple(out)


def deeplab_aspp_cost(schedule, width, input_shape, num_classes, aspp_rates, output_stride, *, stem="full",
                      stage_filters=None, aspp_filters=ASPP_FILTERS, decoder_filters=DECODER_FILTERS, decoder=True):
    """``(params, macs)`` of ``deeplab_aspp`` with a DSDC backbone, computed without building it.

    With the builder's defaults for what is not given (BACKBONE_CLASSES, BN everywhere):
      stem DilatedConvBN(width, 3), at full size or with stride 2 ("strided", which takes
        stage1's pool);
      stage i (channels ``stage_filters`` or width x 2, 3, 4, 4): a 2x2 max-pool while the
        stride is below the output stride, else no pool and the stage's rates multiplied by
        the stride given up (x2, x4); then a DilationStack of DSDC blocks (none for an empty
        schedule, which keeps the channels);
      after stage2: "classifier", Conv2D(BACKBONE_CLASSES, 1) with bias;
      ASPP(aspp_filters, rates, separable): 1x1 branch, a DSDC branch per rate, image pooling
        (1x1 conv on the 1x1 pooled map), projection 1x1 of the (rates + 2) x filters
        concatenation (all with BN);
      decoder True, at 1/2: DilatedConvBN(r, 1) on stage1; DSDC(d) on [ASPP up, reduce,
        evidence up]; DSDC(d); at full size DSDC(r) on [decoder up, stem, image]; logits
        Conv2D(classes, 1);
      decoder "light", at 1/4: DilatedConvBN(r, 1) on stage2; DSDC(d) on [ASPP up, reduce,
        evidence]; DSDC(d); decoder_logits Conv2D(classes, 1); at full size logits
        Conv2D(classes, 1) on [upsampled logits, image];
      decoder False: logits Conv2D(classes, 1) on the ASPP output;
    with d = decoder_filters and r = max(8, d // 2).
    tests/test_tune_deeplab.py pins params and MACs against built models.
    """
    height, wide, c = input_shape
    strided = stem == "strided"
    filters = (tuple(stage_filters) if stage_filters is not None
               else tuple(width * mult for _, _, mult in BACKBONE_STAGES))
    h, w = (-(-height // 2), -(-wide // 2)) if strided else (height, wide)  # "same" padding
    params = 9 * c * width + 4 * width  # stem
    macs = h * w * 9 * c * width
    stride, channels = (2 if strided else 1), width
    classes = BACKBONE_CLASSES if decoder else 0
    low = None
    for i, rates in enumerate(schedule):
        if i == 0 and strided:
            pass
        elif stride < output_stride:
            h, w, stride = h // 2, w // 2, stride * 2
        if rates:
            p, m = dsdc_stack_cost(rates, channels, filters[i], h, w)
            params, macs, channels = params + p, macs + m, filters[i]
        if i == (1 if decoder == "light" else 0):
            low = (h, w, channels)
        if i == 1 and classes:  # "classifier": 1x1 conv with bias on stage2
            params += channels * classes + classes
            macs += h * w * channels * classes
    f, n = aspp_filters, len(aspp_rates)
    params += channels * f + 4 * f  # 1x1 branch
    macs += h * w * channels * f
    params += n * (9 * channels + channels * f + 4 * f)  # DSDC branches
    macs += n * h * w * (9 * channels + channels * f)
    params += channels * f + 4 * f  # image pooling: 1x1 conv on the 1x1 pooled map
    macs += channels * f
    params += (n + 2) * f * f + 4 * f  # projection
    macs += h * w * (n + 2) * f * f
    if not decoder:
        return params + f * num_classes + num_classes, macs + h * w * f * num_classes
    d = decoder_filters
    r = max(8, d // 2)
    lh, lw, lc = low
    params += lc * r + 4 * r  # decoder_reduce
    macs += lh * lw * lc * r
    p, m = dsdc_stack_cost((1, 1), f + r + classes, d, lh, lw)  # decoder_conv1, decoder_conv2
    params, macs = params + p, macs + m
    if decoder == "light":
        params += d * num_classes + num_classes  # decoder_logits
        macs += lh * lw * d * num_classes
        cin = num_classes + c  # refine_concat: upsampled logits, image
        return params + cin * num_classes + num_classes, macs + height * wide * cin * num_classes
    cin = d + width + c  # refine_concat: decoder, stem, image
    p, m = dsdc_stack_cost((1,), cin, r, height, wide)  # refine_conv
    params, macs = params + p, macs + m
    params += r * num_classes + num_classes  # logits
    macs += height * wide * r * num_classes
    return params, macs


#: The builder arguments of MOBILE_CONFIG that a schedule search leaves fixed.
MOBILE_FIXED = {k: v for k, v in MOBILE_CONFIG.items() if k not in ("dilation_schedule", "width")}


def deeplab_aspp_mobile_cost(schedule, width, input_shape, num_classes, aspp_rates, output_stride):
    """``(params, macs)`` of ``deeplab_aspp(**MOBILE_CONFIG)`` with stages 2-4 given by ``schedule``
    (stage1 stays empty: the strided stem takes its place)."""
    return deeplab_aspp_cost(((),) + tuple(schedule), width, input_shape, num_classes, aspp_rates, output_stride,
                             **MOBILE_FIXED)


DEEPLAB_ASPP_RECORD = ZooRecord(
    name="deeplab_aspp",
    builder="kerasdil.zoo.deeplab_aspp.model:deeplab_aspp",
    task="segmentation",
    family="segmentation",
    input_shape=SEGMENTATION_INPUT_SHAPE,
    num_classes=SEGMENTATION_NUM_CLASSES,
    description="DeepLab-style segmenter: dilated DSDC backbone (stride traded for dilation), ASPP, V3+ decoder",
    # From scratch: the epochs, batch, peak lr and weight decay of the segmentation
    # benchmark's scratch arm (tools/bench_segmentation.py), on the task's default 10,000 new
    # MNIST scenes every epoch (augment) and 1,000 validation scenes.
    training_recipe=dict(epochs=12, batch_size=16, learning_rate=3e-3, weight_decay=1e-4, augment=True,
                         validation_size=1000),
    # The segmentation benchmark (zoo/deeplab_aspp/README.md) found that the all-layers
    # phase at 2e-3 reaches the scratch model's final mIoU at epoch 6 of 12 (1e-3: epoch 7).
    # The shipped deeplab_aspp:scenes weights predate that and were made with
    # finetune_learning_rate=1e-3 (zoo/deeplab_aspp/recipe.sh).
    finetuning_recipe=dict(head_epochs=1, epochs=8, batch_size=16, learning_rate=3e-3, finetune_learning_rate=2e-3,
                           weight_decay=1e-4, augment=True),
    backbone_layers=BACKBONE_LAYER_PREFIXES,
    cost=deeplab_aspp_cost,
)

RECORDS = (DEEPLAB_ASPP_RECORD,)
