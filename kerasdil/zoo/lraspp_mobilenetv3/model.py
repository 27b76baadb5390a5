"""lraspp_mobilenetv3: keras.applications MobileNetV3-Small with the LR-ASPP head, the mobile peer."""

import keras
from keras import layers

from kerasdil.layers import _validate as V
from kerasdil.zoo.weights_io import load_weights


def lraspp_mobilenetv3(input_shape=(64, 80, 1), num_classes=11, alpha=1.0, head_filters=128, weights=None,
                       name="lraspp_mobilenetv3"):
    """MobileNetV3-Small with the Lite R-ASPP segmentation head (Howard et al., 2019).

    Backbone: ``keras.applications.MobileNetV3Small(weights=None,
    include_preprocessing=False)``, randomly initialised (nothing is
    downloaded), fed the [0, 1] image directly, its BatchNormalization
    momentum set to Keras' default 0.99 (keras.applications uses 0.999, made
    for ImageNet-length training; on the scenes' budget the moving statistics
    lag and validation predicts background only). The head follows the paper's
    LR-ASPP: the backbone's last 1/16 feature map goes through a 1x1 conv
    (``head_filters``, BN, ReLU) gated by a global-pooling branch (1x1 conv,
    sigmoid), is upsampled (bilinear) to 1/8 and mapped to class logits by a
    1x1 conv, and added to a 1x1 conv of the last 1/8 feature map; the sum is
    upsampled (bilinear) to the input size. The paper makes the final 1/32
    stage of the backbone dilated and keeps it; keras.applications' backbone
    has no dilation setting, so the head reads the 1/16 features and the 1/32
    stage is left out (it would not be used).

    Args:
        input_shape: (H, W, C), H and W divisible by 16. Default (64, 80, 1).
        num_classes: classes per pixel. Default 11.
        alpha: MobileNetV3 width multiplier. Default 1.0.
        head_filters: channels of the LR-ASPP branch. Default 128.
        weights: None or a weights file path.
        name: model name.

    Returns:
        A ``keras.Model`` from images to per-pixel logits.

    Raises:
        ValueError: input size not divisible by 16, or bad arguments.

    Example:
        >>> lraspp_mobilenetv3(input_shape=(96, 96, 1)).output_shape
        (None, 96, 96, 11)
    """
    input_shape = V.input_shape_divisible(name, input_shape, 16)
    V.class_count(name, num_classes)
    V.positive_int(name, "head_filters", head_filters)
    h, w, _ = input_shape
    inputs = keras.Input(shape=input_shape, name="image")
    backbone = keras.applications.MobileNetV3Small(
        input_tensor=inputs, include_top=False, weights=None, alpha=alpha, include_preprocessing=False,
    )

    # keras.applications builds MobileNetV3 for ImageNet with BatchNormalization
    # momentum 0.999; trained from scratch on a few thousand steps its moving
    # statistics then lag so far behind that inference predicts background only.
    # Keras' default momentum (0.99, that of every kerasdil model) lets it learn.
    for layer in backbone.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = 0.99

    def last_at(stride):
        size = (h // stride, w // stride)
        return [layer for layer in backbone.layers if tuple(layer.output.shape[1:3]) == size][-1].output

    low, high = last_at(8), last_at(16)
    x = layers.Conv2D(head_filters, 1, use_bias=False, name="lraspp_conv")(high)
    x = layers.BatchNormalization(name="lraspp_bn")(x)
    x = layers.Activation("relu", name="lraspp_relu")(x)
    gate = layers.GlobalAveragePooling2D(keepdims=True, name="lraspp_pool")(high)
    gate = layers.Conv2D(head_filters, 1, activation="sigmoid", name="lraspp_gate")(gate)
    x = layers.Multiply(name="lraspp_gated")([x, gate])
    x = layers.Resizing(h // 8, w // 8, interpolation="bilinear", name="lraspp_up8")(x)
    x = layers.Conv2D(num_classes, 1, name="lraspp_high_logits")(x)
    skip = layers.Conv2D(num_classes, 1, name="lraspp_low_logits")(low)
    x = layers.Add(name="lraspp_add")([x, skip])
    outputs = layers.Resizing(h, w, interpolation="bilinear", name="logits")(x)
    model = keras.Model(inputs, outputs, name=name)
    config = dict(input_shape=list(input_shape), num_classes=num_classes, alpha=alpha, head_filters=head_filters)
    return load_weights(model, weights, model_name="lraspp_mobilenetv3", config=config)
