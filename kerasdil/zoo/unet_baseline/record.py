"""The record of unet_baseline, keras.io's U-Net-like segmenter (the peer of deeplab_aspp)."""

from kerasdil.zoo.record import ZooRecord
from kerasdil.zoo.unet_baseline.plan import summary

UNET_BASELINE_RECORD = ZooRecord(
    name="unet_baseline",
    task="segmentation",
    family="segmentation",
    description="keras.io 'Image segmentation with a U-Net-like architecture' (Xception-style), the peer",
    # keras.io's "Image segmentation with a U-Net-like architecture" (its Keras 3 version):
    # Adam 1e-4, batch 32, 50 epochs, a fixed training set (no augmentation), 1,000
    # validation images. Here Adam runs under train's cosine decay, on 10,000 fixed scenes.
    training_recipe=dict(epochs=50, batch_size=32, learning_rate=1e-4, weight_decay=0.0, augment=False,
                         validation_size=1000),
    summary=summary,
)

RECORDS = (UNET_BASELINE_RECORD,)
