"""What the zoo holds, as plain data: ``kerasdil zoo list`` / ``zoo info`` without TensorFlow.

The zoo's registry (``kerasdil.zoo``) is filled by importing the builders, which
imports Keras and TensorFlow: seconds before five lines can be printed. This
module restates, for each registered builder, the facts the CLI prints (its
registry entry, and the size and receptive field of the model its defaults build),
and reads the shipped weights' cards (JSON beside the ``.npz`` files) directly.

It is a copy, so a test (``tests/test_zoo_catalog.py``) builds every model and
fails when anything here differs from what the registry and the model report.
"""

import json
import os

# name -> the registry's fields, and what `model_stats` / `receptive_field_of_model`
# report for the model built with the defaults.
ENTRIES = {
    "deeplab_aspp": dict(
        task="segmentation",
        family="segmentation",
        input_shape=(64, 80, 1),
        num_classes=11,
        description="DeepLab-style segmenter: dilated DSDC backbone (stride traded for dilation), ASPP, V3+ decoder",
        default_config={
            "input_shape": (64, 80, 1), "num_classes": 11, "backbone": "dsdc", "output_stride": 8,
            "aspp_rates": None, "decoder": True, "dilation_schedule": None, "width": 18, "aspp_filters": 64,
            "decoder_filters": 32, "backbone_classes": 10, "background_prior": 0.95, "implementation": "auto",
            "backbone_weights": None, "feature_layers": None, "multi_grid": None, "stem": "full", "stage_filters": None,
        },
        params=104_672, trainable_params=102_272, macs=29_614_048,
        receptive_field=(498, 498), stride=(1, 1), holes=0,
    ),
    "keras_io_convnet": dict(
        task="classification",
        family="baselines",
        input_shape=(28, 28, 1),
        num_classes=10,
        description="keras.io 'Simple MNIST convnet' (34,826 params), the peer baseline",
        default_config={"input_shape": (28, 28, 1), "num_classes": 10},
        params=34_826, trainable_params=34_826, macs=2_440_960,
        receptive_field=(10, 10), stride=(4, 4), holes=0,
    ),
    "lraspp_mobilenetv3": dict(
        task="segmentation",
        family="baselines",
        input_shape=(64, 80, 1),
        num_classes=11,
        description="keras.applications MobileNetV3Small (from scratch) with an LR-ASPP head, the mobile peer",
        default_config={"input_shape": (64, 80, 1), "num_classes": 11, "alpha": 1.0, "head_filters": 128},
        params=286_686, trainable_params=281_230, macs=4_542_368,
        receptive_field=(351, 351), stride=(1, 1), holes=0,
    ),
    "mnist_conv": dict(
        task="classification",
        family="mnist",
        input_shape=(28, 28, 1),
        num_classes=10,
        description="the width-18 six-block DSDC net (mnist_dsdc:mnist_w18) with plain dilated Conv2D blocks (cost comparison)",
        default_config={
            "input_shape": (28, 28, 1), "num_classes": 10, "dilation_schedule": ((1, 2, 5), (1, 2, 3)),
            "width": 18, "include_top": True, "dropout": 0.1, "classifier_activation": "softmax",
            "stem": "pool", "stage_filters": None, "batchnorm": True,
        },
        params=101_008, trainable_params=100_432, macs=9_272_124,
        receptive_field=(86, 86), stride=(4, 4), holes=0,
    ),
    "mnist_dsdc": dict(
        task="classification",
        family="mnist",
        input_shape=(28, 28, 1),
        num_classes=10,
        description="DSDC MNIST classifier: strided stem conv, DilationStack (1, 2, 3) at 7x7, GAP, dense",
        default_config={
            "input_shape": (28, 28, 1), "num_classes": 10, "dilation_schedule": ((), (1, 2, 3)),
            "width": 32, "include_top": True, "dropout": 0.1, "classifier_activation": "softmax",
            "implementation": "auto", "stem": "strided", "stage_filters": (32, 64), "batchnorm": True,
        },
        params=13_514, trainable_params=13_066, macs=629_408,
        receptive_field=(53, 53), stride=(4, 4), holes=0,
    ),
    "series_dsdc": dict(
        task="classification",
        family="series",
        input_shape=(150, 1),
        num_classes=2,
        description="time-series classifier: Conv1D stem, residual 1D DSDC blocks whose field covers the series, GAP",
        default_config={
            "input_shape": (150, 1), "num_classes": 2, "dilation_schedule": None, "width": 64, "kernel_size": 9,
            "padding": "same", "dropout": 0.1, "include_top": True, "classifier_activation": "softmax",
        },
        params=25_474, trainable_params=24_706, macs=3_571_328,
        receptive_field=(1, 255), stride=(1, 1), holes=0,
    ),
    "unet_baseline": dict(
        task="segmentation",
        family="segmentation",
        input_shape=(64, 80, 1),
        num_classes=11,
        description="keras.io 'Image segmentation with a U-Net-like architecture' (Xception-style), the peer",
        default_config={"input_shape": (64, 80, 1), "num_classes": 11, "filters": (32, 64, 128, 256)},
        params=2_060_715, trainable_params=2_056_939, macs=210_544_640,
        receptive_field=(215, 215), stride=(1, 1), holes=0,
    ),
}


def weights_folder():
    """The folder of the shipped weights (``kerasdil/zoo/weights``), found without importing kerasdil.zoo."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo", "weights")


def pretrained(name):
    """The shipped weights' cards of zoo entry ``name``: dict tag -> card (``file``, ``sha256``, ...).

    Read from the same JSON files as ``kerasdil.zoo.model_info(name).pretrained``.
    """
    found = {}
    folder = weights_folder()
    if not os.path.isdir(folder):
        return found
    for fname in sorted(os.listdir(folder)):
        if fname.startswith(name + "-") and fname.endswith(".json"):
            with open(os.path.join(folder, fname)) as f:
                card = json.load(f)
            card["path"] = os.path.join(folder, card["file"])
            found[fname[len(name) + 1 : -len(".json")]] = card
    return found
