"""The record of lraspp_mobilenetv3, the mobile peer of deeplab_aspp."""

from kerasdil.zoo.record import ZooRecord

LRASPP_MOBILENETV3_RECORD = ZooRecord(
    name="lraspp_mobilenetv3",
    builder="kerasdil.zoo.lraspp_mobilenetv3.model:lraspp_mobilenetv3",
    task="segmentation",
    family="baselines",
    input_shape=(64, 80, 1),
    num_classes=11,
    description="keras.applications MobileNetV3Small (from scratch) with an LR-ASPP head, the mobile peer",
    # deeplab_aspp's from-scratch recipe, so the two compare at the same budget.
    training_recipe=dict(epochs=12, batch_size=16, learning_rate=3e-3, weight_decay=1e-4, augment=True,
                         validation_size=1000),
)

RECORDS = (LRASPP_MOBILENETV3_RECORD,)
