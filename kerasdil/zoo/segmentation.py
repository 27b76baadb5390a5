"""Segmenters: deeplab_aspp (dilated DSDC backbone + ASPP) and its U-Net peer.

They train and are scored by the "segmentation" task of :mod:`kerasdil.tasks`
(loss, metrics, MNIST-scenes data, evaluation with mIoU and an overlay PNG).
"""

import keras
import numpy as np
from keras import layers

from kerasdil.layers import ASPP, DilatedConvBN, DilationStack, SeparableDilatedConv
from kerasdil.layers import _validate as V
from kerasdil.zoo.backbones import backbone_names, segmenter_features
from kerasdil.zoo.model import ZooModel
from kerasdil.zoo.segmentation_record import (  # the constants the builders and their records share
    ASPP_FILTERS,
    ASPP_RATES_AT_OS8,
    BACKBONE_CLASSES,
    BACKBONE_LAYER_PREFIXES,
    BACKBONE_STAGES,
    BACKBONE_WIDTH,
    DECODER_FILTERS,
    DEEPLAB_STEMS,
    MOBILE_CONFIG,
    DEFAULT_OUTPUT_STRIDE,
    OUTPUT_STRIDES,
    SEGMENTATION_INPUT_SHAPE,
    SEGMENTATION_NUM_CLASSES,
)
from kerasdil.zoo.weights_io import load_weights

#: Backbone names: the DSDC backbone and the keras.applications ones (kerasdil.zoo.backbones).
BACKBONES = ("dsdc",) + backbone_names()


def _check_input_shape(name, input_shape, output_stride):
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 3
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in input_shape)
    ):
        raise ValueError(
            f"{name}: `input_shape` must be (height, width, channels) with known positive sizes, "
            f"got {input_shape!r}."
        )
    h, w, _ = input_shape
    if h % output_stride or w % output_stride:
        smaller = (h // output_stride * output_stride, w // output_stride * output_stride)
        raise ValueError(
            f"{name}: input size {h}x{w} is not divisible by the output stride {output_stride}; "
            f"use height and width that are multiples of {output_stride} (e.g. {smaller[0]}x{smaller[1]}) "
            "or a smaller output_stride."
        )
    return tuple(input_shape)


def _aspp_rates(aspp_rates, output_stride, name):
    if aspp_rates is None:
        return tuple(max(1, r * 8 // output_stride) for r in ASPP_RATES_AT_OS8)
    if isinstance(aspp_rates, (str, bytes)) or not hasattr(aspp_rates, "__len__") or not len(aspp_rates):
        raise ValueError(f"{name}: `aspp_rates` must be a non-empty sequence such as (2, 4, 6), got {aspp_rates!r}.")
    for r in aspp_rates:
        V.positive_int(name, "aspp_rates", r)
    return tuple(aspp_rates)


def _backbone_schedule(dilation_schedule, name):
    """The backbone's per-stage rates: BACKBONE_STAGES' or a validated override."""
    if dilation_schedule is None:
        return tuple(schedule for _, schedule, _ in BACKBONE_STAGES)
    if (
        isinstance(dilation_schedule, (str, bytes))
        or not hasattr(dilation_schedule, "__len__")
        or len(dilation_schedule) != len(BACKBONE_STAGES)
        or any(isinstance(s, (int, str, bytes)) for s in dilation_schedule)
    ):
        raise ValueError(
            f"{name}: `dilation_schedule` needs {len(BACKBONE_STAGES)} per-stage rate tuples such as "
            f"{tuple(s for _, s, _ in BACKBONE_STAGES)}, got {dilation_schedule!r}."
        )
    out = []
    for stage in dilation_schedule:
        if hasattr(stage, "__len__") and len(stage) == 0 and not isinstance(stage, (str, bytes)):
            out.append(())  # a stage with no blocks is skipped (its pool stays)
            continue
        V.dilation_schedule(name, stage)  # the shape of the error message
        for r in stage:
            V.positive_int(name, "dilation_schedule", r)
        out.append(tuple(int(r) for r in stage))
    return tuple(out)


def _stage_filters(stage_filters, default, name):
    """The four stages' channels: ``default`` or a validated override."""
    if stage_filters is None:
        return tuple(default)
    if isinstance(stage_filters, (str, bytes)) or not hasattr(stage_filters, "__len__") or len(stage_filters) != len(default):
        raise ValueError(f"{name}: `stage_filters` needs {len(default)} channel counts such as {tuple(default)}, "
                         f"got {stage_filters!r}.")
    for f in stage_filters:
        V.positive_int(name, "stage_filters", f)
    return tuple(int(f) for f in stage_filters)


def _set_background_prior(logits, prior, name):
    if not isinstance(prior, (int, float)) or isinstance(prior, bool) or not 0 < prior < 1:
        raise ValueError(f"{name}: `background_prior` must be in (0, 1) or None, got {prior!r}.")
    c = logits.filters
    bias = np.zeros(c, "float32")
    bias[0] = np.log(prior * (c - 1) / (1 - prior))
    logits.bias.assign(bias)


def deeplab_aspp(
    input_shape=SEGMENTATION_INPUT_SHAPE,
    num_classes=SEGMENTATION_NUM_CLASSES,
    backbone="dsdc",
    output_stride=DEFAULT_OUTPUT_STRIDE,
    aspp_rates=None,
    decoder=True,
    dilation_schedule=None,
    width=BACKBONE_WIDTH,
    aspp_filters=ASPP_FILTERS,
    decoder_filters=DECODER_FILTERS,
    backbone_classes=BACKBONE_CLASSES,
    weights=None,
    background_prior=0.95,
    implementation="auto",
    backbone_weights=None,
    feature_layers=None,
    multi_grid=None,
    stem="full",
    stage_filters=None,
    name="deeplab_aspp",
):
    """DeepLab-style semantic segmenter on a dilated DSDC or keras.applications backbone.

    Backbone (DeepLab's trade of stride for dilation): a full-resolution ``stem``
    conv, then four stages of DSDC blocks (``DilationStack``), ``stage1`` at 1/2
    (schedule 1,2,5, ``2*width`` channels), ``stage2`` at 1/4 (1,2,3, ``3*width``),
    ``stage3`` and ``stage4`` (1,2,3, ``4*width``). Each stage would follow a 2x2
    max-pool (natural stride 16); once the ``output_stride`` is reached, the
    remaining pools are dropped and the stage's dilation rates are multiplied by
    the stride they gave up (x2, x4), so the receptive field is kept while the
    feature map stays at 1/``output_stride``. Parameters do not depend on the
    output stride, so weights trained at one stride load at another.

    ``stem``, ``stage1`` and ``stage2`` have the names and shapes of
    ``mnist_dsdc``'s layers (same ``width``, 1 input channel), so
    ``kerasdil.finetune.transfer_backbone`` copies a pretrained classifier in;
    with the decoder, a 1x1 ``classifier`` conv on ``stage2`` takes the
    classifier's Dense head too (see ``backbone_classes``).

    Head: ``ASPP`` (separable atrous branches at ``aspp_rates``, a 1x1 branch,
    image pooling, projection). With ``decoder=True``, a DeepLabV3+ decoder: the
    ASPP output is upsampled (bilinear) to 1/2 and concatenated with a 1x1
    reduction of ``stage1`` (the low-level skip), refined by two DSDC blocks, then
    upsampled (bilinear) to the input size and fused with the ``stem`` features
    and the image itself (a full-resolution skip that keeps the thin digit strokes
    sharp) by one DSDC block before the 1x1 ``logits`` conv. With ``decoder=False`` (DeepLabV3): 1x1 ``logits`` on the
    ASPP output, bilinear upsampling to the input size. With ``decoder="light"``
    (the mobile head, see ``MOBILE_CONFIG``): the ASPP output is upsampled to 1/4
    and joined with a 1x1 reduction of ``stage2`` (and the ``classifier``
    evidence), two DSDC blocks and a 1x1 conv give class logits at 1/4, which are
    upsampled (bilinear) to the input size and fused with the image by one 1x1
    ``logits`` conv (started as the identity on the upsampled logits): nothing
    but that 1x1 conv runs at full size.

    Args:
        input_shape: (H, W, C), H and W divisible by ``output_stride``. Default
            (64, 80, 1). Inputs are floats in [0, 1].
        num_classes: classes per pixel. Default 11 (MNIST scenes).
        backbone: "dsdc" (default, the backbone above); a keras.applications
            backbone by name: "mobilenet_v2", "mobilenet_v3_small",
            "mobilenet_v3_large", "resnet50_v2", "efficientnet_b0"; any
            functional ``keras.Model``; or a function ``image -> {stride:
            tensor}``. The keras.applications and ``keras.Model`` backbones are
            rebuilt with their strides past ``output_stride`` traded for
            dilation (:func:`kerasdil.zoo.backbones.dilate_backbone`) and sit
            in one nested layer "backbone"; see "Other backbones" below.
        output_stride: input size / ASPP feature map size: 4, 8 (default) or 16
            for "dsdc"; any stride a keras.applications backbone passes
            through (2 to 32; 8 and 16 are DeepLab's).
        aspp_rates: atrous rates of the ASPP branches; default (2, 4, 6) at
            output stride 8, scaled by 8 / output_stride.
        decoder: True (default): the DeepLabV3+ decoder above; "light": the
            mobile head at 1/4 (DSDC backbone only); False: none.
        dilation_schedule: per-stage dilation rates of the four backbone stages
            at their natural stride, e.g. ((1, 2, 5), (1, 2, 3), (1, 2, 3),
            (1, 2, 3)) (the default); stages past the output stride multiply
            them as above. Depth per stage may differ; weights then change shape.
        width: stem channels (stages use 2x, 3x, 4x, 4x unless
            ``stage_filters``). Default 18, the width of the classifier
            weights the shipped segmenter was fine-tuned from (``mnist_w18``).
        stem: "full" (default): a 3x3 conv at the input size, then a 2x2
            max-pool before each stage; "strided": a stride-2 3x3 conv that
            takes the first stage's pool (as mnist_dsdc's strided stem), so
            nothing but the stem's output runs at 1/2 unless stage1 has blocks.
        stage_filters: channels of the four stages; default ``width`` x
            (2, 3, 4, 4). A stage with no rates (``()``) in the schedule is
            skipped.
        aspp_filters: channels of every ASPP branch. Default 64.
        decoder_filters: channels of the decoder blocks. Default 32.
        backbone_classes: outputs of ``classifier``, a 1x1 conv on the stage2
            features whose per-position class evidence joins the decoder
            (needs ``decoder=True``). It is mnist_dsdc's Dense head applied at
            every position (FCN's convolutionalisation), so
            ``transfer_backbone`` fills it from the pretrained classifier.
            Default 10 (MNIST digits); None leaves it out.
        weights: None, a shipped tag ("scenes") or a weights file path.
        background_prior: the logits' bias starts at the log-odds of this share of
            class-0 (background) pixels, the rest spread evenly over the other
            classes (the prior initialisation of RetinaNet), so early training
            does not spend its first steps learning that most pixels are
            background. None: zero bias. Default 0.95.
        implementation: depthwise implementation, "auto", "native" or "keras".
        backbone_weights: for a named keras.applications backbone: None
            (random initialisation, default), "imagenet" (keras.applications
            downloads the weights on first use) or a weights file of that
            application.
        feature_layers: for keras.applications and ``keras.Model`` backbones,
            ``{stride: layer name}`` at the backbone's natural strides: the
            largest stride feeds the ASPP (default: the backbone's output), the
            smallest the decoder (default: the named backbone's stride-4 layer,
            or the last layer at stride 4).
        multi_grid: for keras.applications and ``keras.Model`` backbones,
            rates such as (1, 2, 4) that multiply the dilation of the convs
            after the last traded stride in turn (DeepLabV3's multi-grid).
        name: model name.

    Other backbones: with a keras.applications or ``keras.Model`` backbone the
    input [0, 1] is scaled to the range the named backbone's ImageNet weights
    expect (layer "backbone_preprocess"); a 1-channel image is repeated to 3
    channels (layer "gray_to_rgb") when the backbone takes 3 (ImageNet
    weights), while with ``backbone_weights=None`` a named backbone is built for
    the image's channels. The head is DeepLabV3+'s: the ASPP output upsampled
    to the low-level features' stride, concatenated with their 1x1 reduction,
    two DSDC blocks, upsampled to the input size, fused with the image by one
    DSDC block, 1x1 ``logits``. ``width``, ``dilation_schedule`` and
    ``backbone_classes`` describe the DSDC backbone and are not used. Freeze
    the backbone with ``model.get_layer("backbone").trainable = False``.

    Returns:
        A ``keras.Model`` mapping (B, H, W, C) images to (B, H, W, num_classes) logits.

    Raises:
        ValueError: input size not divisible by the output stride, an unknown
            backbone, an output stride the backbone cannot give, bad rates,
            feature layers the backbone lacks, or weights for another architecture.

    Example:
        >>> model = deeplab_aspp(input_shape=(64, 80, 1), output_stride=8)
        >>> model.output_shape
        (None, 64, 80, 11)
        >>> deeplab_aspp(backbone="mobilenet_v3_small", output_stride=16).output_shape
        (None, 64, 80, 11)
    """
    if not isinstance(backbone, str) or backbone != "dsdc":
        return _deeplab_on_backbone(
            input_shape=input_shape, num_classes=num_classes, backbone=backbone, output_stride=output_stride,
            aspp_rates=aspp_rates, decoder=decoder, dilation_schedule=dilation_schedule, aspp_filters=aspp_filters,
            decoder_filters=decoder_filters, weights=weights, background_prior=background_prior,
            implementation=implementation, backbone_weights=backbone_weights, feature_layers=feature_layers,
            multi_grid=multi_grid, name=name,
        )
    if backbone_weights is not None or feature_layers is not None or multi_grid is not None:
        raise ValueError(
            f"{name}: backbone_weights, feature_layers and multi_grid apply to keras.applications backbones; the DSDC "
            "backbone takes pretrained weights through weights= or kerasdil.finetune.transfer_backbone."
        )
    if output_stride not in OUTPUT_STRIDES:
        raise ValueError(
            f"{name}: the DSDC backbone cannot give output stride {output_stride!r}; `output_stride` must be one of "
            f"{', '.join(map(str, OUTPUT_STRIDES))}."
        )
    input_shape = _check_input_shape(name, input_shape, output_stride)
    V.class_count(name, num_classes)
    V.positive_int(name, "width", width)
    V.positive_int(name, "aspp_filters", aspp_filters)
    V.positive_int(name, "decoder_filters", decoder_filters)
    if backbone_classes is not None:
        V.positive_int(name, "backbone_classes", backbone_classes)
    rates = _aspp_rates(aspp_rates, output_stride, name)
    schedules = _backbone_schedule(dilation_schedule, name)
    if stem not in DEEPLAB_STEMS:
        raise ValueError(f"{name}: `stem` must be one of {', '.join(map(repr, DEEPLAB_STEMS))}, got {stem!r}.")
    if not (isinstance(decoder, bool) or decoder == "light"):
        raise ValueError(f"{name}: `decoder` must be True, False or \"light\", got {decoder!r}.")
    if decoder == "light" and output_stride < 4:
        raise ValueError(f"{name}: decoder=\"light\" works at 1/4; `output_stride` must be 4 or more, got {output_stride}.")
    default_filters = tuple(width * multiple for _, _, multiple in BACKBONE_STAGES)
    filters = _stage_filters(stage_filters, default_filters, name)
    if stem == "full" and not schedules[0] and decoder is True:
        raise ValueError(f"{name}: the full decoder reads stage1; give stage1 rates or use decoder=\"light\".")
    h, w, _ = input_shape

    inputs = keras.Input(shape=input_shape, name="image")
    stem_out = DilatedConvBN(width, 3, strides=2 if stem == "strided" else 1, name="stem")(inputs)
    x = stem_out
    stride, dilation = (2 if stem == "strided" else 1), 1
    low_level = evidence = None
    for i, ((stage, _, _), schedule, channels) in enumerate(zip(BACKBONE_STAGES, schedules, filters)):
        if i == 0 and stem == "strided":
            pass  # the strided stem took this stage's pool
        elif stride < output_stride:
            x = layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
            stride *= 2
        else:
            dilation *= 2  # the stride this stage gives up becomes dilation
        if schedule:
            x = DilationStack(
                tuple(r * dilation for r in schedule), channels, implementation=implementation, name=stage
            )(x)
        if stage == "stage1":
            low_level = x
        if stage == "stage2":
            if decoder == "light":
                low_level = x
            if backbone_classes and decoder:
                # The backbone classifier applied at every position (FCN-style): per-
                # position class evidence, filled from mnist_dsdc's Dense head.
                evidence = layers.Conv2D(backbone_classes, 1, name="classifier")(x)
    x = ASPP(filters=aspp_filters, rates=rates, separable=True, dropout=0.1, name="aspp")(x)
    if decoder == "light":
        skip = DilatedConvBN(max(8, decoder_filters // 2), 1, name="decoder_reduce")(low_level)
        if output_stride > 4:
            x = layers.UpSampling2D(output_stride // 4, interpolation="bilinear", name="decoder_upsample")(x)
        merged = [x, skip] + ([evidence] if evidence is not None else [])
        x = layers.Concatenate(name="decoder_concat")(merged)
        x = SeparableDilatedConv(decoder_filters, 3, implementation=implementation, name="decoder_conv1")(x)
        x = SeparableDilatedConv(decoder_filters, 3, implementation=implementation, name="decoder_conv2")(x)
        x = layers.Conv2D(num_classes, 1, name="decoder_logits")(x)
        x = layers.UpSampling2D(4, interpolation="bilinear", name="upsample")(x)
        # The image joins at full size through one 1x1 conv: a stroke is a pixel
        # above the ink threshold, which the fused logits read off directly.
        x = layers.Concatenate(name="refine_concat")([x, inputs])
        outputs = layers.Conv2D(num_classes, 1, name="logits")(x)
    elif decoder:
        skip = DilatedConvBN(max(8, decoder_filters // 2), 1, name="decoder_reduce")(low_level)
        if output_stride > 2:
            x = layers.UpSampling2D(output_stride // 2, interpolation="bilinear", name="decoder_upsample")(x)
        merged = [x, skip]
        if evidence is not None:
            merged.append(layers.UpSampling2D(2, interpolation="bilinear", name="classifier_upsample")(evidence))
        x = layers.Concatenate(name="decoder_concat")(merged)
        x = SeparableDilatedConv(decoder_filters, 3, implementation=implementation, name="decoder_conv1")(x)
        x = SeparableDilatedConv(decoder_filters, 3, implementation=implementation, name="decoder_conv2")(x)
        x = layers.UpSampling2D(2, interpolation="bilinear", name="upsample")(x)
        # The raw image joins the refinement: a stroke is a pixel above the ink
        # threshold, which the last layers then read off directly.
        x = layers.Concatenate(name="refine_concat")([x, stem_out, inputs])
        x = SeparableDilatedConv(max(8, decoder_filters // 2), 3, implementation=implementation, name="refine_conv")(x)
        outputs = layers.Conv2D(num_classes, 1, name="logits")(x)
    else:
        x = layers.Conv2D(num_classes, 1, name="logits")(x)
        outputs = layers.UpSampling2D(output_stride, interpolation="bilinear", name="upsample")(x)
    model = ZooModel(inputs, outputs, name=name)
    if decoder == "light":
        # The fusion starts as the identity on the upsampled logits (the image's
        # weights zero), so the prior below and early training act through it.
        kernel = np.zeros((1, 1, num_classes + input_shape[-1], num_classes), "float32")
        kernel[0, 0, :num_classes, :] = np.eye(num_classes, dtype="float32")
        model.get_layer("logits").kernel.assign(kernel)
        model.get_layer("logits").bias.assign(np.zeros(num_classes, "float32"))
    if background_prior is not None and num_classes > 1:
        prior_layer = "decoder_logits" if decoder == "light" else "logits"
        _set_background_prior(model.get_layer(prior_layer), background_prior, name)
    config = dict(
        input_shape=list(input_shape), num_classes=num_classes, backbone=backbone,
        decoder=decoder if decoder == "light" else bool(decoder),
        width=width, aspp_filters=aspp_filters, decoder_filters=decoder_filters, backbone_classes=backbone_classes,
        stem=stem,
    )
    if stage_filters is not None:  # else width x (2, 3, 4, 4), which `width` records
        config["stage_filters"] = list(filters)
    if dilation_schedule is not None:
        config["dilation_schedule"] = [list(s) for s in schedules]
    # Output stride and ASPP rates change no weight shape, so they are not part
    # of the compatibility config: weights trained at OS 8 load at OS 16.
    # Files written before `stem` existed used the full stem.
    return load_weights(model, weights, model_name="deeplab_aspp", config=config, config_defaults={"stem": "full"})


def _deeplab_on_backbone(*, input_shape, num_classes, backbone, output_stride, aspp_rates, decoder, dilation_schedule,
                         aspp_filters, decoder_filters, weights, background_prior, implementation, backbone_weights,
                         feature_layers, multi_grid, name):
    """deeplab_aspp on a keras.applications, keras.Model or function backbone (see deeplab_aspp)."""
    if dilation_schedule is not None:
        raise ValueError(f"{name}: `dilation_schedule` describes the DSDC backbone; it does not apply to backbone "
                         f"{backbone if isinstance(backbone, str) else type(backbone).__name__!r}.")
    if isinstance(output_stride, bool) or not isinstance(output_stride, int) or output_stride < 1:
        raise ValueError(f"{name}: `output_stride` must be a positive int such as 8 or 16, got {output_stride!r}.")
    input_shape = _check_input_shape(name, input_shape, output_stride)
    V.class_count(name, num_classes)
    V.positive_int(name, "aspp_filters", aspp_filters)
    V.positive_int(name, "decoder_filters", decoder_filters)
    rates = _aspp_rates(aspp_rates, output_stride, name)

    inputs = keras.Input(shape=input_shape, name="image")
    low, low_stride, x, described = segmenter_features(
        backbone, inputs, output_stride, decoder=decoder, feature_layers=feature_layers, weights=backbone_weights,
        multi_grid=multi_grid, where=name,
    )
    x = ASPP(filters=aspp_filters, rates=rates, separable=True, dropout=0.1, name="aspp")(x)
    if decoder:
        skip = DilatedConvBN(max(8, decoder_filters // 2), 1, name="decoder_reduce")(low)
        if output_stride > low_stride:
            x = layers.UpSampling2D(output_stride // low_stride, interpolation="bilinear", name="decoder_upsample")(x)
        x = layers.Concatenate(name="decoder_concat")([x, skip])
        x = SeparableDilatedConv(decoder_filters, 3, implementation=implementation, name="decoder_conv1")(x)
        x = SeparableDilatedConv(decoder_filters, 3, implementation=implementation, name="decoder_conv2")(x)
        if low_stride > 1:
            x = layers.UpSampling2D(low_stride, interpolation="bilinear", name="upsample")(x)
        # The image joins the last block, as in the DSDC segmenter: thin strokes stay sharp.
        x = layers.Concatenate(name="refine_concat")([x, inputs])
        x = SeparableDilatedConv(max(8, decoder_filters // 2), 3, implementation=implementation, name="refine_conv")(x)
        outputs = layers.Conv2D(num_classes, 1, name="logits")(x)
    else:
        x = layers.Conv2D(num_classes, 1, name="logits")(x)
        outputs = layers.UpSampling2D(output_stride, interpolation="bilinear", name="upsample")(x) \
            if output_stride > 1 else x
    model = ZooModel(inputs, outputs, name=name)
    if background_prior is not None and num_classes > 1:
        _set_background_prior(model.get_layer("logits"), background_prior, name)
    config = dict(
        input_shape=list(input_shape), num_classes=num_classes, backbone=described["backbone"], decoder=bool(decoder),
        aspp_filters=aspp_filters, decoder_filters=decoder_filters, aspp_input=described["aspp_input"],
        low_level=described["low_level"],
    )
    return load_weights(model, weights, model_name="deeplab_aspp", config=config)


def unet_baseline(
    input_shape=SEGMENTATION_INPUT_SHAPE,
    num_classes=SEGMENTATION_NUM_CLASSES,
    filters=(32, 64, 128, 256),
    weights=None,
    name="unet_baseline",
):
    """keras.io's "Image segmentation with a U-Net-like architecture", as written there.

    Entry ``Conv2D(filters[0], 3, strides=2)``, BN, ReLU; one downsampling block
    per ``filters[1:]`` (two ``SeparableConv2D`` + BN, ``MaxPooling2D(3, 2)``, a
    strided 1x1 residual projection); one upsampling block per reversed
    ``filters`` (two ``Conv2DTranspose`` + BN, ``UpSampling2D(2)``, an upsampled
    1x1 residual projection); a 3x3 per-pixel classifier. With the default
    filters this is keras.io's model (2.06 M parameters for 3 classes). The only
    change: the classifier returns logits (keras.io uses softmax), like deeplab_aspp.

    Args:
        input_shape: (H, W, C), H and W divisible by ``2 ** len(filters)`` (16).
        num_classes: classes per pixel. Default 11.
        filters: channels of the entry conv and the blocks. Default (32, 64, 128, 256).
        weights: None or a weights file path.
        name: model name.

    Raises:
        ValueError: input size not divisible by ``2 ** len(filters)``, or bad filters.

    Example:
        >>> unet_baseline(input_shape=(64, 80, 1)).output_shape
        (None, 64, 80, 11)
    """
    if isinstance(filters, (str, bytes)) or not hasattr(filters, "__len__") or len(filters) < 1:
        raise ValueError(f"{name}: `filters` must be a non-empty sequence such as (32, 64, 128, 256), got {filters!r}.")
    for f in filters:
        V.positive_int(name, "filters", f)
    input_shape = _check_input_shape(name, input_shape, 2 ** len(filters))
    V.class_count(name, num_classes)

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(filters[0], 3, strides=2, padding="same", name="entry_conv")(inputs)
    x = layers.BatchNormalization(name="entry_bn")(x)
    x = layers.Activation("relu", name="entry_relu")(x)
    previous = x
    for i, f in enumerate(filters[1:]):
        p = f"down{i + 1}"
        x = layers.Activation("relu", name=f"{p}_relu1")(x)
        x = layers.SeparableConv2D(f, 3, padding="same", name=f"{p}_sepconv1")(x)
        x = layers.BatchNormalization(name=f"{p}_bn1")(x)
        x = layers.Activation("relu", name=f"{p}_relu2")(x)
        x = layers.SeparableConv2D(f, 3, padding="same", name=f"{p}_sepconv2")(x)
        x = layers.BatchNormalization(name=f"{p}_bn2")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{p}_pool")(x)
        residual = layers.Conv2D(f, 1, strides=2, padding="same", name=f"{p}_residual")(previous)
        x = layers.Add(name=f"{p}_add")([x, residual])
        previous = x
    for i, f in enumerate(reversed(filters)):
        p = f"up{i + 1}"
        x = layers.Activation("relu", name=f"{p}_relu1")(x)
        x = layers.Conv2DTranspose(f, 3, padding="same", name=f"{p}_convt1")(x)
        x = layers.BatchNormalization(name=f"{p}_bn1")(x)
        x = layers.Activation("relu", name=f"{p}_relu2")(x)
        x = layers.Conv2DTranspose(f, 3, padding="same", name=f"{p}_convt2")(x)
        x = layers.BatchNormalization(name=f"{p}_bn2")(x)
        x = layers.UpSampling2D(2, name=f"{p}_upsample")(x)
        residual = layers.UpSampling2D(2, name=f"{p}_residual_upsample")(previous)
        residual = layers.Conv2D(f, 1, padding="same", name=f"{p}_residual")(residual)
        x = layers.Add(name=f"{p}_add")([x, residual])
        previous = x
    outputs = layers.Conv2D(num_classes, 3, padding="same", name="logits")(x)
    model = keras.Model(inputs, outputs, name=name)
    config = dict(input_shape=list(input_shape), num_classes=num_classes, filters=list(filters))
    return load_weights(model, weights, model_name="unet_baseline", config=config)


# The segmentation task and its overlay plot live in kerasdil.tasks and kerasdil.plots;
# the names stay importable from here.
from kerasdil.plots import plot_overlays  # noqa: E402
from kerasdil.tasks import SegmentationTask  # noqa: E402

__all__ = ["SegmentationTask", "deeplab_aspp", "plot_overlays", "unet_baseline"]
