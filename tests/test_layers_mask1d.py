"""Padded series (kerasdil.layers.mask1d): the validity channel is split off, padded steps are zeroed,
pooling counts only the series' own steps, and series_dsdc built with validity_channel=True gives a
series the same prediction at any padded length ('same' with a stride-1 stem, and 'causal')."""

import keras
import numpy as np
import pytest

from kerasdil.layers.mask1d import MaskedGlobalPooling1D, MaskSteps, SplitValidityChannel
from kerasdil.zoo import series_dsdc


def _valid(length, total):
    return (np.arange(total) < length).astype("float32")[None, :, None]


@pytest.mark.parametrize("mode, expected", [("average", [2.0, 20.0]), ("max", [3.0, 30.0])])
def test_masked_pooling_ignores_the_padded_steps(mode, expected):
    x = np.array([[[1.0, 10.0], [3.0, 30.0], [100.0, 500.0], [-50.0, 900.0]]], "float32")
    pooled = MaskedGlobalPooling1D(mode)([x, _valid(2, 4)])
    np.testing.assert_allclose(np.asarray(pooled), [expected])


def test_split_and_mask_steps_zero_the_padding_also_on_a_strided_grid():
    x = np.full((1, 6, 2), 7.0, "float32")
    x[..., 1] = _valid(3, 6)[..., 0]
    series, valid = SplitValidityChannel()(x)
    np.testing.assert_array_equal(np.asarray(series)[0, :, 0], [7, 7, 7, 0, 0, 0])
    strided = MaskSteps()([np.ones((1, 3, 4), "float32"), valid])  # steps 0, 2, 4 of the validity
    np.testing.assert_array_equal(np.asarray(strided)[0, :, 0], [1, 1, 0])


def test_bad_arguments_name_the_layer():
    with pytest.raises(ValueError, match="MaskedGlobalPooling1D: `mode` must be 'average' or 'max', got 'sum'"):
        MaskedGlobalPooling1D("sum")
    with pytest.raises(ValueError, match="validity_channel"):
        series_dsdc(input_shape=(20, 1), validity_channel=True)


def _random_statistics(model, seed=0):
    """BatchNormalization statistics far from their initial values, so a leak of padding would show."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        if weight.path.endswith(("moving_variance", "gamma")):
            weight.assign(rng.uniform(0.3, 1.5, size=weight.shape).astype("float32"))
        elif weight.path.endswith(("moving_mean", "beta")):
            weight.assign(rng.normal(size=weight.shape).astype("float32"))


def _padded_and_short(padding, length, total, validity=True):
    """Predictions of one series given at its own length and padded (with junk) to ``total`` steps."""
    kwargs = dict(num_classes=3, padding=padding, dilation_schedule=(1, 2, 4, 8), width=16,
                  validity_channel=validity, classifier_activation=None)
    keras.utils.set_random_seed(1)
    padded = series_dsdc(input_shape=(total, 2 if validity else 1), **kwargs)
    _random_statistics(padded)
    short = series_dsdc(input_shape=(length, 2 if validity else 1), **kwargs)
    short.set_weights(padded.get_weights())
    series = np.random.default_rng(2).normal(size=length).astype("float32")
    long_x = np.zeros((1, total, 2), "float32")
    long_x[0, :length, 0], long_x[0, length:, 0] = series, 3.0  # the padding holds junk: the mask zeroes it
    long_x[0, :, 1] = _valid(length, total)[0, :, 0]
    short_x = np.stack([series, np.ones(length, "float32")], axis=-1)[None]
    if not validity:
        long_x[0, length:, 0] = 0.0
        long_x, short_x = long_x[..., :1], short_x[..., :1]
    return np.asarray(padded(long_x)), np.asarray(short(short_x))


@pytest.mark.parametrize("padding, length, total", [("same", 40, 64), ("same", 37, 100), ("causal", 40, 64),
                                                    ("causal", 601, 800)])
def test_padding_length_does_not_change_the_prediction(padding, length, total):
    # 'same' convs: a step next to the padding reads zeros either way once the features of padded
    # steps are zeroed after every block; 'causal': no step reads a later one, strided stem included.
    padded, short = _padded_and_short(padding, length, total)
    assert np.abs(padded - short).max() < 1e-4


def test_without_the_mask_zero_padding_changes_the_prediction():
    # The control: the same model without the validity channel reads the zeros as signal.
    padded, short = _padded_and_short("same", 40, 64, validity=False)
    assert np.abs(padded - short).max() > 1e-3


def test_masked_series_model_saves_loads_and_converts_to_tflite(tmp_path):
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = series_dsdc(input_shape=(48, 2), num_classes=2, width=8, dilation_schedule=(1, 2, 4),
                        validity_channel=True)
    x = np.random.default_rng(0).normal(size=(3, 48, 2)).astype("float32")
    x[..., 1] = (np.arange(48) < np.array([[48], [30], [12]])).astype("float32")
    path = str(tmp_path / "masked.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    expected = np.asarray(model(x))
    np.testing.assert_allclose(np.asarray(loaded(x)), expected, atol=1e-6)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [tf.function(lambda t: model(t)).get_concrete_function(tf.TensorSpec((1, 48, 2), tf.float32))])
    interpreter = tf.lite.Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    got = []
    for row in x:
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], row[None])
        interpreter.invoke()
        got.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0])
    np.testing.assert_allclose(np.array(got), expected, atol=1e-5)
