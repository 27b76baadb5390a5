"""The 1D blocks (DilatedConv1DBN, SeparableDilatedConv1D, DilationStack1D): Keras's layer
test with mixed precision, argument checks, causality, saving, receptive field, and the
same layer tests on JAX (in a subprocess)."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras.src.testing import TestCase  # Keras's own test helper (run_layer_test)

from kerasdil.layers import DilatedConv1DBN, DilationStack1D, SeparableDilatedConv1D
from kerasdil.receptive import analyze_sequence_schedule, receptive_field_of_model

BACKEND = keras.backend.backend()


class _LayerTest(TestCase):
    __test__ = False

    def runTest(self):
        pass


# (id, class, init kwargs, input shape, output shape, trainable, non-trainable weights)
CASES = [
    ("conv1d_dilated", DilatedConv1DBN, dict(filters=4, dilation_rate=2), (2, 12, 3), (2, 12, 4), 3, 2),
    ("conv1d_causal", DilatedConv1DBN, dict(filters=4, dilation_rate=3, padding="causal", kernel_size=2),
     (2, 12, 3), (2, 12, 4), 3, 2),
    ("conv1d_strided_valid", DilatedConv1DBN, dict(filters=4, strides=2, padding="valid"), (2, 12, 3),
     (2, 5, 4), 3, 2),
    ("dsdc1d_residual", SeparableDilatedConv1D, dict(filters=4, dilation_rate=4), (2, 12, 4), (2, 12, 4), 4, 2),
    ("dsdc1d_valid", SeparableDilatedConv1D, dict(filters=5, dilation_rate=2, padding="valid"), (2, 12, 4),
     (2, 8, 5), 4, 2),
    ("stack1d_causal", DilationStack1D, dict(dilation_schedule=(1, 2, 4), filters=4, padding="causal"),
     (2, 16, 3), (2, 16, 4), 12, 6),
]


@pytest.mark.parametrize("layer_cls, init_kwargs, input_shape, output_shape, trainable, non_trainable",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_keras_layer_test_passes_with_mixed_precision_1d(layer_cls, init_kwargs, input_shape, output_shape,
                                                         trainable, non_trainable):
    _LayerTest().run_layer_test(
        layer_cls, init_kwargs=init_kwargs, input_shape=input_shape, expected_output_shape=output_shape,
        expected_num_trainable_weights=trainable, expected_num_non_trainable_weights=non_trainable,
        run_mixed_precision_check=True,
    )


@pytest.mark.parametrize("make, message", [
    (lambda: DilatedConv1DBN(4, dilation_rate=0), "DilatedConv1DBN: `dilation_rate` must be a positive int"),
    (lambda: DilatedConv1DBN(4, kernel_size=4), "use an odd kernel, or padding='causal'"),
    (lambda: SeparableDilatedConv1D(4, padding="full"), "SeparableDilatedConv1D: `padding` must be 'same', 'valid' or 'causal'"),
    (lambda: SeparableDilatedConv1D(4, strides=2, dilation_rate=2), "use one or the other"),
    (lambda: DilationStack1D((1, 2), filters=(4, 4, 4)), "DilationStack1D: `filters` has 3 entries"),
    (lambda: DilationStack1D((1, 2), 4, padding="valid"), "DilationStack1D: `padding` must be 'same' or 'causal'"),
    (lambda: DilationStack1D(((1, 2),), 4), "one int per block"),
    (lambda: DilationStack1D((), 4), "must not be empty"),
])
def test_bad_arguments_name_the_layer_the_argument_and_the_fix(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_image_input_and_too_long_valid_kernel_are_refused_in_one_sentence():
    with pytest.raises(ValueError, match=r"takes sequences \(batch, steps, channels\)"):
        DilatedConv1DBN(4)(np.zeros((1, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="use a dilation_rate of at most 3"):
        SeparableDilatedConv1D(4, dilation_rate=8, padding="valid")(np.zeros((1, 7, 2), "float32"))


def test_causal_stack_output_at_step_t_ignores_later_steps():
    stack = DilationStack1D((1, 2, 4), filters=3, padding="causal")
    x = np.random.default_rng(0).normal(size=(1, 20, 2)).astype("float32")
    changed = x.copy()
    changed[:, 12:] += 5.0
    a = keras.ops.convert_to_numpy(stack(x, training=False))
    b = keras.ops.convert_to_numpy(stack(changed, training=False))
    np.testing.assert_allclose(a[:, :12], b[:, :12], atol=1e-5)
    assert not np.allclose(a[:, 12:], b[:, 12:])


def test_same_padding_stack_output_depends_on_later_steps():
    stack = DilationStack1D((1, 2), filters=3)
    x = np.zeros((1, 10, 2), "float32")
    changed = x.copy()
    changed[:, 6] = 1.0
    a = keras.ops.convert_to_numpy(stack(x, training=False))
    b = keras.ops.convert_to_numpy(stack(changed, training=False))
    assert not np.allclose(a[:, 5], b[:, 5])


def test_every_inner_layer_takes_the_parents_dtype_policy_1d():
    stack = DilationStack1D((1, 2), 4, dtype="mixed_float16")
    y = stack(np.zeros((1, 16, 4), "float32"), training=False)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    for block in stack.blocks:
        assert block.conv.dtype_policy.name == "mixed_float16"
        assert block.bn.dtype_policy.name == "mixed_float16"


def test_model_of_1d_blocks_saves_and_loads_with_safe_mode(tmp_path):
    inputs = keras.Input((32, 2))
    x = DilatedConv1DBN(8)(inputs)
    x = DilationStack1D((2, 4), 8, padding="causal")(x)
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inputs, outputs)
    data = np.random.default_rng(1).normal(size=(4, 32, 2)).astype("float32")
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(model.predict(data, verbose=0), loaded.predict(data, verbose=0), atol=1e-5)


def test_receptive_field_of_a_1d_model_matches_the_schedule_analysis():
    inputs = keras.Input((150, 1))
    x = DilationStack1D((1, 2, 4, 8, 16, 32, 64), 4)(inputs)
    model = keras.Model(inputs, x)
    rf = receptive_field_of_model(model)
    report = analyze_sequence_schedule((1, 2, 4, 8, 16, 32, 64), length=150)
    assert rf.size == (1, report.receptive_field) == (1, 255)
    assert report.covers and report.gridding_free


@pytest.mark.slow
@pytest.mark.skipif(BACKEND == "jax", reason="this process already runs the JAX backend")
def test_1d_layer_tests_pass_on_jax():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", os.path.abspath(__file__),
         "-k", "not model_of_1d"],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
