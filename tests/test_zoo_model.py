"""ZooModel: eager inference of a whole zoo model as one cached graph function."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdil.layers import _tf_fast, tensorflow_fast_path
from kerasdil.finetune import replace_head
from kerasdil.layers import fold_batchnorm
from kerasdil.zoo import ZooModel, deeplab_aspp, keras_io_convnet, mnist_dsdc, unet_baseline


def _small():
    keras.utils.set_random_seed(3)
    return mnist_dsdc(width=8, dilation_schedule=((1, 2), (1, 3)))


def _op_by_op(model, x):
    with tensorflow_fast_path(eager_compile=False):
        return keras.ops.convert_to_numpy(model(x, training=False))


def test_zoo_builders_return_zoo_models_and_peers_stay_plain():
    assert isinstance(_small(), ZooModel)
    assert isinstance(deeplab_aspp(input_shape=(32, 32, 1), width=4), ZooModel)
    assert type(keras_io_convnet()) is not ZooModel and not isinstance(keras_io_convnet(), ZooModel)
    assert not isinstance(unet_baseline(input_shape=(32, 32, 1), filters=(8,)), ZooModel)


def test_eager_graph_function_matches_op_by_op_and_predict():
    model = _small()
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    fast = keras.ops.convert_to_numpy(model(x))
    assert _tf_fast.has_eager_function(model)  # the whole model ran as one function
    np.testing.assert_allclose(fast, _op_by_op(model, x), atol=1e-6)
    np.testing.assert_allclose(fast, model.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x[:1])), fast[:1], atol=1e-6)  # another batch size


def test_weight_changes_show_up_in_the_graph_function():
    model = _small()
    x = np.random.default_rng(1).random((4, 28, 28, 1), dtype=np.float32)
    before = keras.ops.convert_to_numpy(model(x))
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    model.fit(x, np.arange(4), epochs=2, verbose=0)  # moves weights and BN statistics
    after = keras.ops.convert_to_numpy(model(x))
    assert np.abs(after - before).max() > 1e-4
    np.testing.assert_allclose(after, _op_by_op(model, x), atol=1e-6)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), 0.1, atol=1e-6)


def test_training_calls_and_stateless_calls_take_the_keras_path():
    model = _small()
    x = np.random.default_rng(2).random((8, 28, 28, 1), dtype=np.float32)
    bn = model.get_layer("stem").bn
    mean = keras.ops.convert_to_numpy(bn.moving_mean).copy()
    model(x, training=True)  # BN uses batch statistics and updates its moving mean
    assert np.abs(keras.ops.convert_to_numpy(bn.moving_mean) - mean).max() > 0
    trainable = [keras.ops.zeros_like(v) for v in model.trainable_variables]
    outputs, _ = model.stateless_call(trainable, [v.value for v in model.non_trainable_variables], x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(outputs), 0.1, atol=1e-6)


def test_graph_function_steps_aside_inside_tf_function():
    model = _small()
    x = np.random.default_rng(4).random((2, 28, 28, 1), dtype=np.float32)
    traced = tf.function(lambda t: model(t, training=False))
    np.testing.assert_allclose(traced(x).numpy(), _op_by_op(model, x), atol=1e-6)


def test_zoo_model_class_survives_save_load_clone_fold_and_head_swap(tmp_path):
    model = _small()
    x = np.random.default_rng(5).random((3, 28, 28, 1), dtype=np.float32)
    expected = keras.ops.convert_to_numpy(model(x))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded, ZooModel)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), expected, atol=1e-6)
    assert isinstance(keras.models.clone_model(model), ZooModel)
    folded = fold_batchnorm(model)
    assert isinstance(folded, ZooModel)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(folded(x)), expected, atol=1e-5)
    swapped = replace_head(model, 4)
    assert isinstance(swapped, ZooModel) and swapped(x).shape == (3, 4)


def test_switch_off_runs_op_by_op():
    model = _small()
    x = np.random.default_rng(6).random((2, 28, 28, 1), dtype=np.float32)
    with tensorflow_fast_path(eager_compile=False):
        model(x)
        assert not _tf_fast.has_eager_function(model)
    with pytest.raises(ValueError):
        model(np.zeros((2, 27, 27, 1), np.float32))  # a wrong shape is still Keras's clear error


def test_saved_zoo_model_loads_after_importing_only_kerasdil_layers(tmp_path):
    import os
    import subprocess
    import sys

    model = _small()
    x = np.random.default_rng(7).random((2, 28, 28, 1), dtype=np.float32)
    path = str(tmp_path / "zoo.keras")
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", keras.ops.convert_to_numpy(model(x)))
    code = ("import sys, numpy as np, keras, kerasdil.layers; "
            "m = keras.models.load_model(sys.argv[1], safe_mode=True); "
            "x, y = np.load(sys.argv[2]), np.load(sys.argv[3]); "
            "print(type(m).__name__, float(np.abs(keras.ops.convert_to_numpy(m(x)) - y).max()), "
            "'kerasdil.zoo' in sys.modules)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-c", code, path, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                       capture_output=True, text=True, timeout=300, cwd=root,
                       env={**os.environ, "PYTHONPATH": root, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert r.returncode == 0, r.stderr[-2000:]
    name, diff, zoo_imported = r.stdout.split()
    assert name == "ZooModel" and float(diff) < 1e-5 and zoo_imported == "False"


def test_importing_kerasdil_stays_light():
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-c", "import sys, kerasdil; print('tensorflow' in sys.modules)"],
                       capture_output=True, text=True, timeout=120, cwd=root, env={**os.environ, "PYTHONPATH": root})
    assert r.stdout.strip() == "False", r.stderr
