import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdil.layers import ASPP, DilatedConvBN, DilatedDepthwiseConv2D, DilationStack, SeparableDilatedConv


def _x(shape=(2, 14, 18, 8), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


LAYERS = [
    lambda: DilatedConvBN(4, dilation_rate=2),
    lambda: DilatedConvBN(4, strides=2, padding="valid"),
    lambda: SeparableDilatedConv(8, dilation_rate=3),
    lambda: SeparableDilatedConv(6, dilation_rate=(2, 3), padding="valid"),
    lambda: SeparableDilatedConv(6, strides=2),
    lambda: DilationStack((1, 2, 5), 8),
    lambda: DilationStack((1, 2), (6, 10)),
    lambda: ASPP(16, (2, 4)),
    lambda: ASPP(8, (2, 3), separable=True, image_pooling=False),
]


@pytest.mark.parametrize("make", LAYERS)
def test_compute_output_shape_matches_call(make):
    layer = make()
    x = _x()
    assert tuple(layer(x).shape) == tuple(layer.compute_output_shape(x.shape))


@pytest.mark.parametrize("make", LAYERS)
def test_get_config_round_trip_gives_same_outputs(make):
    layer = make()
    x = _x()
    y = layer(x, training=False)
    clone = type(layer).from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x, training=False), y, atol=1e-6)


@pytest.mark.parametrize("make", LAYERS)
def test_keras_file_round_trip_with_safe_mode(make, tmp_path):
    inputs = keras.Input((14, 18, 8))
    model = keras.Model(inputs, make()(inputs))
    x = _x()
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: DilatedConvBN(8, dilation_rate=0), "DilatedConvBN: `dilation_rate` must be >= 1, got 0"),
        (lambda: DilatedConvBN(8, kernel_size=4), "DilatedConvBN: `kernel_size` must be odd"),
        (lambda: DilatedConvBN(0), "DilatedConvBN: `filters` must be a positive int, got 0"),
        (lambda: SeparableDilatedConv(8, strides=2, dilation_rate=2), "SeparableDilatedConv: `strides` > 1 together with"),
        (lambda: SeparableDilatedConv(8, dilation_rate=1.5), "SeparableDilatedConv: `dilation_rate` must be an int or a pair"),
        (lambda: SeparableDilatedConv(8, padding="full"), "SeparableDilatedConv: `padding` must be 'same' or 'valid'"),
        (lambda: DilationStack((), 8), "DilationStack: `dilation_schedule` must not be empty"),
        (lambda: DilationStack((1, 0, 5), 8), r"DilationStack: every rate in `dilation_schedule` .* got 0"),
        (lambda: DilationStack("125", 8), "DilationStack: `dilation_schedule` must be a sequence"),
        (lambda: DilationStack((1, 2), (8,)), "DilationStack: `filters` has 1 entries"),
        (lambda: ASPP(8, rates=()), "ASPP: `rates` must be a non-empty sequence"),
        (lambda: ASPP(8, rates=(6, -1)), "ASPP: `rates` must be >= 1"),
        (lambda: ASPP(8, dropout=1.5), r"ASPP: `dropout` must be in \[0, 1\)"),
    ],
)
def test_bad_arguments_raise_value_error_naming_layer_and_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("dilation", [2, 3, (2, 5)])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_native_dilated_depthwise_equals_keras_path_with_gradients(dilation, padding):
    fast = DilatedDepthwiseConv2D(3, dilation_rate=dilation, padding=padding)
    plain = DilatedDepthwiseConv2D(3, dilation_rate=dilation, padding=padding, implementation="keras")
    x = tf.constant(_x((2, 16, 17, 5)))
    fast.build(x.shape)
    plain.build(x.shape)
    plain.set_weights(fast.get_weights())
    results = []
    for layer in (fast, plain):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(tf.sin(y) * y)
        results.append([y, *tape.gradient(loss, [x, layer.kernel.value])])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=2e-5)


def test_native_path_avoids_space_to_batch_in_graph():
    from kerasdil.layers._tf_fast import native_dilation_supported

    layer = SeparableDilatedConv(8, dilation_rate=2)
    fn = tf.function(lambda x: layer(x, training=False)).get_concrete_function(tf.TensorSpec((1, 14, 14, 8)))
    ops = {n.op for n in fn.graph.as_graph_def().node}
    if native_dilation_supported():
        assert "SpaceToBatchND" not in ops and "DepthwiseConv2dNative" in ops
    else:  # this TensorFlow's kernel takes no dilations: Keras's SpaceToBatch path
        assert "SpaceToBatchND" in ops


def test_without_onednn_dilated_layers_fall_back_to_the_keras_path(tmp_path):
    # TensorFlow's own DepthwiseConv2dNative kernel raises on dilations; oneDNN's (the
    # default on x86) takes them. The probe must see that, and the layers still work.
    import os
    import subprocess
    import sys

    script = tmp_path / "no_onednn.py"
    script.write_text("""
import numpy as np, pytest
from kerasdil.layers import DilatedDepthwiseConv2D, SeparableDilatedConv
from kerasdil.layers._tf_fast import native_dilation_supported
from kerasdil.zoo import mnist_dsdc
assert native_dilation_supported() is False
x = np.random.default_rng(0).normal(size=(2, 14, 14, 8)).astype("float32")
auto = DilatedDepthwiseConv2D(3, dilation_rate=2)
keras_path = DilatedDepthwiseConv2D(3, dilation_rate=2, implementation="keras")
keras_path(x); auto(x); keras_path.set_weights(auto.get_weights())
np.testing.assert_allclose(auto(x), keras_path(x), atol=1e-5)
with pytest.raises(ValueError, match="TF_ENABLE_ONEDNN_OPTS=0"):
    DilatedDepthwiseConv2D(3, dilation_rate=2, implementation="native")(x)
model = mnist_dsdc()
model.compile("adam", "sparse_categorical_crossentropy")
images = np.random.default_rng(1).random((8, 28, 28, 1)).astype("float32")
model.fit(images, np.arange(8) % 10, epochs=1, verbose=0)
assert model(images[:1]).shape == (1, 10)
print("fallback ok")
""")
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "fallback ok" in done.stdout, done.stderr[-3000:]


def test_native_implementation_refuses_when_fast_path_impossible():
    layer = DilatedDepthwiseConv2D(3, dilation_rate=1, implementation="native")
    with pytest.raises(ValueError, match="implementation='native' needs"):
        layer(_x((1, 8, 8, 2)))


def test_residual_added_only_when_shapes_allow():
    same = SeparableDilatedConv(8, dilation_rate=2)
    same(_x())
    assert same._add_residual
    wider = SeparableDilatedConv(16, dilation_rate=2)
    wider(_x())
    assert not wider._add_residual
    off = SeparableDilatedConv(8, residual=False)
    off(_x())
    assert not off._add_residual


def test_aspp_image_pooling_works_for_any_input_size():
    inputs = keras.Input((None, None, 4))
    model = keras.Model(inputs, ASPP(8, (1, 2))(inputs))
    for shape in [(1, 9, 13, 4), (2, 20, 7, 4)]:
        assert model(_x(shape)).shape == (*shape[:3], 8)


def test_layers_report_receptive_field_specs():
    from kerasdil.receptive import receptive_field

    stack = DilationStack((1, 2, 5), 4)
    assert receptive_field(stack.receptive_field_layers()).size == (17, 17)


def _randomize_bn(model, seed=1):
    rng = np.random.default_rng(seed)
    for v in model.weights:
        if any(k in v.path for k in ("moving", "gamma", "beta")):
            v.assign(rng.uniform(0.5, 1.5, v.shape).astype("float32"))


@pytest.mark.parametrize("name", ["mnist_dsdc", "mnist_conv"])
def test_fold_batchnorm_keeps_outputs_and_drops_bn(name):
    from kerasdil.layers import fold_batchnorm
    from kerasdil.zoo import create_model

    model = create_model(name, width=4)
    _randomize_bn(model)
    folded = fold_batchnorm(model)
    x = _x((3, 28, 28, 1))
    np.testing.assert_allclose(folded(x, training=False), model(x, training=False), atol=1e-5)
    assert not any("moving_mean" in v.path for v in folded.weights)
    assert any("moving_mean" in v.path for v in model.weights)  # the original is unchanged


def test_fold_batchnorm_handles_aspp_and_saves_as_keras_file(tmp_path):
    from kerasdil.layers import fold_batchnorm

    inputs = keras.Input((16, 16, 4))
    model = keras.Model(inputs, ASPP(8, (2, 3), separable=True)(inputs))
    _randomize_bn(model)
    folded = fold_batchnorm(model)
    x = _x((2, 16, 16, 4))
    np.testing.assert_allclose(folded(x), model(x, training=False), atol=1e-5)
    folded.save(tmp_path / "f.keras")
    loaded = keras.models.load_model(tmp_path / "f.keras", safe_mode=True)
    np.testing.assert_allclose(loaded(x), model(x, training=False), atol=1e-5)


@pytest.mark.parametrize("channels", [6, 8])  # 6: the MatMul-moments path; 8: the fused kernel
def test_fused_batchnorm_matches_keras_batchnorm_in_training_and_inference(channels):
    from kerasdil.layers import FusedBatchNormalization

    x = tf.constant(_x((16, 7, 9, channels)) * 3 + 1)
    fused = FusedBatchNormalization(momentum=0.9)
    plain = keras.layers.BatchNormalization(momentum=0.9)
    fused.build(x.shape)
    plain.build(x.shape)
    plain.set_weights(fused.get_weights())
    results = []
    for layer in (fused, plain):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.sin(y) * y)
        grads = tape.gradient(loss, [x, layer.gamma.value, layer.beta.value])
        results.append([y, *grads, layer.moving_mean.value, layer.moving_variance.value, layer(x, training=False)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_fused_batchnorm_uses_fused_op_where_it_is_fast():
    from kerasdil.layers import FusedBatchNormalization

    def ops_of(channels, training):
        layer = FusedBatchNormalization()
        fn = tf.function(lambda x: layer(x, training=training)).get_concrete_function(
            tf.TensorSpec((2, 4, 4, channels)))
        return {n.op for n in fn.graph.as_graph_def().node}

    assert any(op.startswith("FusedBatchNorm") for op in ops_of(16, True))
    assert any(op.startswith("FusedBatchNorm") for op in ops_of(18, False))  # inference: always fused
    training_18 = ops_of(18, True)  # off oneDNN's vector path: sums as MatMuls
    assert "MatMul" in training_18 and not any(op.startswith("FusedBatchNorm") for op in training_18)


@pytest.mark.parametrize(
    "make",
    [
        lambda: DilatedConvBN(16, dilation_rate=2),
        lambda: SeparableDilatedConv(8, dilation_rate=3),
        lambda: DilationStack((1, 2, 5), 8),
        lambda: ASPP(filters=8, rates=(1, 2), dropout=0.5),
    ],
)
def test_eager_inference_runs_compiled_and_equals_op_by_op(make):
    from kerasdil.layers import _tf_fast, tensorflow_fast_path

    layer = make()
    x = np.random.RandomState(0).rand(2, 12, 12, 8).astype("float32")
    layer(x, training=True)  # build; BN statistics move off their initial values
    compiled = layer(x, training=False).numpy()
    assert _tf_fast.has_eager_function(layer)  # the graph function was used
    with tensorflow_fast_path(eager_compile=False):
        plain = layer(x, training=False).numpy()
        np.testing.assert_allclose(compiled, plain, atol=1e-5)
        # Weights are read at call time: a change shows up in the compiled function.
        for v in layer.trainable_variables:
            v.assign(v * 0.5)
        after_plain = layer(x, training=False).numpy()
    np.testing.assert_allclose(layer(x, training=False).numpy(), after_plain, atol=1e-5)
    assert not np.allclose(after_plain, plain)
    # stateless_call's values are used, not the variables a traced function would read.
    zeros = [keras.ops.zeros_like(v) for v in layer.trainable_variables]
    out, _ = layer.stateless_call(zeros, [v.value for v in layer.non_trainable_variables], x, training=False)
    assert not np.allclose(out.numpy(), after_plain)
    np.testing.assert_allclose(layer(x, training=False).numpy(), after_plain, atol=1e-5)  # nothing baked in
    # Other batch sizes and a symbolic call still work.
    assert layer(x[:1], training=False).shape[0] == 1
    assert keras.Model(inp := keras.Input((12, 12, 8)), layer(inp)).output_shape[-1] == layer.compute_output_shape((None, 12, 12, 8))[-1]


def test_pointwise_matmul_training_path_equals_conv2d_with_gradients():
    from kerasdil.layers import tensorflow_fast_path

    block = SeparableDilatedConv(16, dilation_rate=2)
    x = tf.constant(np.random.RandomState(1).rand(4, 10, 10, 16).astype("float32"))
    block(x)

    def run():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = block(x, training=True)
            loss = tf.reduce_sum(y * y)
        return [y, *tape.gradient(loss, [x, *block.trainable_variables])]

    matmul = run()
    with tensorflow_fast_path(pointwise_matmul=False):
        conv2d = run()
    for a, b in zip(matmul, conv2d):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


def test_space_to_depth_is_a_lossless_permutation_with_clear_errors(tmp_path):
    from kerasdil.layers import SpaceToDepth

    x = np.arange(2 * 4 * 6 * 3, dtype="float32").reshape(2, 4, 6, 3)
    layer = SpaceToDepth(2)
    y = layer(x).numpy()
    assert y.shape == (2, 2, 3, 12) == layer.compute_output_shape(x.shape)
    np.testing.assert_array_equal(y, tf.nn.space_to_depth(x, 2).numpy())
    np.testing.assert_array_equal(np.sort(y.ravel()), np.sort(x.ravel()))  # nothing lost or repeated
    # The backend-neutral path (reshape + transpose, taken on other backends) gives the same layout.
    from kerasdil.layers import tensorflow_fast_path

    with tensorflow_fast_path(enabled=False):
        plain = tf.function(layer.call).get_concrete_function(tf.TensorSpec(x.shape))
        np.testing.assert_array_equal(plain(tf.constant(x)).numpy(), y)
    assert "SpaceToDepth" not in {n.op for n in plain.graph.as_graph_def().node}
    clone = SpaceToDepth.from_config(layer.get_config())
    assert clone.block_size == 2
    with pytest.raises(ValueError, match="not divisible by block_size 2"):
        layer(np.zeros((1, 5, 6, 1), "float32"))
    with pytest.raises(ValueError, match="block_size"):
        SpaceToDepth(1)
