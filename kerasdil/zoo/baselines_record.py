"""The records of the peer baselines (``kerasdil.zoo.baselines``): the classifier and the mobile segmenter."""

from kerasdil.zoo.record import ZooRecord

KERAS_IO_CONVNET_RECORD = ZooRecord(
    name="keras_io_convnet",
    builder="kerasdil.zoo.baselines:keras_io_convnet",
    task="classification",
    family="baselines",
    input_shape=(28, 28, 1),
    num_classes=10,
    description="keras.io 'Simple MNIST convnet' (34,826 params), the peer baseline",
    # keras.io's "Simple MNIST convnet" recipe: Adam 1e-3, batch 128, 15 epochs, no augmentation.
    training_recipe=dict(epochs=15, batch_size=128, learning_rate=1e-3, weight_decay=0.0, augment=False,
                         validation_size=6000),
)

LRASPP_MOBILENETV3_RECORD = ZooRecord(
    name="lraspp_mobilenetv3",
    builder="kerasdil.zoo.baselines:lraspp_mobilenetv3",
    task="segmentation",
    family="baselines",
    input_shape=(64, 80, 1),
    num_classes=11,
    description="keras.applications MobileNetV3Small (from scratch) with an LR-ASPP head, the mobile peer",
    # deeplab_aspp's from-scratch recipe, so the two compare at the same budget.
    training_recipe=dict(epochs=12, batch_size=16, learning_rate=3e-3, weight_decay=1e-4, augment=True,
                         validation_size=1000),
)

RECORDS = (KERAS_IO_CONVNET_RECORD, LRASPP_MOBILENETV3_RECORD)
