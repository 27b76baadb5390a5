"""`import kerasdil` registers kerasdil's Keras classes on first Keras use, without importing Keras itself."""

import os
import subprocess
import sys

import numpy as np
import pytest


def _python(code, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def test_import_kerasdil_imports_neither_keras_nor_tensorflow(tmp_path):
    r = _python("import sys, kerasdil; assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules", tmp_path)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def saved_zoo_model(tmp_path_factory):
    from kerasdil.zoo import create_model

    folder = tmp_path_factory.mktemp("saved")
    model = create_model("mnist_dsdc", width=8, stage_filters=(8, 16))
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", np.asarray(model(x, training=False)))
    model.save(folder / "model.keras")
    return folder


@pytest.mark.parametrize("order", ["import kerasdil, keras", "import keras, kerasdil"])
def test_plain_keras_load_model_reads_a_saved_zoo_model_after_import_kerasdil(saved_zoo_model, order):
    code = (f"{order}; import numpy as np; m = keras.models.load_model('model.keras', compile=False); "
            "y = np.asarray(m(np.load('x.npy'), training=False)); "
            "assert type(m).__name__ == 'ZooModel' and np.abs(y - np.load('y.npy')).max() < 1e-6")
    r = _python(code, saved_zoo_model)
    assert r.returncode == 0, r.stderr[-3000:]


def test_without_import_kerasdil_plain_keras_cannot_read_it(saved_zoo_model):
    r = _python("import keras; keras.models.load_model('model.keras', compile=False)", saved_zoo_model)
    assert r.returncode != 0
