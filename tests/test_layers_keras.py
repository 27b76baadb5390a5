"""kerasdil's layers as Keras layers: Keras's own layer test on every backend, and the
TensorFlow fast path equal to the plain Keras code it stands in for.

The layer tests run on the backend this process has (TensorFlow in the suite);
``test_keras_layer_test_passes_on_jax`` runs them again in a subprocess with
``KERAS_BACKEND=jax``.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras.src.testing import TestCase  # Keras's own test helper (run_layer_test)

from kerasdil.layers import (
    ASPP,
    DilatedConvBN,
    DilatedDepthwiseConv2D,
    DilationStack,
    FusedBatchNormalization,
    SeparableDilatedConv,
    SpaceToDepth,
    tensorflow_fast_path,
)

BACKEND = keras.backend.backend()


class _LayerTest(TestCase):
    """Keras's TestCase used as a helper: pytest functions call its run_layer_test."""

    __test__ = False  # not a test class of its own

    def runTest(self):  # lets the case be instantiated outside unittest's runner
        pass


# (id, class, init kwargs, input shape, output shape, trainable, non-trainable weights)
CASES = [
    ("conv_bn_dilated", DilatedConvBN, dict(filters=4, dilation_rate=2), (2, 9, 10, 3), (2, 9, 10, 4), 3, 2),
    ("conv_bn_strided_valid", DilatedConvBN, dict(filters=4, strides=2, padding="valid"), (2, 9, 10, 3),
     (2, 4, 4, 4), 3, 2),
    ("conv_no_bn", DilatedConvBN, dict(filters=4, use_batchnorm=False, activation=None), (2, 8, 8, 3),
     (2, 8, 8, 4), 2, 0),
    ("dsdc_residual", SeparableDilatedConv, dict(filters=4, dilation_rate=2), (2, 9, 10, 4), (2, 9, 10, 4), 4, 2),
    ("dsdc_valid_pair", SeparableDilatedConv, dict(filters=6, dilation_rate=(2, 3), padding="valid"),
     (2, 9, 10, 4), (2, 5, 4, 6), 4, 2),
    ("dsdc_keras_depthwise", SeparableDilatedConv, dict(filters=4, dilation_rate=3, implementation="keras"),
     (2, 8, 8, 3), (2, 8, 8, 4), 4, 2),
    ("dilation_stack", DilationStack, dict(dilation_schedule=(1, 2, 3), filters=4), (2, 9, 9, 3), (2, 9, 9, 4),
     12, 6),
    ("aspp", ASPP, dict(filters=4, rates=(2, 3)), (2, 8, 9, 3), (2, 8, 9, 4), 15, 10),
    ("aspp_separable", ASPP, dict(filters=4, rates=(2,), separable=True, image_pooling=False, dropout=0.0),
     (2, 8, 8, 3), (2, 8, 8, 4), 10, 6),
    ("space_to_depth", SpaceToDepth, dict(block_size=2), (2, 6, 8, 3), (2, 3, 4, 12), 0, 0),
    ("dilated_depthwise", DilatedDepthwiseConv2D, dict(kernel_size=3, dilation_rate=2, padding="same"),
     (2, 9, 9, 3), (2, 9, 9, 3), 2, 0),
    ("fused_batchnorm", FusedBatchNormalization, dict(momentum=0.9), (4, 5, 6, 6), (4, 5, 6, 6), 2, 2),
]

JAX_COVERED_ELSEWHERE = ("conv_bn_strided_valid", "conv_no_bn", "dsdc_valid_pair", "dsdc_keras_depthwise")


@pytest.mark.parametrize(
    "layer_cls, init_kwargs, input_shape, output_shape, trainable, non_trainable",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_keras_layer_test_passes_with_mixed_precision(layer_cls, init_kwargs, input_shape, output_shape,
                                                      trainable, non_trainable):
    # run_layer_test builds, calls eagerly and symbolically, checks compute_output_shape,
    # get_config / from_config, a short fit, and (run_mixed_precision_check) that under
    # "mixed_float16" the output is float16 and every weight float32.
    _LayerTest().run_layer_test(
        layer_cls,
        init_kwargs=init_kwargs,
        input_shape=input_shape,
        expected_output_shape=output_shape,
        expected_num_trainable_weights=trainable,
        expected_num_non_trainable_weights=non_trainable,
        run_mixed_precision_check=True,
    )


def _inner_layers(layer):
    found = []
    for value in vars(layer).values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, keras.layers.Layer):
                found += [item, *_inner_layers(item)]
    return found


@pytest.mark.parametrize(
    "make",
    [
        lambda dtype: DilatedConvBN(4, dilation_rate=2, dtype=dtype),
        lambda dtype: SeparableDilatedConv(4, dilation_rate=2, dtype=dtype),
        lambda dtype: DilationStack((1, 2), 4, dtype=dtype),
        lambda dtype: ASPP(4, (2,), separable=True, dtype=dtype),
    ],
    ids=["conv_bn", "dsdc", "stack", "aspp"],
)
def test_every_inner_layer_takes_the_parents_dtype_policy(make):
    layer = make("mixed_float16")
    y = layer(np.zeros((1, 8, 8, 4), "float32"), training=False)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    inner = _inner_layers(layer)
    assert inner and all(sub.dtype_policy.name == "mixed_float16" for sub in inner), [
        (sub.name, sub.dtype_policy.name) for sub in inner
    ]
    assert all(w.dtype == "float32" for w in layer.weights)


# -- the TensorFlow fast path against the plain Keras path --------------------------------

tensorflow_only = pytest.mark.skipif(BACKEND != "tensorflow", reason="the fast path exists on TensorFlow only")


def _grads_and_outputs(model, x, y):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        out = model(x, training=True)
        loss = tf.reduce_sum(tf.sin(out) * (out - y))
    grads = tape.gradient(loss, [x, *model.trainable_variables])
    stats = [v.numpy() for v in model.non_trainable_variables]
    return [out.numpy(), *(g.numpy() for g in grads), *stats, model(x, training=False).numpy()]


@tensorflow_only
@pytest.mark.parametrize(
    "build",
    [
        lambda inputs: DilationStack((1, 2, 3), (6, 6, 8))(inputs),  # 6 channels: MatMul moments in training
        lambda inputs: ASPP(8, (2, 3), separable=True, dropout=0.0)(inputs),
        lambda inputs: DilatedConvBN(8, dilation_rate=2)(SpaceToDepth(2)(inputs)),
    ],
    ids=["stack", "aspp", "space_to_depth_conv"],
)
def test_fast_path_equals_plain_keras_in_training_and_inference_with_gradients(build):
    import tensorflow as tf

    from kerasdil.layers import _tf_fast

    inputs = keras.Input((12, 12, 4))
    keras.utils.set_random_seed(0)
    fast = keras.Model(inputs, build(inputs))
    plain = keras.models.clone_model(fast)
    plain.set_weights(fast.get_weights())
    x = tf.constant(np.random.default_rng(0).normal(size=(4, 12, 12, 4)).astype("float32"))
    y = tf.constant(np.random.default_rng(1).normal(size=fast.output_shape[1:]).astype("float32"))
    with_fast = _grads_and_outputs(fast, x, y)
    with tensorflow_fast_path(enabled=False):
        assert not _tf_fast.OPTIONS.on("native_depthwise")
        without = _grads_and_outputs(plain, x, y)
    assert _tf_fast.OPTIONS.on("native_depthwise")  # the block restored the switches
    assert len(with_fast) == len(without)
    for a, b in zip(with_fast, without):
        # float32 sums in other orders (fused BN, MatMul moments): gradients through the batch
        # statistics of a 4-image batch differ by up to ~2e-4 (seen under oneDNN's threading).
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=5e-4)


@tensorflow_only
def test_fast_path_runs_tensorflow_kernels_and_switches_off_to_keras_ops():
    import tensorflow as tf

    block = SeparableDilatedConv(6, dilation_rate=2)

    def ops_of(training):
        fn = tf.function(lambda x: block(x, training=training)).get_concrete_function(tf.TensorSpec((2, 8, 8, 6)))
        return {n.op for n in fn.graph.as_graph_def().node}

    fast = ops_of(True)
    assert "DepthwiseConv2dNative" in fast and "MatMul" in fast and "SpaceToBatchND" not in fast
    assert any(op.startswith("FusedBatchNorm") for op in ops_of(False))
    with tensorflow_fast_path(enabled=False):
        plain = ops_of(True)
    assert "SpaceToBatchND" in plain and not any(op.startswith("FusedBatchNorm") for op in plain)
    # Mixed precision runs the plain code (the fast kernels are proven in float32 only).
    mixed = SeparableDilatedConv(6, dilation_rate=2, dtype="mixed_float16")
    fn = tf.function(lambda x: mixed(x, training=True)).get_concrete_function(tf.TensorSpec((2, 8, 8, 6)))
    assert "SpaceToBatchND" in {n.op for n in fn.graph.as_graph_def().node}


def test_fast_path_switches_nest_and_names_are_checked():
    with pytest.raises(ValueError, match=r"unknown switch\(es\) \['eager'\]"):
        with tensorflow_fast_path(eager=False):
            pass
    if BACKEND == "tensorflow":
        import dataclasses

        from kerasdil.layers import _FAST_PATH_SWITCHES, _tf_fast

        assert {f.name for f in dataclasses.fields(_tf_fast.Options)} == {"enabled", *_FAST_PATH_SWITCHES}
        with tensorflow_fast_path(enabled=False):
            with tensorflow_fast_path(pointwise_matmul=False):
                assert not _tf_fast.OPTIONS.enabled and not _tf_fast.OPTIONS.pointwise_matmul
            assert not _tf_fast.OPTIONS.enabled and _tf_fast.OPTIONS.pointwise_matmul
        assert _tf_fast.OPTIONS.enabled


# -- the same layer tests on JAX -----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(BACKEND == "jax", reason="this process already runs the JAX backend")
def test_keras_layer_test_passes_on_jax():
    try:
        import jax  # noqa: F401
    except ImportError:
        pytest.skip("jax is not installed (pip install 'jax[cpu]', part of the dev extra)")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # Every public layer, in every configuration that takes a different code path on
    # JAX; the variants left out differ only in arguments the TensorFlow run covers
    # (JAX compiles each case's fit, which is most of the time spent).
    leave_out = " and ".join(f"not {case}" for case in JAX_COVERED_ELSEWHERE)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", os.path.abspath(__file__), "-k", leave_out],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
