"""MNIST classifiers: mnist_dsdc (DSDC blocks) and mnist_conv (same net, plain Conv2D)."""

import keras

from kerasdil.backbones.dsdc import dsdc_backbone
from kerasdil.layers import _validate as V
from kerasdil.layers.heads import classification_head
from kerasdil.zoo.mnist_dsdc.plan import (  # the entries' constants and the plan the builders share
    CLASSIFIER_DEFAULTS,
    DEFAULT_SCHEDULE,
    DEFAULT_WIDTH,
    MNIST_INPUT_SHAPE,
    MNIST_NUM_CLASSES,
    STAGE_MULTIPLIERS,
    STEMS,
    stage_plan,
)
from kerasdil.zoo.model import ZooModel
from kerasdil.zoo.weights_io import load_weights


def normalize_schedule(dilation_schedule, layer="mnist_dsdc"):
    """Return the schedule as a tuple of per-stage tuples.

    A flat schedule such as (1, 2, 5) is used for every stage.
    """
    if isinstance(dilation_schedule, (str, bytes)) or not hasattr(dilation_schedule, "__len__") or not dilation_schedule:
        raise ValueError(
            f"{layer}: `dilation_schedule` must be per-stage rates such as ((1, 2, 5), (1, 2, 3)), "
            f"got {dilation_schedule!r}."
        )
    if all(isinstance(r, int) and not isinstance(r, bool) for r in dilation_schedule):
        dilation_schedule = (tuple(dilation_schedule),) * len(STAGE_MULTIPLIERS)
    if len(dilation_schedule) != len(STAGE_MULTIPLIERS):
        raise ValueError(
            f"{layer}: `dilation_schedule` needs {len(STAGE_MULTIPLIERS)} stages, got {dilation_schedule!r}."
        )
    # A stage may be empty (no blocks: the stem's output goes straight to the next
    # pooling), but not every stage.
    stages = tuple(
        () if hasattr(stage, "__len__") and not isinstance(stage, (str, bytes)) and len(stage) == 0
        else tuple(V.dilation_schedule(layer, stage))
        for stage in dilation_schedule
    )
    if not any(stages):
        raise ValueError(f"{layer}: `dilation_schedule` needs at least one block, got {dilation_schedule!r}.")
    return stages


def _check(name, input_shape, num_classes, width, stage_filters, stem, batchnorm):
    V.positive_int(name, "width", width)
    if isinstance(stage_filters, (str, bytes)) or not hasattr(stage_filters, "__len__") \
            or len(stage_filters) != len(STAGE_MULTIPLIERS):
        raise ValueError(
            f"{name}: `stage_filters` must be {len(STAGE_MULTIPLIERS)} channel counts, one per stage, "
            f"such as (32, 64), got {stage_filters!r}."
        )
    stage_filters = [V.positive_int(name, "stage_filters", f) for f in stage_filters]
    V.positive_int(name, "num_classes", num_classes)
    if len(input_shape) != 3:
        raise ValueError(f"{name}: `input_shape` must be (height, width, channels), got {input_shape!r}.")
    if stem not in STEMS:
        raise ValueError(f"{name}: `stem` must be one of {STEMS}, got {stem!r}.")
    if not isinstance(batchnorm, bool):
        raise ValueError(f"{name}: `batchnorm` must be True or False, got {batchnorm!r}.")
    return stage_filters


def _build(
    zoo_name, name, block, input_shape, num_classes, dilation_schedule, width, include_top, dropout,
    classifier_activation, weights, stem="pool", stage_filters=None, batchnorm=True, implementation="auto",
):
    """The stage plan's backbone with ``block`` stages, the classification head; then weights."""
    schedule = normalize_schedule(dilation_schedule, name)
    default_filters = [width * m for m in STAGE_MULTIPLIERS] if isinstance(width, int) else None
    stage_filters = _check(name, input_shape, num_classes, width, default_filters if stage_filters is None
                           else stage_filters, stem, batchnorm)
    inputs = keras.Input(shape=input_shape, name="image")
    plan = stage_plan(schedule, width, stem, stage_filters)
    x = dsdc_backbone(inputs, plan, block=block, implementation=implementation, batchnorm=batchnorm)[plan.stages[-1].name]
    if include_top:
        x = classification_head(x, num_classes, dropout=dropout, activation=classifier_activation)
    model = ZooModel(inputs, x, name=name)
    # The builder config stored with weights, so a mismatch can be explained. Files written before
    # `stem`, `stage_filters` and `batchnorm` existed were made with the "pool" stem, 2x / 3x width
    # stages and BN.
    config = dict(input_shape=list(input_shape), num_classes=num_classes,
                  dilation_schedule=[list(stage) for stage in schedule], width=width, stem=stem,
                  stage_filters=stage_filters, batchnorm=batchnorm)
    return load_weights(model, weights, model_name=zoo_name, config=config, allow_extra=not include_top,
                        config_defaults={"stem": "pool", "stage_filters": default_filters, "batchnorm": True})


def mnist_dsdc(
    input_shape=MNIST_INPUT_SHAPE,
    num_classes=MNIST_NUM_CLASSES,
    dilation_schedule=CLASSIFIER_DEFAULTS["dilation_schedule"],
    width=CLASSIFIER_DEFAULTS["width"],
    include_top=True,
    weights=None,
    dropout=0.1,
    classifier_activation="softmax",
    implementation="auto",
    stem=CLASSIFIER_DEFAULTS["stem"],
    stage_filters=CLASSIFIER_DEFAULTS["stage_filters"],
    batchnorm=True,
    name="mnist_dsdc",
):
    """The DSDC MNIST classifier.

    A stem conv, then two stages, each (after the stem's own halving) a 2x2 max-pool
    and a ``DilationStack`` of DSDC blocks, global average pooling and a dense softmax.
    By default: a stride-2 3x3 stem with 32 channels (14x14), no blocks at 14x14, a
    2x2 max-pool, and three DSDC blocks with 64 channels and rates (1, 2, 3) at 7x7;
    13,514 parameters, fast in float32 and int8 LiteRT files.

    Args:
        input_shape: (H, W, C). Default (28, 28, 1). Inputs are floats in [0, 1]
            (``kerasdil.data.mnist`` normalises; the model has no rescaling layer).
        num_classes: classes of the head. Default 10.
        dilation_schedule: rates per stage, e.g. ((), (1, 2, 3)) (the default: no
            blocks in stage 1) or ((1, 2, 5), (1, 2, 3)); a flat tuple is used for
            both stages.
        width: stem channels. Default 32.
        include_top: add the pooling + dense head. Default True.
        weights: None, "mnist" (shipped: trained on full MNIST for robustness to
            noise, blur, contrast, pens and positions), "mnist_w18" (the width-18
            six-block network trained on clean MNIST, whose backbone deeplab_aspp
            fine-tunes from; build it with ``create_model("mnist_dsdc:mnist_w18")``)
            or a weights path.
        dropout: dropout before the dense head. Default 0.1.
        classifier_activation: activation of the head ("softmax" or None for logits).
        implementation: depthwise implementation, "auto", "native" or "keras".
        stem: how the input is brought to 14x14: "pool" (3x3 stem conv at full
            size, then a 2x2 max-pool), "strided" (a stride-2 3x3 stem conv: no
            full-size feature map) or "space_to_depth" (``SpaceToDepth(2)``, then
            the 3x3 stem conv at half size: lossless, and it spans 6x6 pixels).
        stage_filters: channels of (stage 1, stage 2); default (32, 64); None
            gives ``(2 * width, 3 * width)``. On x86 CPUs, multiples of 16 keep
            oneDNN and XNNPACK on their fast paths.
        batchnorm: BatchNormalization in the stem and every block (default). False
            gives each conv a bias instead: fewer ops per training step, about a
            fifth less step time on CPU for a width-16 strided-stem network (the
            model card has the accuracy each way).
        name: model name.

    Returns:
        A ``keras.Model``.

    Raises:
        ValueError: bad arguments, or weights made for another architecture.

    Example:
        >>> from kerasdil.zoo import mnist_dsdc
        >>> model = mnist_dsdc(weights="mnist")
    """
    return _build(
        "mnist_dsdc", name, "dsdc", input_shape, num_classes, dilation_schedule, width, include_top, dropout,
        classifier_activation, weights, stem, stage_filters, batchnorm, implementation,
    )


def mnist_conv(
    input_shape=MNIST_INPUT_SHAPE,
    num_classes=MNIST_NUM_CLASSES,
    dilation_schedule=DEFAULT_SCHEDULE,
    width=DEFAULT_WIDTH,
    include_top=True,
    weights=None,
    dropout=0.1,
    classifier_activation="softmax",
    stem="pool",
    stage_filters=None,
    batchnorm=True,
    name="mnist_conv",
):
    """``mnist_dsdc``'s topology with standard ``Conv2D(dilation_rate)`` blocks.

    Measures what separability buys: same stem, stages, schedule and head, each
    DSDC block replaced by a ``DilatedConvBN`` (full 3x3 conv, BN, ReLU).

    Args and returns: as ``mnist_dsdc`` (no ``implementation``).

    Example:
        >>> model = mnist_conv()
    """
    return _build(
        "mnist_conv", name, "conv", input_shape, num_classes, dilation_schedule, width, include_top, dropout,
        classifier_activation, weights, stem, stage_filters, batchnorm,
    )
