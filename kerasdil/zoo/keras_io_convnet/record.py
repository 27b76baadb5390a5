"""The record of keras_io_convnet, keras.io's "Simple MNIST convnet" (the peer baseline)."""

from kerasdil.zoo.record import ZooRecord

KERAS_IO_CONVNET_RECORD = ZooRecord(
    name="keras_io_convnet",
    family="baselines",
    description="keras.io 'Simple MNIST convnet' (34,826 params), the peer baseline",
    # keras.io's "Simple MNIST convnet" recipe: Adam 1e-3, batch 128, 15 epochs, no augmentation.
    training_recipe=dict(epochs=15, batch_size=128, weight_decay=0.0, augment=False, validation_size=6000),
)

RECORDS = (KERAS_IO_CONVNET_RECORD,)
