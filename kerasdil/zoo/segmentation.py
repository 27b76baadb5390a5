"""Segmenters: deeplab_aspp (dilated DSDC backbone + ASPP) and its U-Net peer.

Also defines and registers the "segmentation" task (loss, metrics, MNIST-scenes
data, evaluation with mIoU and an overlay PNG) that ``kerasdil train`` and
``kerasdil evaluate`` use for these models.
"""

import inspect
import os

import keras
import numpy as np
from keras import layers

from kerasdil.layers import ASPP, DilatedConvBN, DilationStack, SeparableDilatedConv
from kerasdil.layers import _validate as V
from kerasdil.tasks import Task, register_task
from kerasdil.zoo.mnist import mnist_dsdc
from kerasdil.zoo.model import ZooModel
from kerasdil.zoo.registry import register_model
from kerasdil.zoo.weights_io import load_weights

# The input size the zoo's segmenters default to. M2NIST's 64 x 84 canvas divides
# only by 4 (84 = 4 * 21), so for output strides 8 and 16 the zoo uses 64 x 80,
# which divides by 16; `deeplab_aspp(input_shape=(64, 84, 1), output_stride=4)`
# runs on the M2NIST size.
SEGMENTATION_INPUT_SHAPE = (64, 80, 1)
OUTPUT_STRIDES = (4, 8, 16)
BACKBONES = ("dsdc",)

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
#: Names of the layers that make up deeplab_aspp's backbone (see kerasdil.finetune).
BACKBONE_LAYER_PREFIXES = ("stem", "pool", "stage")
#: deeplab_aspp's default width is mnist_dsdc's, so the pretrained classifier transfers.
BACKBONE_WIDTH = inspect.signature(mnist_dsdc).parameters["width"].default


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
        V.dilation_schedule(name, stage)  # the shape of the error message
        for r in stage:
            V.positive_int(name, "dilation_schedule", r)
        out.append(tuple(int(r) for r in stage))
    return tuple(out)


def _set_background_prior(logits, prior, name):
    if not isinstance(prior, (int, float)) or isinstance(prior, bool) or not 0 < prior < 1:
        raise ValueError(f"{name}: `background_prior` must be in (0, 1) or None, got {prior!r}.")
    c = logits.filters
    bias = np.zeros(c, "float32")
    bias[0] = np.log(prior * (c - 1) / (1 - prior))
    logits.bias.assign(bias)


@register_model(
    task="segmentation",
    family="segmentation",
    input_shape=SEGMENTATION_INPUT_SHAPE,
    num_classes=11,
    description="DeepLab-style segmenter: dilated DSDC backbone (stride traded for dilation), ASPP, V3+ decoder",
)
def deeplab_aspp(
    input_shape=SEGMENTATION_INPUT_SHAPE,
    num_classes=11,
    backbone="dsdc",
    output_stride=8,
    aspp_rates=None,
    decoder=True,
    dilation_schedule=None,
    width=BACKBONE_WIDTH,
    aspp_filters=64,
    decoder_filters=32,
    backbone_classes=10,
    weights=None,
    background_prior=0.95,
    implementation="auto",
    name="deeplab_aspp",
):
    """DeepLab-style semantic segmenter on a dilated DSDC backbone.

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
    ASPP output, bilinear upsampling to the input size.

    Args:
        input_shape: (H, W, C), H and W divisible by ``output_stride``. Default
            (64, 80, 1). Inputs are floats in [0, 1].
        num_classes: classes per pixel. Default 11 (MNIST scenes).
        backbone: "dsdc" (the only backbone so far).
        output_stride: 4, 8 (default) or 16: input size / ASPP feature map size.
        aspp_rates: atrous rates of the ASPP branches; default (2, 4, 6) at
            output stride 8, scaled by 8 / output_stride.
        decoder: add the DeepLabV3+ decoder. Default True.
        dilation_schedule: per-stage dilation rates of the four backbone stages
            at their natural stride, e.g. ((1, 2, 5), (1, 2, 3), (1, 2, 3),
            (1, 2, 3)) (the default); stages past the output stride multiply
            them as above. Depth per stage may differ; weights then change shape.
        width: stem channels (stages use 2x, 3x, 4x, 4x). Default: mnist_dsdc's
            width (18), so its pretrained weights transfer.
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
        name: model name.

    Returns:
        A ``keras.Model`` mapping (B, H, W, C) images to (B, H, W, num_classes) logits.

    Raises:
        ValueError: input size not divisible by the output stride, an unknown
            backbone or output stride, bad rates, or weights for another architecture.

    Example:
        >>> model = deeplab_aspp(input_shape=(64, 80, 1), output_stride=8)
        >>> model.output_shape
        (None, 64, 80, 11)
    """
    if backbone not in BACKBONES:
        raise ValueError(f"{name}: unknown backbone {backbone!r}; choose from {', '.join(BACKBONES)}.")
    if output_stride not in OUTPUT_STRIDES:
        raise ValueError(f"{name}: `output_stride` must be one of {OUTPUT_STRIDES}, got {output_stride!r}.")
    input_shape = _check_input_shape(name, input_shape, output_stride)
    V.positive_int(name, "num_classes", num_classes)
    V.positive_int(name, "width", width)
    V.positive_int(name, "aspp_filters", aspp_filters)
    V.positive_int(name, "decoder_filters", decoder_filters)
    if backbone_classes is not None:
        V.positive_int(name, "backbone_classes", backbone_classes)
    rates = _aspp_rates(aspp_rates, output_stride, name)
    schedules = _backbone_schedule(dilation_schedule, name)
    h, w, _ = input_shape

    inputs = keras.Input(shape=input_shape, name="image")
    stem = DilatedConvBN(width, 3, name="stem")(inputs)
    x = stem
    stride, dilation = 1, 1
    low_level = evidence = None
    for i, ((stage, _, multiple), schedule) in enumerate(zip(BACKBONE_STAGES, schedules)):
        if stride < output_stride:
            x = layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
            stride *= 2
        else:
            dilation *= 2  # the stride this stage gives up becomes dilation
        x = DilationStack(
            tuple(r * dilation for r in schedule), width * multiple, implementation=implementation, name=stage
        )(x)
        if stage == "stage1":
            low_level = x
        if stage == "stage2" and backbone_classes and decoder:
            # The backbone classifier applied at every position (FCN-style): per-
            # position class evidence, filled from mnist_dsdc's Dense head.
            evidence = layers.Conv2D(backbone_classes, 1, name="classifier")(x)
    x = ASPP(filters=aspp_filters, rates=rates, separable=True, dropout=0.1, name="aspp")(x)
    if decoder:
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
        x = layers.Concatenate(name="refine_concat")([x, stem, inputs])
        x = SeparableDilatedConv(max(8, decoder_filters // 2), 3, implementation=implementation, name="refine_conv")(x)
        outputs = layers.Conv2D(num_classes, 1, name="logits")(x)
    else:
        x = layers.Conv2D(num_classes, 1, name="logits")(x)
        outputs = layers.UpSampling2D(output_stride, interpolation="bilinear", name="upsample")(x)
    model = ZooModel(inputs, outputs, name=name)
    if background_prior is not None and num_classes > 1:
        _set_background_prior(model.get_layer("logits"), background_prior, name)
    config = dict(
        input_shape=list(input_shape), num_classes=num_classes, backbone=backbone, decoder=bool(decoder),
        width=width, aspp_filters=aspp_filters, decoder_filters=decoder_filters, backbone_classes=backbone_classes,
    )
    if dilation_schedule is not None:
        config["dilation_schedule"] = [list(s) for s in schedules]
    # Output stride and ASPP rates change no weight shape, so they are not part
    # of the compatibility config: weights trained at OS 8 load at OS 16.
    return load_weights(model, weights, model_name="deeplab_aspp", config=config)


@register_model(
    task="segmentation",
    family="segmentation",
    input_shape=SEGMENTATION_INPUT_SHAPE,
    num_classes=11,
    description="keras.io 'Image segmentation with a U-Net-like architecture' (Xception-style), the peer",
)
def unet_baseline(
    input_shape=SEGMENTATION_INPUT_SHAPE,
    num_classes=11,
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
    V.positive_int(name, "num_classes", num_classes)

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


# ------------------------------------------------------------------------ task


def plot_overlays(images, masks, predictions, path, *, num_classes=11, max_scenes=6, title=None):
    """PNG with one row per scene: image, ground truth, prediction (and errors).

    Args:
        images: (N, H, W[, 1]) floats in [0, 1] or uint8.
        masks, predictions: (N, H, W) class ids.
        path: PNG destination (written atomically).
        num_classes: for the colour map (0 background is black).
        max_scenes: rows to draw.

    Returns:
        ``path``.
    """
    from matplotlib import colormaps

    from kerasdil.plots import _figure, save_figure

    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    n = min(max_scenes, len(images))
    palette = colormaps["tab10"](np.arange(10))[:, :3]
    colours = np.concatenate([np.zeros((1, 3)), palette[np.arange(max(num_classes - 1, 1)) % 10]])

    def paint(image, labels):
        grey = np.repeat(np.asarray(image, np.float32)[..., None], 3, -1)
        if grey.max() > 1:
            grey = grey / 255.0
        colour = colours[np.clip(labels, 0, len(colours) - 1)]
        fg = (labels > 0)[..., None]
        return np.where(fg, 0.35 * grey + 0.65 * colour, 0.5 * grey)

    fig = _figure(figsize=(10, 2.0 * n + 0.6))
    for i in range(n):
        wrong = masks[i] != predictions[i]
        panels = [
            (images[i], "image", "gray"),
            (paint(images[i], masks[i]), "ground truth", None),
            (paint(images[i], predictions[i]), "prediction", None),
            (wrong, f"errors ({int(wrong.sum())} px)", "Reds"),
        ]
        for j, (img, label, cmap) in enumerate(panels):
            ax = fig.add_subplot(n, 4, 4 * i + j + 1)
            ax.imshow(img, cmap=cmap, interpolation="nearest", vmin=0 if cmap else None, vmax=1 if cmap else None)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(label, fontsize=9)
            elif j == 3:
                ax.set_title(label, fontsize=8)
    handles = []
    from matplotlib.patches import Patch

    for c in range(1, num_classes):
        handles.append(Patch(color=colours[c], label=str(c - 1) if num_classes == 11 else str(c)))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 10), fontsize=8,
               title="digit class colours", title_fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


class SegmentationTask(Task):
    """Semantic segmentation on MNIST scenes: per-pixel cross-entropy from logits,
    mIoU (background included and excluded), per-class IoU, pixel accuracy."""

    name = "segmentation"
    monitor = "val_mean_iou"
    num_classes = 11

    def loss(self, label_smoothing=0.0):
        from kerasdil.losses import sparse_crossentropy

        return sparse_crossentropy(label_smoothing, from_logits=True)

    def metrics(self):
        from kerasdil.metrics import keras_metrics

        return keras_metrics(self.num_classes)

    def datasets(self, info, *, batch_size, source=None, augment=True, limit=None, seed=0, validation_size=5000,
                 num_train=None, num_test=None, canvas_size=None, jitter=False, **scene_kwargs):
        """(train, validation, test, description) MNIST-scenes pipelines sized for ``info``.

        The canvas is ``canvas_size`` or else ``info.input_shape`` (``kerasdil.train``
        and ``kerasdil.finetune`` pass the size the model is built for, see
        ``kerasdil.train.data_info_for``); other ``scene_kwargs`` (``digits_per_image``,
        ``overlap``, ...) go to :func:`kerasdil.data.mnist_scenes`.
        With ``augment`` the training split composes new scenes at every epoch
        (``mnist_scenes(new_scenes_every_epoch=True)``), the scene counterpart
        of image augmentation; validation and test scenes are fixed. ``limit`` caps the train,
        validation and test scenes; validation scenes number at most
        ``min(validation_size, 1000)``. ``num_train`` / ``num_test`` override the
        default 10,000 / 2,000 scenes. ``jitter`` (with ``augment``) adds
        :func:`kerasdil.data.scenes.jitter_scenes` to the training scenes.
        """
        from kerasdil.data import load_mnist_arrays
        from kerasdil.data.scenes import DEFAULT_NUM_SCENES, mnist_scenes

        arrays = load_mnist_arrays(source)
        canvas = tuple(canvas_size or info.input_shape[:2])
        num_train = num_train or DEFAULT_NUM_SCENES["train"]
        num_test = num_test or DEFAULT_NUM_SCENES["test"]
        if limit is not None:
            num_train, num_test = min(num_train, limit), min(num_test, limit)
        num_val = min(validation_size, DEFAULT_NUM_SCENES["validation"], limit or validation_size)
        common = dict(source=arrays, batch_size=batch_size, seed=seed, canvas_size=canvas, **scene_kwargs)
        if jitter and not augment:
            raise ValueError("scene jitter applies to scenes composed anew every epoch; turn augmentation on with it.")
        train = mnist_scenes("train", num_scenes=num_train, new_scenes_every_epoch=bool(augment), jitter=bool(jitter),
                             **common)
        validation = mnist_scenes("validation", num_scenes=num_val, **common) if num_val else None
        test = mnist_scenes("test", num_scenes=num_test, **common)
        digits = "the embedded MNIST sample" if arrays.is_sample else arrays.source
        look = {k: v for k, v in scene_kwargs.items() if k in ("digits_per_image", "scale_range")}
        look = "".join(f", {'digits' if k == 'digits_per_image' else 'scale'} {v[0]:g}-{v[1]:g}" for k, v in look.items())
        text = (f"data: MNIST scenes {canvas[0]}x{canvas[1]}{look}, {num_train:,} train"
                f"{' (new every epoch' + (', jittered)' if jitter else ')') if augment else ''} / {num_val:,} validation / "
                f"{num_test:,} test scenes from {digits}")
        return train, validation, test, text

    def evaluate(self, model, dataset, out_dir=None, class_names=None, max_overlays=6, prefix=""):
        """Scores of ``model`` on (image, mask) batches; ``overlays.png`` in ``out_dir``.

        Returns:
            dict with task, samples, loss, miou, miou_no_background,
            pixel_accuracy, per_class_iou, confusion_matrix (and overlays_png).
        """
        from kerasdil.data.scenes import SCENE_CLASS_NAMES
        from kerasdil.metrics import confusion_matrix, segmentation_scores

        confusion = None
        loss_sum, pixels, samples = 0.0, 0, 0
        shown = []
        expected = tuple(getattr(model, "input_shape", (None,) * 4)[1:3])
        for x, y in dataset:
            if None not in expected and tuple(x.shape[1:3]) != expected:
                raise ValueError(
                    f"images of {x.shape[1]}x{x.shape[2]} do not fit model {model.name!r}, built for "
                    f"{expected[0]}x{expected[1]}; evaluate on data of the model's input size."
                )
            logits = np.asarray(model(x, training=False), dtype=np.float64)
            y = np.asarray(y)
            if y.ndim == 4 and y.shape[-1] == 1:
                y = y[..., 0]
            num_classes = logits.shape[-1]
            if logits.shape[:3] != y.shape:
                raise ValueError(
                    f"model output {logits.shape[1:3]} and masks {y.shape[1:]} differ in size; "
                    "evaluate on images of the model's input size."
                )
            pred = logits.argmax(-1)
            cm = confusion_matrix(y, pred, num_classes)
            confusion = cm if confusion is None else confusion + cm
            shifted = logits - logits.max(-1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
            loss_sum += float(-np.take_along_axis(log_probs, y[..., None].astype(np.int64), -1).sum())
            pixels += y.size
            samples += len(y)
            if len(shown) < max_overlays:
                take = max_overlays - len(shown)
                shown.extend(zip(np.asarray(x)[:take], y[:take], pred[:take]))
        if confusion is None:
            raise ValueError("the evaluation data set is empty.")
        names = class_names or (list(SCENE_CLASS_NAMES) if confusion.shape[0] == 11 else None)
        result = {"task": self.name, "samples": samples, "loss": loss_sum / pixels}
        result.update(segmentation_scores(confusion, names))
        result["confusion_matrix"] = confusion.tolist()
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            imgs, masks, preds = (np.stack(a) for a in zip(*shown))
            result["overlays_png"] = plot_overlays(
                imgs, masks, preds, os.path.join(out_dir, f"{prefix}overlays.png"), num_classes=confusion.shape[0],
                title=f"{getattr(model, 'name', 'model')}: mIoU {result['miou']:.4f}",
            )
        return result


register_task(SegmentationTask())

__all__ = ["SegmentationTask", "deeplab_aspp", "plot_overlays", "unet_baseline"]
