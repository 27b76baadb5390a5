"""The record of lraspp_mobilenetv3, the mobile peer of deeplab_aspp."""

from kerasdil.zoo.deeplab_aspp.record import DEEPLAB_ASPP_RECORD
from kerasdil.zoo.lraspp_mobilenetv3.plan import summary
from kerasdil.zoo.record import ZooRecord

LRASPP_MOBILENETV3_RECORD = ZooRecord(
    name="lraspp_mobilenetv3",
    task="segmentation",
    family="baselines",
    description="keras.applications MobileNetV3Small (from scratch) with an LR-ASPP head, the mobile peer",
    # deeplab_aspp's from-scratch recipe, so the two compare at the same budget.
    training_recipe=DEEPLAB_ASPP_RECORD.training_recipe,
    summary=summary,
)

RECORDS = (LRASPP_MOBILENETV3_RECORD,)
