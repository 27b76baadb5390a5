"""The records of the MNIST classifiers (``kerasdil.zoo.mnist_dsdc.model``): mnist_dsdc and mnist_conv.

Also the architecture constants their builders and cost model share.
"""

from kerasdil.zoo.record import BACKBONE_LAYER_PREFIXES, ZooRecord

MNIST_INPUT_SHAPE = (28, 28, 1)
MNIST_NUM_CLASSES = 10
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
#: (zoo/mnist_dsdc/README.md has the measurements).
#: The classifier recipe's augmentation (keys of ``kerasdil.data.AUGMENTATION``).
ROBUST_AUGMENTATION = {
    "max_rotation_degrees": 20, "max_translation_pixels": 3, "max_zoom": 0.2, "max_shear": 0.3, "elastic_alpha": 17,
    "stroke_probability": 0.2, "blur_probability": 0.2, "contrast_probability": 0.25, "brightness_probability": 0.15,
    "fog_probability": 0.15, "line_probability": 0.1, "noise_probability": 0.4, "impulse_probability": 0.1,
}

CLASSIFIER_DEFAULTS = dict(dilation_schedule=((), (1, 2, 3)), width=32, stem="strided", stage_filters=(32, 64))


def dsdc_stack_cost(rates, channels, filters, h, w):
    """Params, MACs of a DilationStack: per block depthwise 3x3 + pointwise 1x1 (no biases) + BN."""
    params = macs = 0
    for _ in rates:
        params += 9 * channels + channels * filters + 4 * filters
        macs += h * w * (9 * channels + channels * filters)
        channels = filters
    return params, macs


def mnist_dsdc_cost(schedule, width, input_shape, num_classes):
    """``(params, macs)`` of ``mnist_dsdc(dilation_schedule=schedule, width=width, stem="pool")``, computed.

    Stem DilatedConvBN(width, 3) at full size; per stage a 2x2 max-pool, then a
    DilationStack of DSDC blocks (depthwise 3x3 dilated, no bias; pointwise 1x1,
    no bias; BN) with ``STAGE_MULTIPLIERS`` x width channels; global average
    pooling; Dense(num_classes). tests/test_tune.py pins it against
    ``model.count_params()``.
    """
    h, w, c = input_shape
    params = 9 * c * width + 4 * width  # stem conv (no bias) + BN (gamma, beta, mean, variance)
    macs = h * w * 9 * c * width
    channels = width
    for rates, mult in zip(schedule, STAGE_MULTIPLIERS):
        h, w = h // 2, w // 2  # MaxPooling2D(2), "valid"
        p, m = dsdc_stack_cost(rates, channels, width * mult, h, w)
        params, macs, channels = params + p, macs + m, width * mult
    params += channels * num_classes + num_classes
    macs += channels * num_classes
    return params, macs


MNIST_DSDC_RECORD = ZooRecord(
    name="mnist_dsdc",
    builder="kerasdil.zoo.mnist_dsdc.model:mnist_dsdc",
    task="classification",
    family="mnist",
    input_shape=MNIST_INPUT_SHAPE,
    num_classes=MNIST_NUM_CLASSES,
    description="DSDC MNIST classifier: strided stem conv, DilationStack (1, 2, 3) at 7x7, GAP, dense",
    # Shipped weights train on all 60,000 images (no held-out split), like the final runs of most MNIST
    # papers. The augmentation is what makes them hold up off the clean test set: wider affine
    # ranges, shear and elastic warps (other pens and positions), and on a share of the images
    # stroke width, blur, contrast, brightness, fog, stray lines and sensor noise (other cameras and
    # scanners). ROBUST_AUGMENTATION below; zoo/mnist_dsdc/README.md has what each part bought.
    training_recipe=dict(epochs=60, batch_size=128, learning_rate=3e-3, weight_decay=1e-4,
                         augment=ROBUST_AUGMENTATION, validation_size=0),
    backbone_layers=BACKBONE_LAYER_PREFIXES,
    cost=mnist_dsdc_cost,
)

MNIST_CONV_RECORD = ZooRecord(
    name="mnist_conv",
    builder="kerasdil.zoo.mnist_dsdc.model:mnist_conv",
    task="classification",
    family="mnist",
    input_shape=MNIST_INPUT_SHAPE,
    num_classes=MNIST_NUM_CLASSES,
    description="the width-18 six-block DSDC net (mnist_dsdc:mnist_w18) with plain dilated Conv2D blocks (cost comparison)",
    training_recipe=dict(epochs=40, batch_size=128, learning_rate=3e-3, weight_decay=1e-4, augment=True,
                         validation_size=5000),
    backbone_layers=BACKBONE_LAYER_PREFIXES,
)

RECORDS = (MNIST_CONV_RECORD, MNIST_DSDC_RECORD)
