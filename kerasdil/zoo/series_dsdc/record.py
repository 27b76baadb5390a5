"""The record of ``series_dsdc`` (plain Python: no Keras or TensorFlow).

Also the constants the builder, the recipe and the schedule search share.
"""


from kerasdil.zoo.record import ZooRecord

#: GunPoint's shape (150 steps, one channel, two classes): the default input.
SERIES_INPUT_SHAPE = (150, 1)
SERIES_NUM_CLASSES = 2
#: Channels of the stem and of every DSDC block.
DEFAULT_WIDTH = 64
#: Depthwise kernel of the blocks (odd, for "same" padding); the stem's kernel.
DEFAULT_KERNEL = 9
STEM_KERNEL = 7
#: Longest series the DSDC blocks run on at full resolution: a longer one gets a strided stem
#: (a power of two) that brings it to at most this many steps.
MAX_BLOCK_STEPS = 512


def stem_stride(steps):
    """The stem's stride for a series of ``steps``: 1 up to :data:`MAX_BLOCK_STEPS`, else a power of two.

    Example:
        >>> stem_stride(150), stem_stride(1460)
        (1, 4)
    """
    stride = 1
    while -(-steps // stride) > MAX_BLOCK_STEPS:
        stride *= 2
    return stride


#: Optimizer steps the recipe aims at, whatever the number of series.
TRAINING_STEPS = 1500
#: Epochs without a better validation loss before training stops (best weights restored).
EARLY_STOPPING_PATIENCE = 40


def series_dsdc_cost(schedule, width, input_shape, num_classes, kernel_size=DEFAULT_KERNEL):
    """``(params, macs)`` of ``series_dsdc(dilation_schedule=schedule, width=width)``, computed.

    Stem Conv1D(width, STEM_KERNEL, stride :func:`stem_stride`, no bias) + BN; per block a
    depthwise conv (``kernel_size``, no bias), a pointwise conv (no bias) and BN; global
    average pooling; Dense(num_classes). tests/test_zoo_series.py pins it against the built model.
    """
    steps, channels = input_shape
    steps = -(-steps // stem_stride(steps))  # the stem's output steps, where the blocks run
    params = STEM_KERNEL * channels * width + 4 * width
    macs = steps * STEM_KERNEL * channels * width
    for _ in schedule:
        params += kernel_size * width + width * width + 4 * width
        macs += steps * (kernel_size * width + width * width)
    params += width * num_classes + num_classes
    macs += width * num_classes
    return params, macs


SERIES_DSDC_RECORD = ZooRecord(
    name="series_dsdc",
    family="series",
    input_shape=SERIES_INPUT_SHAPE,
    num_classes=SERIES_NUM_CLASSES,
    description="time-series classifier: Conv1D stem, residual 1D DSDC blocks whose field covers the series, GAP",
    # On the user's series the run engine sizes the run (kerasdil.run.size_schedule): about 1,500
    # optimizer steps in batches of a tenth of the series (16 to 64), early stopping on a 20%
    # validation split with the best weights restored. No augmentation: scaling, jitter and
    # stretched windows (kerasdil.data.series.SERIES_AUGMENTATION, augment=True) cost ACSF1
    # 0.86 -> 0.31 and bought nothing on GunPoint or ArrowHead (studies.md).
    training_recipe=dict(epochs=200, batch_size=64, learning_rate=3e-3, weight_decay=1e-2, augment=False,
                         label_smoothing=0.1, validation_size=0),
    data_recipe=dict(min_steps=TRAINING_STEPS, passes=1, patience=0.0, min_patience=EARLY_STOPPING_PATIENCE,
                     max_batch_share=0.1),
    finetuning_recipe=dict(head_epochs=10, epochs=60, batch_size=16, learning_rate=3e-3, finetune_learning_rate=3e-4,
                           weight_decay=1e-2, augment=False),
    backbone_layers=("stem", "stage"),
    cost=series_dsdc_cost,
    search_families="kerasdil.zoo.series_dsdc.search:FAMILIES",
)

RECORDS = (SERIES_DSDC_RECORD,)
