"""The records of the MNIST classifiers (``kerasdil.zoo.mnist_dsdc.model``): mnist_dsdc and mnist_conv.

mnist_conv is mnist_dsdc's network with full 3x3 conv blocks: one builder, one
plan, so both live in this entry. Their architecture constants, costs and
receptive field live in ``plan.py`` (plain Python).
"""

from kerasdil.zoo.mnist_dsdc.plan import conv_summary, mnist_dsdc_cost, summary
from kerasdil.zoo.record import BACKBONE_LAYER_PREFIXES, ZooRecord

#: The classifier recipe's augmentation (keys of ``kerasdil.data.AUGMENTATION``).
ROBUST_AUGMENTATION = {
    "max_rotation_degrees": 20, "max_translation_pixels": 3, "max_zoom": 0.2, "max_shear": 0.3, "elastic_alpha": 17,
    "stroke_probability": 0.2, "blur_probability": 0.2, "contrast_probability": 0.25, "brightness_probability": 0.15,
    "fog_probability": 0.15, "line_probability": 0.1, "noise_probability": 0.4, "impulse_probability": 0.1,
}

MNIST_DSDC_RECORD = ZooRecord(
    name="mnist_dsdc",
    family="mnist",
    description="DSDC MNIST classifier: strided stem conv, DilationStack (1, 2, 3) at 7x7, GAP, dense",
    # Shipped weights train on all 60,000 images (no held-out split), like the final runs of most MNIST
    # papers. The augmentation is what makes them hold up off the clean test set: wider affine
    # ranges, shear and elastic warps (other pens and positions), and on a share of the images
    # stroke width, blur, contrast, brightness, fog, stray lines and sensor noise (other cameras and
    # scanners). ROBUST_AUGMENTATION below; kerasdil/zoo/mnist_dsdc/README.md has what each part bought.
    training_recipe=dict(epochs=60, batch_size=128, learning_rate=3e-3, augment=ROBUST_AUGMENTATION, validation_size=0),
    backbone_layers=BACKBONE_LAYER_PREFIXES,
    cost=mnist_dsdc_cost,
    summary=summary,
    search_families="kerasdil.zoo.mnist_dsdc.search:FAMILIES",
)

MNIST_CONV_RECORD = ZooRecord(
    name="mnist_conv",
    builder="kerasdil.zoo.mnist_dsdc.model:mnist_conv",
    family="mnist",
    description="the width-18 six-block DSDC net (mnist_dsdc:mnist_w18) with plain dilated Conv2D blocks (cost comparison)",
    training_recipe=dict(epochs=40, batch_size=128, learning_rate=3e-3),
    backbone_layers=BACKBONE_LAYER_PREFIXES,
    summary=conv_summary,
)

RECORDS = (MNIST_CONV_RECORD, MNIST_DSDC_RECORD)
