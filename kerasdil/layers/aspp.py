"""ASPP: atrous spatial pyramid pooling (DeepLab v3)."""

import keras
from keras import layers, ops

from kerasdil.layers import _validate as V
from kerasdil.layers.conv import DilatedConvBN, SeparableDilatedConv, _eager_inference


@keras.saving.register_keras_serializable(package="kerasdil")
class ASPP(layers.Layer):
    """Atrous spatial pyramid pooling, as in DeepLab v3.

    Parallel branches on the same feature map: a 1x1 conv, one 3x3 atrous conv per
    rate (plain ``DilatedConvBN`` or, with ``separable=True``, a DSDC block), and an
    image-pooling branch (global average, 1x1 conv, broadcast back to H x W, which
    needs no static H, W, so any input size works). The branches are concatenated
    and projected by a 1x1 conv, then dropout.

    Args:
        filters: channels of every branch and of the output. Default 256.
        rates: non-empty sequence of positive atrous rates. Default (6, 12, 18).
        separable: depthwise-separable atrous branches. Default False.
        image_pooling: include the image-pooling branch. Default True.
        dropout: dropout rate after the projection, in [0, 1). Default 0.1.
        activation: Keras activation. Default "relu".
        use_batchnorm: BatchNormalization in every branch. Default True.

    Raises:
        ValueError: for bad filters, rates or dropout.

    Example:
        >>> aspp = ASPP(filters=32, rates=(2, 4, 6))
        >>> aspp(keras.ops.zeros((1, 16, 21, 8))).shape
        (1, 16, 21, 32)
    """

    def __init__(
        self,
        filters=256,
        rates=(6, 12, 18),
        separable=False,
        image_pooling=True,
        dropout=0.1,
        activation="relu",
        use_batchnorm=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        n = type(self).__name__
        self.filters = V.positive_int(n, "filters", filters)
        if isinstance(rates, (str, bytes)) or not hasattr(rates, "__len__") or len(rates) == 0:
            raise ValueError(f"{n}: `rates` must be a non-empty sequence such as (6, 12, 18), got {rates!r}.")
        for r in rates:
            V.pair(n, "rates", r)
        self.rates = tuple(r if isinstance(r, int) else tuple(r) for r in rates)
        self.separable = bool(separable)
        self.image_pooling = bool(image_pooling)
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"{n}: `dropout` must be in [0, 1), got {dropout!r}.")
        self.dropout = float(dropout)
        self.activation = activation
        self.use_batchnorm = bool(use_batchnorm)
        bn = dict(activation=activation, use_batchnorm=self.use_batchnorm, dtype=self.dtype_policy)
        self.branch_1x1 = DilatedConvBN(filters, 1, name="branch_1x1", **bn)
        atrous = SeparableDilatedConv if self.separable else DilatedConvBN
        self.branches = [
            atrous(filters, 3, dilation_rate=r, name=f"branch_rate{i + 1}", **bn)
            for i, r in enumerate(self.rates)
        ]
        if self.image_pooling:
            self.pool_conv = DilatedConvBN(filters, 1, name="image_pooling", **bn)
        self.projection = DilatedConvBN(filters, 1, name="projection", **bn)
        self.drop = layers.Dropout(self.dropout, dtype=self.dtype_policy, name="dropout")

    def _num_branches(self):
        return 1 + len(self.branches) + int(self.image_pooling)

    def build(self, input_shape):
        self.branch_1x1.build(input_shape)
        for branch in self.branches:
            branch.build(input_shape)
        if self.image_pooling:
            self.pool_conv.build((input_shape[0], 1, 1, input_shape[-1]))
        b, h, w, _ = input_shape
        self.projection.build((b, h, w, self.filters * self._num_branches()))

    def call(self, inputs, training=None):
        fast = _eager_inference(self, inputs, training)
        if fast is not None:
            return fast
        outputs = [self.branch_1x1(inputs, training=training)]
        outputs += [branch(inputs, training=training) for branch in self.branches]
        if self.image_pooling:
            pooled = ops.mean(inputs, axis=(1, 2), keepdims=True)
            pooled = self.pool_conv(pooled, training=training)
            # Bilinear upsampling of a 1x1 map is a broadcast; adding a zero map of
            # the input's size keeps every spatial size dynamic.
            outputs.append(pooled + ops.zeros_like(outputs[0]))
        x = self.projection(ops.concatenate(outputs, axis=-1), training=training)
        return self.drop(x, training=training)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def receptive_field_layers(self):
        # The widest atrous branch bounds the field (image pooling is global).
        from kerasdil.receptive import LayerSpec

        widest = max(self.rates, key=lambda r: r if isinstance(r, int) else max(r))
        return [LayerSpec(kernel=3, stride=1, dilation=widest)]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "rates": self.rates,
            "separable": self.separable,
            "image_pooling": self.image_pooling,
            "dropout": self.dropout,
            "activation": self.activation,
            "use_batchnorm": self.use_batchnorm,
        }
