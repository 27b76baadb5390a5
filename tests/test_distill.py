"""kerasdil.distill and train(..., teacher=...)."""

import json
import os

import keras
import numpy as np
import pytest

from kerasdil.distill import Distiller
from kerasdil.zoo import keras_io_convnet, mnist_dsdc


def _pair():
    keras.utils.set_random_seed(0)
    student = mnist_dsdc(width=4, dilation_schedule=((1, 2), (1, 2)))
    teacher = mnist_dsdc(width=8, dilation_schedule=((1, 2), (1, 2)), classifier_activation=None)
    return student, teacher


def test_distillation_loss_is_the_hinton_formula():
    student, teacher = _pair()
    distiller = Distiller(student, teacher, alpha=0.3, temperature=4.0)
    x = np.random.default_rng(0).random((6, 28, 28, 1), dtype=np.float32)
    y = np.array([0, 1, 2, 3, 4, 5])
    p = keras.ops.convert_to_numpy(student(x, training=False)).astype(np.float64)
    t = keras.ops.convert_to_numpy(teacher(x, training=False)).astype(np.float64)

    def softmax(z):
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    hard = -np.log(p[np.arange(6), y])
    pt, ps = softmax(t / 4.0), softmax(np.log(p) / 4.0)
    kl = (pt * (np.log(pt) - np.log(ps))).sum(-1)
    expected = np.mean(0.3 * hard + 0.7 * 16.0 * kl)
    got = float(keras.ops.convert_to_numpy(distiller.compute_loss(x, y, student(x, training=False))))
    assert got == pytest.approx(expected, rel=1e-4)


def test_distiller_refuses_bad_settings_and_mismatched_classes():
    student, teacher = _pair()
    with pytest.raises(ValueError, match="alpha"):
        Distiller(student, teacher, alpha=1.5)
    with pytest.raises(ValueError, match="temperature"):
        Distiller(student, teacher, temperature=0)
    with pytest.raises(ValueError, match="output shape"):
        Distiller(student, mnist_dsdc(width=4, num_classes=5))


def test_soft_targets_alone_teach_the_student_the_teacher(tmp_path):
    """alpha=0: no labels at all, yet the student learns to agree with the teacher."""
    from kerasdil import data
    from kerasdil.train import train

    teacher_path = str(tmp_path / "teacher.keras")
    keras.utils.set_random_seed(1)
    teacher = keras_io_convnet()
    arrays = data.load_mnist_arrays("sample")
    teacher.compile("adam", "sparse_categorical_crossentropy")
    teacher.fit(data.normalize(arrays.x_train), arrays.y_train, epochs=3, batch_size=64, verbose=0)
    teacher.save(teacher_path)

    out = str(tmp_path / "run")
    result = train("mnist_dsdc", out_dir=out, epochs=3, batch_size=32, data="sample", limit=1800,
                   model_kwargs={"width": 8}, teacher=teacher_path, distill_alpha=0.0, distill_temperature=4.0,
                   verbose=0, log=lambda *_: None)
    x_test = data.normalize(arrays.x_test)
    agree = np.mean(result.model.predict(x_test, verbose=0).argmax(-1) == teacher.predict(x_test, verbose=0).argmax(-1))
    assert agree > 0.5  # chance is about 0.1
    with open(os.path.join(out, "run.json")) as f:
        assert json.load(f)["distill"] == {"teacher": teacher_path, "alpha": 0.0, "temperature": 4.0}
    saved = keras.models.load_model(os.path.join(out, "model.keras"))
    assert saved.count_params() == result.model.count_params() < teacher.count_params()  # the student is saved


def test_distillation_arguments_are_checked_before_a_run_starts(tmp_path):
    from kerasdil.train import train

    with pytest.raises(ValueError, match="need a `teacher`"):
        train("mnist_dsdc", out_dir=str(tmp_path / "a"), data="sample", distill_alpha=0.5)
    with pytest.raises(ValueError, match="for classifiers"):
        train("deeplab_aspp", out_dir=str(tmp_path / "b"), data="sample", teacher="mnist_dsdc:mnist")
    with pytest.raises(ValueError, match="does not exist"):
        train("mnist_dsdc", out_dir=str(tmp_path / "c"), data="sample", limit=256, teacher=str(tmp_path / "no.keras"))
    assert not os.path.exists(tmp_path / "c" / "run.json")
