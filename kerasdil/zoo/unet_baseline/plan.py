"""unet_baseline's layers in plain Python: parameters, MACs and receptive field without building it.

The builder (``model.py``) and :func:`summary` walk the same blocks: an entry
conv, one downsampling block per ``filters[1:]``, one upsampling block per
reversed ``filters``, a 3x3 classifier. ``kerasdil zoo info unet_baseline``
prints the counts; tests/test_zoo_plans.py pins them against the built model.
"""

from fractions import Fraction

from kerasdil.backbones.plan import Tally
from kerasdil.zoo.deeplab_aspp.plan import SEGMENTATION_INPUT_SHAPE, SEGMENTATION_NUM_CLASSES

#: Channels of the entry conv and the blocks: keras.io's U-Net.
DEFAULT_FILTERS = (32, 64, 128, 256)


def summary(input_shape=SEGMENTATION_INPUT_SHAPE, num_classes=SEGMENTATION_NUM_CLASSES, filters=DEFAULT_FILTERS, **_):
    """``(Tally, [LayerSpec])`` of ``unet_baseline(input_shape, num_classes, filters)``, computed.

    Every conv has a bias; BatchNormalization follows the entry conv and each
    separable or transposed conv. The receptive-field chain follows the main
    path (the 1x1 residual projections see less of the image).

    Example:
        >>> summary()[0].params
        2060715
    """
    from kerasdil.receptive import LayerSpec  # numpy: imported when the chain is asked for

    h, w, channels = input_shape
    tally, specs = Tally(), [LayerSpec(3, 2)]
    h, w = -(-h // 2), -(-w // 2)
    tally.conv(h, w, channels, filters[0], 3, batchnorm=True)
    channels = filters[0]
    for f in filters[1:]:  # ReLU, SeparableConv2D, BN, twice; MaxPooling2D(3, 2); strided 1x1 residual
        for cin in (channels, f):
            tally.conv(h, w, cin, 1, 3, bias=False)  # the depthwise half
            tally.conv(h, w, cin, f, batchnorm=True)
        h, w = -(-h // 2), -(-w // 2)
        tally.conv(h, w, channels, f)
        specs += [LayerSpec(3), LayerSpec(3), LayerSpec(3, 2)]
        channels = f
    for f in reversed(filters):  # ReLU, Conv2DTranspose, BN, twice; UpSampling2D(2); upsampled 1x1 residual
        for cin in (channels, f):
            tally.conv(h, w, cin, f, 3, batchnorm=True)
        h, w = 2 * h, 2 * w
        tally.conv(h, w, channels, f)
        specs += [LayerSpec(3), LayerSpec(3), LayerSpec(1, Fraction(1, 2))]
        channels = f
    tally.conv(h, w, channels, num_classes, 3)
    return tally, specs + [LayerSpec(3)]
