"""The record of deeplab_aspp (``kerasdil.zoo.deeplab_aspp.model``).

Its architecture constants (``MOBILE_CONFIG``, ...), costs and receptive field
live in ``plan.py`` (plain Python, like this module).
"""

from kerasdil.zoo.deeplab_aspp.plan import deeplab_aspp_cost, summary
from kerasdil.zoo.record import BACKBONE_LAYER_PREFIXES, ZooRecord

DEEPLAB_ASPP_RECORD = ZooRecord(
    name="deeplab_aspp",
    task="segmentation",
    family="segmentation",
    description="DeepLab-style segmenter: dilated DSDC backbone (stride traded for dilation), ASPP, V3+ decoder",
    # From scratch: the epochs, batch, peak lr and weight decay of the segmentation
    # benchmark's scratch arm (tools/bench_segmentation.py), on the task's default 10,000 new
    # MNIST scenes every epoch (augment) and 1,000 validation scenes.
    training_recipe=dict(epochs=12, batch_size=16, learning_rate=3e-3, validation_size=1000),
    # The segmentation benchmark (kerasdil/zoo/deeplab_aspp/README.md) found that the all-layers
    # phase at 2e-3 reaches the scratch model's final mIoU at epoch 6 of 12 (1e-3: epoch 7).
    # The shipped deeplab_aspp:scenes_scale1 weights predate that and were made with
    # finetune_learning_rate=1e-3 (kerasdil/zoo/deeplab_aspp/recipe.sh).
    finetuning_recipe=dict(epochs=8, batch_size=16, learning_rate=3e-3, finetune_learning_rate=2e-3),
    backbone_layers=BACKBONE_LAYER_PREFIXES,
    cost=deeplab_aspp_cost,
    summary=summary,
    search_families="kerasdil.zoo.deeplab_aspp.search:FAMILIES",
)

RECORDS = (DEEPLAB_ASPP_RECORD,)
