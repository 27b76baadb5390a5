"""kerasdil.backbones and deeplab_aspp on keras.applications backbones.

Every backbone is built with backbone_weights=None (no download); the weight
carry-over that ImageNet weights rely on is checked with random weights.
"""

import numpy as np
import pytest

import keras
from keras import layers

from kerasdil.zoo import deeplab_aspp
from kerasdil.backbones import (
    KERAS_BACKBONES,
    backbone_names,
    dilate_backbone,
    keras_backbone,
    natural_strides,
)

TINY = (32, 32, 1)


def _dilation_rates(model, kind):
    return {l.name: tuple(l.dilation_rate) for l in model._flatten_layers(recursive=True) if isinstance(l, kind)}


# Building a keras.applications model takes seconds; the small MobileNetV3 runs always, the rest are slow.
BACKBONE_PARAMS = [name if name == "mobilenet_v3_small" else pytest.param(name, marks=pytest.mark.slow)
                   for name in sorted(KERAS_BACKBONES)]


@pytest.mark.parametrize("output_stride", [8, 16])
@pytest.mark.parametrize("backbone", BACKBONE_PARAMS)
def test_named_backbone_gives_the_output_stride_asked(backbone, output_stride):
    model = deeplab_aspp(input_shape=TINY, num_classes=4, backbone=backbone, output_stride=output_stride)
    assert model.output_shape == (None, 32, 32, 4)
    # The ASPP reads the backbone at 1/output_stride, the decoder at 1/4.
    assert model.get_layer("aspp").input.shape[1:3] == (32 // output_stride, 32 // output_stride)
    assert model.get_layer("decoder_reduce").input.shape[1:3] == (8, 8)
    inner = model.get_layer("backbone")
    assert max(natural_strides(inner).values()) == output_stride
    dilated = [n for n, r in _dilation_rates(inner, layers.Conv2D).items() if max(r) > 1] + [
        n for n, r in _dilation_rates(inner, layers.DepthwiseConv2D).items() if max(r) > 1]
    assert dilated
    x = np.random.default_rng(0).random((2, *TINY), dtype=np.float32)
    assert model(x).shape == (2, 32, 32, 4)


@pytest.mark.slow
def test_named_low_level_layers_sit_at_stride_4():
    for name, spec in KERAS_BACKBONES.items():
        strides = natural_strides(keras_backbone(name, (64, 64, 1)))
        assert strides[spec.low_level_layer] == 4, name
        assert max(strides.values()) == 32, name


def _mobilenet_v2_with_live_statistics(shape):
    """MobileNetV2 whose BN variances make activations O(1) (random init makes them ~1e-12)."""
    keras.utils.set_random_seed(0)
    net = keras_backbone("mobilenet_v2", shape)
    for layer in net.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 0.1, "float32"))
    return net


def test_trading_stride_for_dilation_computes_the_same_features_on_a_denser_grid():
    net = _mobilenet_v2_with_live_statistics((64, 64, 1))
    x = np.random.default_rng(1).random((2, 64, 64, 1), dtype=np.float32)
    reference = np.asarray(net(x, training=False))  # stride 32: 2 x 2
    assert np.abs(reference).max() > 0.1
    for output_stride, offset in ((16, 1), (8, 3)):
        dilated = dilate_backbone(net, output_stride)
        dense = np.asarray(dilated(x, training=False))
        step = 32 // output_stride
        assert dense.shape[1:3] == (64 // output_stride,) * 2
        # MobileNetV2's stride-2 convs centre their outputs on odd input positions, so the undilated
        # map is the dense one at offset 1 (then 1 + 2 for a second trade), exactly.
        np.testing.assert_allclose(dense[:, offset::step, offset::step], reference, rtol=1e-4, atol=1e-5)
        # Weights carry over unchanged (what ImageNet weights rely on).
        for layer in net.layers:
            if layer.weights:
                for a, b in zip(layer.get_weights(), dilated.get_layer(layer.name).get_weights()):
                    np.testing.assert_array_equal(a, b)


def test_deeplab_rates_and_multi_grid():
    net = keras_backbone("mobilenet_v2", (64, 64, 1))
    rates = _dilation_rates(dilate_backbone(net, 16), layers.DepthwiseConv2D)
    assert rates["block_13_depthwise"] == (1, 1)  # the traded conv keeps the rate before the trade
    assert {rates[f"block_{i}_depthwise"] for i in (14, 15, 16)} == {(2, 2)}
    rates = _dilation_rates(dilate_backbone(net, 8, multi_grid=(1, 2, 4)), layers.DepthwiseConv2D)
    assert rates["block_6_depthwise"] == (1, 1) and rates["block_7_depthwise"] == (2, 2)
    assert rates["block_13_depthwise"] == (2, 2)
    assert [rates[f"block_{i}_depthwise"] for i in (14, 15, 16)] == [(4, 4), (8, 8), (16, 16)]
    # The ZeroPadding2D sized for a stride-2 conv goes; the conv pads "same".
    names = [l.name for l in dilate_backbone(net, 16).layers]
    assert "block_13_pad" not in names and "block_6_pad" in names


def test_sizes_other_than_the_default_and_rgb_input():
    model = deeplab_aspp(input_shape=(96, 96, 3), num_classes=3, backbone="mobilenet_v3_small", output_stride=16)
    assert model.output_shape == (None, 96, 96, 3)
    assert model.get_layer("aspp").input.shape[1:3] == (6, 6)
    model = deeplab_aspp(input_shape=(64, 80, 1), backbone="mobilenet_v3_large", output_stride=8, decoder=False)
    assert model.output_shape == (None, 64, 80, 11)
    assert model.get_layer("aspp").input.shape[1:3] == (8, 10)


def test_keras_model_backbone_is_rebuilt_at_the_input_size_and_takes_grey_images(tmp_path):
    keras.utils.set_random_seed(0)
    net = keras.applications.MobileNetV3Small(input_shape=(224, 224, 3), include_top=False, weights=None,
                                              include_preprocessing=False)
    model = deeplab_aspp(input_shape=(64, 80, 1), num_classes=3, backbone=net, output_stride=16,
                         feature_layers={4: "expanded_conv_project_bn"})
    assert model.output_shape == (None, 64, 80, 3)
    assert model.get_layer("gray_to_rgb").output.shape[-1] == 3
    inner = model.get_layer("backbone")
    assert inner.input.shape[1:] == (64, 80, 3)
    np.testing.assert_array_equal(inner.get_layer("conv").get_weights()[0], net.get_layer("conv").get_weights()[0])
    # A .keras file of it loads with plain keras (safe mode) and computes the same.
    path = str(tmp_path / "m.keras")
    model.save(path)
    again = keras.models.load_model(path, safe_mode=True)
    x = np.random.default_rng(0).random((1, 64, 80, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), atol=1e-5)


def _tiny_backbone():
    inputs = keras.Input((None, None, 1))
    x = inputs
    for i in range(1, 4):  # strides 2, 4, 8
        x = layers.Conv2D(4 * i, 3, strides=2, padding="same", activation="relu", name=f"down{i}")(x)
        x = layers.Conv2D(4 * i, 3, padding="same", activation="relu", name=f"conv{i}")(x)
    return keras.Model(inputs, x, name="tiny")


def test_any_keras_model_and_a_feature_function_plug_in():
    model = deeplab_aspp(input_shape=(32, 32, 1), num_classes=3, backbone=_tiny_backbone(), output_stride=4,
                         feature_layers={2: "conv1", 8: "conv3"})
    assert model.get_layer("aspp").input.shape[1:3] == (8, 8)
    assert model.get_layer("decoder_reduce").input.shape[1:3] == (16, 16)
    assert _dilation_rates(model.get_layer("backbone"), layers.Conv2D)["conv3"] == (2, 2)

    def features(image):
        a = layers.Conv2D(8, 3, strides=4, padding="same", name="s4")(image)
        b = layers.Conv2D(16, 3, strides=2, padding="same", name="s8")(a)
        b = layers.Conv2D(16, 3, dilation_rate=2, padding="same", name="s8_dilated")(b)
        return {4: a, 8: b}

    model = deeplab_aspp(input_shape=(32, 32, 1), num_classes=3, backbone=features, output_stride=8)
    assert model.output_shape == (None, 32, 32, 3) and model.get_layer("aspp").input.shape[1:3] == (4, 4)
    with pytest.raises(ValueError, match="deepest map at stride 8, but output_stride is 16"):
        deeplab_aspp(input_shape=(32, 32, 1), backbone=features, output_stride=16)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(backbone="mobilenet_v4"), "unknown backbone 'mobilenet_v4'; choose from dsdc, efficientnet_b0, mobilenet_v2"),
        (dict(backbone="mobilenet_v2", output_stride=64, input_shape=(64, 64, 1)),
         "cannot give output stride 64: its feature maps come at strides 2, 4, 8, 16, 32"),
        (dict(backbone="mobilenet_v2", feature_layers={8: "block_2_add"}), "at stride 8, but .* at stride 4"),
        (dict(backbone="mobilenet_v2", feature_layers={4: "no_such_layer"}), "does not have"),
        (dict(backbone="mobilenet_v2", backbone_weights="imagenet", input_shape=(64, 80, 2)), "1 \\(repeated\\) or 3"),
        (dict(backbone="mobilenet_v2", dilation_schedule=((1, 2),) * 4), "DSDC backbone"),
        (dict(backbone="dsdc", multi_grid=(1, 2, 4)), "keras.applications backbones"),
        (dict(backbone="dsdc", output_stride=32), "DSDC backbone cannot give output stride 32"),
    ],
)
def test_bad_backbone_arguments_get_one_sentence(kwargs, message):
    with pytest.raises(ValueError, match=message) as e:
        deeplab_aspp(**kwargs)
    assert str(e.value).count(". ") == 0  # one sentence


def test_custom_backbone_cannot_give_a_stride_past_its_own():
    with pytest.raises(ValueError, match="cannot give output stride 16: its feature maps come at strides 2, 4, 8"):
        deeplab_aspp(input_shape=(32, 32, 1), backbone=_tiny_backbone(), output_stride=16)
    with pytest.raises(ValueError, match="must be a name .*, a keras.Model or a function"):
        deeplab_aspp(backbone=3)


def test_backbone_names_are_the_registered_ones():
    from kerasdil.zoo.deeplab_aspp.model import BACKBONES

    assert BACKBONES == ("dsdc", *backbone_names())
    assert {"mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "resnet50_v2"} <= set(backbone_names())


@pytest.mark.slow
def test_tflite_export_of_a_mobilenet_v3_segmenter_has_native_dilated_convs(tmp_path):
    from kerasdil.export import export

    keras.utils.set_random_seed(0)
    model = deeplab_aspp(input_shape=TINY, num_classes=3, backbone="mobilenet_v3_small", output_stride=8)
    rng = np.random.default_rng(0)
    xs = rng.random((8, *TINY), dtype=np.float32)
    ys = rng.integers(0, 3, size=(8, 32, 32))
    report = export(model, tmp_path / "tflite", formats="tflite", quantize="float32", representative_data=xs,
                    test_data=(xs, ys), latency_repeats=0, batch_size=4)
    audit = report.artifact("tflite", "float32").audit
    assert audit["forbidden"] == [] and "SPACE_TO_BATCH_ND" not in audit["ops"]
    assert audit["dilated_native"] == audit["dilated_expected"] >= 6
    assert report.artifact("tflite", "float32").parity["passed"]
