"""The records of the MNIST classifiers (``kerasdil.zoo.mnist``): mnist_dsdc and mnist_conv.

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
#: mnist_dsdc's default stem width (deeplab_aspp's backbone uses it too, so the classifier transfers).
DEFAULT_WIDTH = 18


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
    builder="kerasdil.zoo.mnist:mnist_dsdc",
    task="classification",
    family="mnist",
    input_shape=MNIST_INPUT_SHAPE,
    num_classes=MNIST_NUM_CLASSES,
    description="DSDC MNIST classifier: stem conv, two DilationStack stages, GAP, dense",
    # Shipped weights train on all 60,000 images (no held-out split), like the final runs of most MNIST papers.
    training_recipe=dict(epochs=50, batch_size=128, learning_rate=3e-3, weight_decay=1e-4, augment=True,
                         validation_size=0),
    backbone_layers=BACKBONE_LAYER_PREFIXES,
    cost=mnist_dsdc_cost,
)

MNIST_CONV_RECORD = ZooRecord(
    name="mnist_conv",
    builder="kerasdil.zoo.mnist:mnist_conv",
    task="classification",
    family="mnist",
    input_shape=MNIST_INPUT_SHAPE,
    num_classes=MNIST_NUM_CLASSES,
    description="mnist_dsdc with standard dilated Conv2D blocks in place of DSDC (cost comparison)",
    training_recipe=dict(epochs=40, batch_size=128, learning_rate=3e-3, weight_decay=1e-4, augment=True,
                         validation_size=5000),
    backbone_layers=BACKBONE_LAYER_PREFIXES,
)

RECORDS = (MNIST_CONV_RECORD, MNIST_DSDC_RECORD)
