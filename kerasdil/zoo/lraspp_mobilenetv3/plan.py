"""lraspp_mobilenetv3's layers in plain Python: parameters, MACs and receptive field without building it.

The backbone is keras.applications' MobileNetV3Small; :data:`SMALL_BLOCKS` is its
block table (``stack_fn`` in Keras' ``applications/mobilenet_v3.py``: expansion,
filters, kernel, stride, squeeze-excite). The LR-ASPP head reads the backbone's last
maps at strides 8 and 16, so the model keeps the backbone up to the expand conv of
its first stride-32 block. tests/test_zoo_plans.py pins :func:`summary` against the
built model, so a Keras release that changes MobileNetV3Small fails there.
"""

from fractions import Fraction

from kerasdil.backbones.plan import Tally
from kerasdil.zoo.deeplab_aspp.plan import SEGMENTATION_INPUT_SHAPE, SEGMENTATION_NUM_CLASSES

#: MobileNetV3Small's inverted residual blocks: (expansion, filters, kernel, stride, squeeze-excite).
SMALL_BLOCKS = (
    (1, 16, 3, 2, True), (72 / 16, 24, 3, 2, False), (88 / 24, 24, 3, 1, False), (4, 40, 5, 2, True),
    (6, 40, 5, 1, True), (6, 40, 5, 1, True), (3, 48, 5, 1, True), (3, 48, 5, 1, True), (6, 96, 5, 2, True),
    (6, 96, 5, 1, True), (6, 96, 5, 1, True),
)
#: Channels of the stem conv (not scaled by ``alpha``).
STEM_FILTERS = 16


def _depth(value, divisor=8):
    """Keras' channel rounding in MobileNetV3: to a multiple of 8, never more than 10% down."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _backbone(tally, h, w, channels, alpha):
    """Count the backbone up to the map at stride 16; ``(specs, channels at 8 and at 16, (h, w) at 8)``."""
    from kerasdil.receptive import LayerSpec  # numpy: imported when the chain is asked for

    h, w = -(-h // 2), -(-w // 2)
    tally.conv(h, w, channels, STEM_FILTERS, 3, bias=False, batchnorm=True)
    specs, channels, stride, taps = [LayerSpec(3, 2)], STEM_FILTERS, 2, {}
    for i, (expansion, filters, kernel, step, excite) in enumerate(SMALL_BLOCKS):
        expanded = _depth(channels * expansion)
        if i:  # the first block has no expand conv
            tally.conv(h, w, channels, expanded, bias=False, batchnorm=True)
            taps[stride] = (expanded, (h, w))  # the last map at this stride, before the block strides
        if step == 2 and stride == 16:
            return specs, taps[8][0], expanded, taps[8][1]
        h, w, stride = -(-h // step), -(-w // step), stride * step
        tally.conv(h, w, expanded if i else channels, 1, kernel, bias=False)  # the depthwise conv
        tally.norm(expanded)
        specs.append(LayerSpec(kernel, step))
        if excite:  # squeeze-excite on the pooled map: two 1x1 convs with biases
            squeezed = _depth(expanded * 0.25)
            tally.conv(1, 1, expanded, squeezed)
            tally.conv(1, 1, squeezed, expanded)
        filters = _depth(filters * alpha)
        tally.conv(h, w, expanded, filters, bias=False, batchnorm=True)
        channels = filters
    raise ValueError("MobileNetV3Small has no stride-32 block")  # never: SMALL_BLOCKS has one


def summary(input_shape=SEGMENTATION_INPUT_SHAPE, num_classes=SEGMENTATION_NUM_CLASSES, alpha=1.0, head_filters=128,
            **_):
    """``(Tally, [LayerSpec])`` of ``lraspp_mobilenetv3(input_shape, num_classes, alpha, head_filters)``, computed.

    The receptive-field chain follows the high branch (stride 16, upsampled to 8,
    then to the input); the global-pooling gate sees the whole image.

    Example:
        >>> summary()[0].params > 0
        True
    """
    from kerasdil.receptive import LayerSpec

    h, w, channels = input_shape
    tally = Tally()
    specs, low, high, (h8, w8) = _backbone(tally, h, w, channels, alpha)
    tally.conv(-(-h // 16), -(-w // 16), high, head_filters, bias=False, batchnorm=True)  # lraspp_conv
    tally.conv(1, 1, high, head_filters)  # the sigmoid gate on the pooled map
    tally.conv(h8, w8, head_filters, num_classes)  # high logits, at stride 8
    tally.conv(h8, w8, low, num_classes)  # low logits
    # Bilinear resizing reads two input pixels per axis: a 2-tap kernel at the upsampled stride.
    return tally, specs + [LayerSpec(1), LayerSpec(2, Fraction(1, 2)), LayerSpec(1), LayerSpec(2, Fraction(1, 8))]
