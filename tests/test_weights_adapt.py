"""Pretrained weights in models of another input size, channel count or class count."""

import warnings

import keras
import numpy as np
import pytest

from kerasdil.finetune import HEAD_LAYER_NAMES, transfer_backbone
from kerasdil.zoo import create_model, mnist_dsdc
from kerasdil.zoo.weights_io import PartialWeightsWarning


def features(model, x):
    """The pooled features before the head."""
    return np.asarray(keras.Model(model.inputs, model.get_layer("gap").output)(x))


def test_rgb_model_from_grayscale_weights_sees_a_gray_image_as_the_gray_model_does():
    x = np.random.default_rng(0).random((2, 40, 36, 1)).astype("float32")
    with pytest.warns(PartialWeightsWarning) as caught:
        rgb = create_model("mnist_dsdc:mnist", input_shape=(40, 36, 3), num_classes=5)
    message = str(caught[0].message)
    source = create_model("mnist_dsdc:mnist")
    features_in = source.get_layer("classifier").kernel.shape[0]
    kh, kw, _, width = source.get_layer("stem").conv.kernel.shape
    assert "the head starts from fresh values for num_classes=5" in message
    assert f"classifier/kernel ({features_in}, 10) in the file, ({features_in}, 5) in the model" in message
    assert f"stem/conv/kernel ({kh}, {kw}, 1, {width}) -> ({kh}, {kw}, 3, {width})" in message
    assert "divided by 3" in message
    with pytest.warns(PartialWeightsWarning):
        gray = create_model("mnist_dsdc:mnist", input_shape=(40, 36, 1), num_classes=5)
    np.testing.assert_allclose(features(rgb, np.repeat(x, 3, -1)), features(gray, x), atol=1e-5)
    # The same size and classes as the file: every variable loads, nothing to say.
    with warnings.catch_warnings():
        warnings.simplefilter("error", PartialWeightsWarning)
        create_model("mnist_dsdc:mnist", input_shape=(64, 64, 1))


def test_weights_that_cannot_fit_name_the_variable_and_both_shapes():
    width = create_model("mnist_dsdc:mnist").get_layer("stem").conv.kernel.shape[-1]
    with pytest.raises(ValueError, match=rf"stem/\S+ has shape \({width},\) in the file but \(5,\) in the model"):
        create_model("mnist_dsdc:mnist", width=5)
    with pytest.raises(ValueError, match=r"refine_conv/depthwise/kernel has shape \(3, 3, 51, 1\) in the file but "
                                         r"\(3, 3, 53, 1\) in the model"):
        create_model("deeplab_aspp:scenes", input_shape=(64, 80, 3))


def test_transfer_adapts_the_stem_and_leaves_a_head_of_other_classes_fresh():
    source = create_model("mnist_dsdc:mnist_w18")
    keras.utils.set_random_seed(0)
    target = mnist_dsdc(input_shape=(32, 32, 3), num_classes=4, width=18, stem="pool", stage_filters=None,
                        dilation_schedule=((1, 2, 5), (1, 2, 3)))
    head_before = target.get_layer("classifier").kernel.numpy().copy()
    report = transfer_backbone(source, target, adapt_input_channels=True, head_layers=HEAD_LAYER_NAMES)
    assert report.layers == ["stem", "stage1", "stage2"] and report.new_head == ["classifier"]
    assert report.adapted == ["stem/conv/kernel"]
    np.testing.assert_allclose(target.get_layer("stem").conv.kernel.numpy(),
                               np.repeat(source.get_layer("stem").conv.kernel.numpy(), 3, axis=2) / 3)
    np.testing.assert_array_equal(target.get_layer("classifier").kernel.numpy(), head_before)
    assert "new head for the target's classes" in report.summary()
    with pytest.raises(ValueError, match="input channel"):  # without adaptation: refused, as before
        transfer_backbone(source, mnist_dsdc(input_shape=(32, 32, 3), num_classes=4))
