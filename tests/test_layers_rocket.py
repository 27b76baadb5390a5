"""kerasdil.layers.rocket: MiniRocket's kernels, dilations, biases and PPV pooling as a Keras layer."""

import keras
import numpy as np
import pytest

from kerasdil.layers.rocket import MiniRocketFeatures, minirocket_dilations, minirocket_kernels


def _series(n=24, length=64, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 6 * np.pi, length)
    freq = rng.uniform(0.5, 2.0, size=(n, 1, channels))
    return (np.sin(freq * t[None, :, None]) + 0.1 * rng.normal(size=(n, length, channels))).astype(np.float32)


def _tflite_outputs(flatbuffer, x):
    """The .tflite model's outputs for ``x``, one series at a time (batch-1 model)."""
    from kerasdil.export import tflite

    it = tflite.interpreter(flatbuffer, num_threads=1)
    it.allocate_tensors()
    outputs = []
    for i in range(len(x)):
        it.set_tensor(it.get_input_details()[0]["index"], x[i: i + 1])
        it.invoke()
        outputs.append(it.get_tensor(it.get_output_details()[0]["index"])[0])
    return np.array(outputs)


def test_kernels_are_the_84_zero_sum_kernels_with_three_twos():
    k = minirocket_kernels()
    assert k.shape == (9, 84)
    assert np.all(k.sum(axis=0) == 0) and np.all((k == 2).sum(axis=0) == 3)
    assert len({tuple(c) for c in k.T}) == 84


def test_dilations_span_the_series_and_share_out_the_features():
    dilations, counts = minirocket_dilations(150)
    assert dilations[0] == 1 and 1 + 8 * dilations[-1] <= 150 < 1 + 8 * (dilations[-1] + 2)
    assert 84 * sum(counts) == 9996
    assert minirocket_dilations(24)[0] == [1, 2]


def _numpy_features(x, layer):
    """The layer's features of univariate ``x`` computed with numpy from its own kernels and biases."""
    series = {"series": x[:, :, 0], "difference": np.diff(x[:, :, 0], axis=1)}
    out = []
    for name, dilation, padding, _, kernel, bias in layer.groups:
        w, values = np.asarray(kernel)[:, 0, :], series[name]  # (9, kernels), (n, length)
        pad, length = 4 * dilation, values.shape[1]
        xp = np.pad(values, ((0, 0), (pad, pad)))
        taps = np.stack([xp[:, j * dilation: j * dilation + length] for j in range(9)], -1)  # (n, L, 9)
        response = taps @ w  # "same": (n, L, kernels)
        if padding == "valid":
            response = response[:, pad: length - pad]
        above = response[..., None] - np.asarray(bias)  # (n, steps, kernels, biases)
        positive = above > 0
        count = positive.sum(axis=1)
        position = np.arange(above.shape[1])[None, :, None, None] / (above.shape[1] - 1)
        pooled = {"ppv": positive.mean(axis=1),
                  "mpv": np.where(count > 0, (above * positive).sum(axis=1) / np.maximum(count, 1), 0.0),
                  "mipv": np.where(count > 0, (position * positive).sum(axis=1) / np.maximum(count, 1), -1.0)}
        out += [pooled[p].reshape(len(x), -1) for p in layer.pooling]
    return np.concatenate(out, axis=-1)


def test_features_equal_a_numpy_reference_of_ppv():
    x = _series()
    layer = MiniRocketFeatures(num_features=840, seed=3)
    layer.adapt(x)
    got = np.asarray(layer(x))
    assert got.shape == (len(x), 840) and got.min() >= 0 and got.max() <= 1
    np.testing.assert_allclose(got, _numpy_features(x, layer), atol=1e-6)
    assert got.std(axis=0).mean() > 0.05  # the fitted biases make features vary across series


def test_biases_are_quantiles_of_training_responses():
    x = _series()
    layer = MiniRocketFeatures(num_features=840, seed=0)
    layer.adapt(x)
    ppv = np.asarray(layer(x))
    # A bias drawn from one series' response splits that response: PPVs are neither all 0 nor all 1.
    assert 0.1 < ppv.mean() < 0.9
    assert not np.allclose(np.asarray(layer.groups[0][5]), 0)


def test_seed_changes_the_draws_and_is_reproducible():
    x = _series(channels=3)
    a, b, c = (MiniRocketFeatures(num_features=168, seed=s) for s in (1, 1, 2))
    for layer in (a, b, c):
        layer.adapt(x)
    np.testing.assert_array_equal(np.asarray(a(x)), np.asarray(b(x)))
    assert not np.array_equal(np.asarray(a(x)), np.asarray(c(x)))


def test_multivariate_kernels_read_a_channel_subset():
    x = _series(channels=4)
    layer = MiniRocketFeatures(num_features=168, seed=0)
    layer.adapt(x)
    used = np.concatenate([np.asarray(kernel)[0] != 0 for _, _, _, _, kernel, _ in layer.groups], axis=-1)
    per_kernel = used.sum(axis=0)
    assert per_kernel.min() >= 1 and per_kernel.max() <= 4 and per_kernel.min() < 4


@pytest.mark.parametrize("options", [{}, dict(pooling=("mpv", "ppv"), difference=True),
                                     dict(pooling=("ppv", "mipv"), steepness=4000.0)])
def test_saved_model_file_reloads_with_the_same_features(tmp_path, options):
    x = _series(channels=2)
    inputs = keras.Input(x.shape[1:])
    layer = MiniRocketFeatures(num_features=168, seed=0, **options)
    model = keras.Model(inputs, layer(inputs))
    layer.adapt(x)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_features=10), "num_features"), (dict(num_features=0), "num_features"),
    (dict(max_dilations_per_kernel=0), "max_dilations_per_kernel"), (dict(seed="a"), "seed"),
    (dict(pooling="ppv"), "pooling"), (dict(pooling=("ppv", "lspv")), "pooling"), (dict(pooling=()), "pooling"),
    (dict(pooling=("mpv", "mpv")), "pooling"), (dict(difference=1), "difference"),
])
def test_bad_arguments_name_the_layer_and_argument(kwargs, match):
    with pytest.raises(ValueError, match=f"MiniRocketFeatures.*{match}"):
        MiniRocketFeatures(**kwargs)


def test_too_short_series_and_wrong_adapt_shape_are_clear_errors():
    with pytest.raises(ValueError, match="at least 9 time steps"):
        MiniRocketFeatures(num_features=84).build((None, 8, 1))
    with pytest.raises(ValueError, match="with `difference`.*at least 10"):
        MiniRocketFeatures(num_features=84, difference=True).build((None, 9, 1))
    layer = MiniRocketFeatures(num_features=84)
    layer.build((None, 32, 1))
    with pytest.raises(ValueError, match="built for series of shape"):
        layer.adapt(np.zeros((4, 40, 1), np.float32))


def test_tflite_keeps_dilated_convs_native_and_int8_runs():
    import tensorflow as tf

    from kerasdil.export import audit, tflite

    x = _series(n=16, length=48)
    inputs = keras.Input(x.shape[1:])
    layer = MiniRocketFeatures(num_features=168, seed=0)
    model = keras.Model(inputs, layer(inputs))
    layer.adapt(x)
    spec = tf.TensorSpec((1, *x.shape[1:]), tf.float32)
    fn = tf.function(lambda s: {"output": model(s)}, input_signature=[spec]).get_concrete_function()
    reference = np.asarray(model(x))
    for quantization, tolerance in (("float32", 1e-6), ("int8", 0.1)):
        flatbuffer = tflite.convert(fn, quantization, representative=x)
        ops = audit.tflite_operators(flatbuffer)
        names = {o["op"] for o in ops}
        assert not names & set(audit.TFLITE_FORBIDDEN) and not any(n.startswith("CUSTOM") for n in names)
        assert max(max(o["dilation"]) for o in ops if o["dilation"]) == max(layer.dilations) > 1
        outputs = _tflite_outputs(flatbuffer, x)
        # int8 PPV: mean absolute error of the proportions stays small.
        assert np.abs(np.array(outputs) - reference).mean() <= tolerance, quantization


def test_steep_ramp_pooling_matches_the_exact_step():
    x = _series()
    exact = MiniRocketFeatures(num_features=840, seed=0)
    ramp = MiniRocketFeatures(num_features=840, seed=0, steepness=1e5)
    exact.adapt(x)
    ramp.adapt(x)
    np.testing.assert_allclose(np.asarray(ramp(x)), np.asarray(exact(x)), atol=0.02)


def test_steep_ramp_is_a_clipped_ramp_relative_to_the_training_magnitude():
    x = 50.0 * _series(n=12)  # a scale far from 1: the ramp's slope follows the data
    exact = MiniRocketFeatures(num_features=168, seed=4, pooling=("ppv", "mpv"))
    ramp = MiniRocketFeatures(num_features=168, seed=4, steepness=10.0, pooling=("ppv", "mpv"))
    exact.adapt(x)
    ramp.adapt(x)
    slope = 10.0 / np.abs(x).max()
    np.testing.assert_allclose(float(ramp.gain), slope, rtol=1e-6)
    # The same biases (stored as 6 x slope x bias, one convolution channel per kernel and bias).
    np.testing.assert_allclose(np.asarray(ramp.groups[0][5]) / (6 * slope), np.asarray(exact.groups[0][5]),
                               rtol=1e-5, atol=1e-5)
    reference, got = [], np.asarray(ramp(x))
    series = np.asarray(x)[:, :, 0]
    for _, dilation, padding, _, kernel, bias in exact.groups:
        w, pad = np.asarray(kernel)[:, 0, :], 4 * dilation
        xp = np.pad(series, ((0, 0), (pad, pad)))
        response = np.stack([xp[:, j * dilation: j * dilation + series.shape[1]] for j in range(9)], -1) @ w
        if padding == "valid":
            response = response[:, pad: series.shape[1] - pad]
        above = response[..., None] - np.asarray(bias)
        ramp_values = np.clip(slope * above, 0, 1)
        count = ramp_values.sum(axis=1)
        reference += [ramp_values.mean(axis=1).reshape(len(x), -1),
                      (np.maximum(above, 0).sum(axis=1) / np.maximum(count, 1)).reshape(len(x), -1)]
    np.testing.assert_allclose(got, np.concatenate(reference, -1), rtol=1e-4, atol=1e-4)


def test_steep_ramp_keeps_int8_tflite_close_to_float32():
    import tensorflow as tf

    from kerasdil.export import audit, tflite

    # Two channels of very different scales: what one int8 scale per response tensor could not hold.
    x = _series(n=24, length=48, channels=2) * np.array([1.0, 30.0], np.float32) + np.array([0.0, 100.0], np.float32)
    errors = {}
    for steepness in (None, 4000.0):
        inputs = keras.Input(x.shape[1:])
        layer = MiniRocketFeatures(num_features=168, seed=0, steepness=steepness)
        model = keras.Model(inputs, layer(inputs))
        layer.adapt(x)
        spec = tf.TensorSpec((1, *x.shape[1:]), tf.float32)
        fn = tf.function(lambda s: {"output": model(s)}, input_signature=[spec]).get_concrete_function()
        flatbuffer = tflite.convert(fn, "int8", representative=x)
        names = {o["op"] for o in audit.tflite_operators(flatbuffer)}
        outputs = _tflite_outputs(flatbuffer, x)
        errors[steepness] = np.abs(np.array(outputs) - np.asarray(model(x))).mean()
        assert ("GREATER" in names) == (steepness is None)
    assert errors[4000.0] < 0.02 and errors[4000.0] < errors[None]


def test_steep_ramp_int8_kernels_sum_to_zero_so_flat_stretches_respond_with_zero():
    import tensorflow as tf

    from kerasdil.export import tflite

    # Plateaus at levels far from 0: a kernel that does not sum to 0 responds to them with a multiple of the level.
    rng = np.random.default_rng(1)
    x = np.repeat(rng.uniform(20.0, 40.0, size=(24, 8, 1)), 6, axis=1).astype(np.float32)
    inputs = keras.Input(x.shape[1:])
    layer = MiniRocketFeatures(num_features=168, seed=0, steepness=4000.0)
    model = keras.Model(inputs, layer(inputs))
    layer.adapt(x)
    spec = tf.TensorSpec((1, *x.shape[1:]), tf.float32)
    fn = tf.function(lambda s: {"output": model(s)}, input_signature=[spec]).get_concrete_function()
    flatbuffer = tflite.convert(fn, "int8", representative=x)
    it = tflite.interpreter(flatbuffer, num_threads=1)
    it.allocate_tensors()
    filters = [it.get_tensor(d["index"]) for d in it.get_tensor_details()
               if d["dtype"] == np.int8 and list(d["shape"][1:]) == [1, 9, 2]]
    assert filters, "no int8 convolution filters over the series and its zero channel"
    for f in filters:  # (out, 1, 9 taps, series + zero channel)
        np.testing.assert_array_equal(f[..., 0].astype(int).sum(axis=(1, 2)), 0)
        assert set(np.unique(f[..., 0])) <= {-63, 0, 126}
    # Left: responses at the jumps that the input's own int8 scale moves across a bias.
    error = np.abs(_tflite_outputs(flatbuffer, x) - np.asarray(model(x))).mean()
    assert error < 0.003, error


def test_mpv_mipv_and_difference_features_equal_a_numpy_reference():
    x = _series(n=12)
    layer = MiniRocketFeatures(num_features=168, seed=1, pooling=("ppv", "mpv", "mipv"), difference=True)
    layer.adapt(x)
    got = np.asarray(layer(x))
    assert got.shape == (len(x), layer.output_features) and layer.output_features == 168 * 3 * 2
    np.testing.assert_allclose(got, _numpy_features(x, layer), atol=1e-4)
    assert {g[0] for g in layer.groups} == {"series", "difference"}
    # The difference features have biases of their own, fitted on the (smoother, smaller) differenced series.
    scale = {name: np.mean([np.abs(np.asarray(g[5])).mean() for g in layer.groups if g[0] == name])
             for name in ("series", "difference")}
    assert 0 < scale["difference"] < 0.5 * scale["series"]


def test_pooling_options_round_trip_through_config():
    layer = MiniRocketFeatures(num_features=168, seed=2, pooling=("mpv", "ppv"), difference=True, steepness=None)
    config = layer.get_config()
    assert config["pooling"] == ["mpv", "ppv"] and config["difference"] is True
    clone = MiniRocketFeatures.from_config(config)
    assert clone.get_config() == config and clone.pooling == ("mpv", "ppv") and clone.difference


def test_pooling_and_difference_convert_to_float32_tflite_exactly():
    import tensorflow as tf

    from kerasdil.export import tflite

    x = _series(n=6, length=40)
    inputs = keras.Input(x.shape[1:])
    layer = MiniRocketFeatures(num_features=84, seed=0, pooling=("ppv", "mpv", "mipv"), difference=True)
    model = keras.Model(inputs, layer(inputs))
    layer.adapt(x)
    spec = tf.TensorSpec((1, *x.shape[1:]), tf.float32)
    fn = tf.function(lambda s: {"output": model(s)}, input_signature=[spec]).get_concrete_function()
    np.testing.assert_allclose(_tflite_outputs(tflite.convert(fn, "float32"), x), np.asarray(model(x)), atol=1e-5)
