import keras
import numpy as np
import pytest

from kerasdil.losses import SmoothedSparseCategoricalCrossentropy


def _probs(rng, shape):
    logits = rng.normal(size=shape).astype("float32")
    return logits, np.asarray(keras.ops.softmax(logits, axis=-1))


def test_no_smoothing_equals_keras_sparse_crossentropy():
    rng = np.random.default_rng(0)
    _, probs = _probs(rng, (6, 10))
    labels = rng.integers(0, 10, size=6)
    ours = float(SmoothedSparseCategoricalCrossentropy(label_smoothing=0.0)(labels, probs))
    theirs = float(keras.losses.SparseCategoricalCrossentropy()(labels, probs))
    assert ours == pytest.approx(theirs, rel=1e-6)


@pytest.mark.parametrize("label_shape", ["flat", "column"])
def test_smoothing_equals_keras_categorical_crossentropy_on_one_hot_labels(label_shape):
    rng = np.random.default_rng(1)
    _, probs = _probs(rng, (8, 10))
    labels = rng.integers(0, 10, size=8)
    one_hot = np.eye(10, dtype="float32")[labels]
    y_true = labels if label_shape == "flat" else labels[:, None]
    ours = float(SmoothedSparseCategoricalCrossentropy(label_smoothing=0.1)(y_true, probs))
    theirs = float(keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(one_hot, probs))
    assert ours == pytest.approx(theirs, rel=1e-6)
    plain = float(keras.losses.SparseCategoricalCrossentropy()(labels, probs))
    assert ours != pytest.approx(plain, rel=1e-3)


def test_per_pixel_logits_as_the_segmentation_task_uses_them():
    rng = np.random.default_rng(2)
    logits, _ = _probs(rng, (2, 5, 7, 4))
    labels = rng.integers(0, 4, size=(2, 5, 7))
    ours = float(SmoothedSparseCategoricalCrossentropy(label_smoothing=0.2, from_logits=True)(labels, logits))
    theirs = float(keras.losses.CategoricalCrossentropy(label_smoothing=0.2, from_logits=True)(
        np.eye(4, dtype="float32")[labels], logits))
    assert ours == pytest.approx(theirs, rel=1e-6)


@pytest.mark.parametrize("bad", [-0.1, 1.0, "0.1", True])
def test_bad_label_smoothing_names_the_argument(bad):
    with pytest.raises(ValueError, match="`label_smoothing` must be a number in \\[0, 1\\)"):
        SmoothedSparseCategoricalCrossentropy(label_smoothing=bad)


def test_a_model_compiled_with_it_saves_and_loads_compiled(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(inputs))
    model.compile("adam", loss=SmoothedSparseCategoricalCrossentropy(label_smoothing=0.15))
    model.fit(np.zeros((4, 3), "float32"), np.arange(4), epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded.loss, SmoothedSparseCategoricalCrossentropy)
    assert loaded.loss.label_smoothing == pytest.approx(0.15)
