"""deeplab_aspp: a DeepLab-style segmenter on a dilated DSDC or keras.applications backbone.

They train and are scored by the "segmentation" task of :mod:`kerasdil.tasks`
(loss, metrics, MNIST-scenes data, evaluation with mIoU and an overlay PNG).
"""

import keras
from keras import layers

from kerasdil.backbones import backbone_names, segmenter_features
from kerasdil.backbones.dsdc import dsdc_backbone
from kerasdil.layers import ASPP
from kerasdil.layers import _validate as V
from kerasdil.layers.heads import deeplab_decoder, light_decoder, set_background_prior
from kerasdil.zoo.deeplab_aspp.plan import (  # the constants and the stage plan the builder and its costs share
    ASPP_FILTERS,
    BACKBONE_CLASSES,
    BACKBONE_STAGES,
    BACKBONE_WIDTH,
    DECODER_FILTERS,
    DEEPLAB_STEMS,
    DEFAULT_OUTPUT_STRIDE,
    DEFAULT_SCHEDULE,
    OUTPUT_STRIDES,
    SEGMENTATION_INPUT_SHAPE,
    SEGMENTATION_NUM_CLASSES,
    default_aspp_rates,
    stage_plan,
)
from kerasdil.zoo.model import ZooModel
from kerasdil.zoo.weights_io import load_weights

#: Backbone names: the DSDC backbone and the keras.applications ones (kerasdil.backbones).
BACKBONES = ("dsdc",) + backbone_names()


def _aspp_rates(aspp_rates, output_stride, name):
    if aspp_rates is None:
        return default_aspp_rates(output_stride)
    if isinstance(aspp_rates, (str, bytes)) or not hasattr(aspp_rates, "__len__") or not len(aspp_rates):
        raise ValueError(f"{name}: `aspp_rates` must be a non-empty sequence such as (2, 4, 6), got {aspp_rates!r}.")
    for r in aspp_rates:
        V.positive_int(name, "aspp_rates", r)
    return tuple(aspp_rates)


def _backbone_schedule(dilation_schedule, name):
    """The backbone's per-stage rates: BACKBONE_STAGES' or a validated override."""
    if dilation_schedule is None:
        return DEFAULT_SCHEDULE
    if (
        isinstance(dilation_schedule, (str, bytes))
        or not hasattr(dilation_schedule, "__len__")
        or len(dilation_schedule) != len(BACKBONE_STAGES)
        or any(isinstance(s, (int, str, bytes)) for s in dilation_schedule)
    ):
        raise ValueError(
            f"{name}: `dilation_schedule` needs {len(BACKBONE_STAGES)} per-stage rate tuples such as "
            f"{DEFAULT_SCHEDULE}, got {dilation_schedule!r}."
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
            dilation (:func:`kerasdil.backbones.dilate_backbone`) and sit
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
    input_shape, rates, schedules, filters = _check_dsdc(
        name, input_shape, num_classes, output_stride, aspp_rates, decoder, dilation_schedule, width, aspp_filters,
        decoder_filters, backbone_classes, stem, stage_filters)
    inputs = keras.Input(shape=input_shape, name="image")
    plan = stage_plan(schedules, width=width, stage_filters=filters, stem=stem, output_stride=output_stride)
    maps = dsdc_backbone(inputs, plan, implementation=implementation)
    evidence = None
    if backbone_classes and decoder:
        # The backbone classifier applied at every position (FCN-style): per-
        # position class evidence, filled from mnist_dsdc's Dense head.
        evidence = layers.Conv2D(backbone_classes, 1, name="classifier")(maps["stage2"])
    x = ASPP(filters=aspp_filters, rates=rates, separable=True, dropout=0.1, name="aspp")(maps[plan.stages[-1].name])
    strides = {stage.name: stage.stride for stage in plan.stages}
    if decoder == "light":
        outputs = light_decoder(x, maps["stage2"], inputs, num_classes, output_stride=output_stride,
                                low_stride=strides["stage2"], decoder_filters=decoder_filters,
                                implementation=implementation, evidence=evidence)
    elif decoder:
        outputs = deeplab_decoder(x, maps["stage1"], inputs, num_classes, output_stride=output_stride,
                                  low_stride=strides["stage1"], decoder_filters=decoder_filters,
                                  implementation=implementation, evidence=evidence, evidence_stride=strides["stage2"],
                                  skips=(maps["stem"],))
    else:
        x = layers.Conv2D(num_classes, 1, name="logits")(x)
        outputs = layers.UpSampling2D(output_stride, interpolation="bilinear", name="upsample")(x)
    model = ZooModel(inputs, outputs, name=name)
    if background_prior is not None and num_classes > 1:
        prior_layer = "decoder_logits" if decoder == "light" else "logits"
        set_background_prior(model.get_layer(prior_layer), background_prior, name)
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


def _check_dsdc(name, input_shape, num_classes, output_stride, aspp_rates, decoder, dilation_schedule, width,
                aspp_filters, decoder_filters, backbone_classes, stem, stage_filters):
    """deeplab_aspp's arguments for the DSDC backbone, checked: (input_shape, rates, schedules, filters)."""
    if output_stride not in OUTPUT_STRIDES:
        raise ValueError(
            f"{name}: the DSDC backbone cannot give output stride {output_stride!r}; `output_stride` must be one of "
            f"{', '.join(map(str, OUTPUT_STRIDES))}."
        )
    input_shape = V.input_shape_divisible(name, input_shape, output_stride)
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
    filters = _stage_filters(stage_filters, tuple(width * multiple for _, _, multiple in BACKBONE_STAGES), name)
    if stem == "full" and not schedules[0] and decoder is True:
        raise ValueError(f"{name}: the full decoder reads stage1; give stage1 rates or use decoder=\"light\".")
    return input_shape, rates, schedules, filters


def _deeplab_on_backbone(*, input_shape, num_classes, backbone, output_stride, aspp_rates, decoder, dilation_schedule,
                         aspp_filters, decoder_filters, weights, background_prior, implementation, backbone_weights,
                         feature_layers, multi_grid, name):
    """deeplab_aspp on a keras.applications, keras.Model or function backbone (see deeplab_aspp)."""
    if dilation_schedule is not None:
        raise ValueError(f"{name}: `dilation_schedule` describes the DSDC backbone; it does not apply to backbone "
                         f"{backbone if isinstance(backbone, str) else type(backbone).__name__!r}.")
    if isinstance(output_stride, bool) or not isinstance(output_stride, int) or output_stride < 1:
        raise ValueError(f"{name}: `output_stride` must be a positive int such as 8 or 16, got {output_stride!r}.")
    input_shape = V.input_shape_divisible(name, input_shape, output_stride)
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
        outputs = deeplab_decoder(x, low, inputs, num_classes, output_stride=output_stride, low_stride=low_stride,
                                  decoder_filters=decoder_filters, implementation=implementation)
    else:
        x = layers.Conv2D(num_classes, 1, name="logits")(x)
        outputs = layers.UpSampling2D(output_stride, interpolation="bilinear", name="upsample")(x) \
            if output_stride > 1 else x
    model = ZooModel(inputs, outputs, name=name)
    if background_prior is not None and num_classes > 1:
        set_background_prior(model.get_layer("logits"), background_prior, name)
    config = dict(
        input_shape=list(input_shape), num_classes=num_classes, backbone=described["backbone"], decoder=bool(decoder),
        aspp_filters=aspp_filters, decoder_filters=decoder_filters, aspp_input=described["aspp_input"],
        low_level=described["low_level"],
    )
    return load_weights(model, weights, model_name="deeplab_aspp", config=config)


