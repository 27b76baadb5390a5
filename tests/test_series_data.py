"""Time-series sources (kerasdil.data.series): aeon sets by name, .npz, .csv folders, arrays,
tf.data; per-series normalisation; unequal lengths resampled or padded, never cut; the
record that data.json keeps; one-sentence errors."""

import os

import numpy as np
import pytest

from kerasdil.data.series import is_series_source, load_series
from kerasdil.data.sources import is_user_data, load_data


def _series(n=12, steps=20, channels=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, steps) if channels is None else (n, steps, channels)
    return rng.normal(3.0, 2.0, size=shape), np.arange(n) % 3


def test_arrays_become_normalised_series_with_a_stratified_validation_split():
    x, y = _series(channels=2)
    spec = load_series((x, y), validation_split=0.25, normalize="series")
    assert spec.input_shape == (20, 2) and spec.num_classes == 3
    xt, yt = spec.arrays_by_split["train"]
    np.testing.assert_allclose(xt.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(xt.std(axis=1), 1, atol=1e-4)
    assert sorted(np.bincount(spec.arrays_by_split["validation"][1])) == [1, 1, 1]
    batch_x, batch_y = next(iter(spec.dataset("train", batch_size=4)))
    assert tuple(batch_x.shape) == (4, 20, 2) and batch_y.dtype.name == "int32"


def test_auto_normalisation_keeps_channel_levels_of_multivariate_series():
    x, y = _series(channels=2)
    x[..., 1] += 10.0
    spec = load_series((x, y), validation_split=0)
    assert spec.record["normalize"] == "dataset"
    xt = spec.arrays_by_split["train"][0]
    np.testing.assert_allclose(xt.reshape(-1, 2).mean(axis=0), 0, atol=1e-5)
    assert load_series((x[..., 0], y)).record["normalize"] == "series"


def test_univariate_npz_is_a_series_source_for_load_data_and_mnist_npz_is_not(tmp_path):
    x, y = _series()
    path = str(tmp_path / "ecg.npz")
    np.savez(path, x=x, y=y, x_test=x[:3], y_test=y[:3])
    assert is_series_source(path) and is_user_data(path)
    spec = load_data(path)
    assert spec.input_shape == (20, 1) and spec.sizes()["test"] == 3
    mnist_like = str(tmp_path / "mnist.npz")
    np.savez(mnist_like, x_train=np.zeros((2, 28, 28)), y_train=np.zeros(2))
    assert not is_series_source(mnist_like)


def test_unequal_lengths_are_resampled_to_the_longest_and_recorded():
    rng = np.random.default_rng(0)
    x = np.empty(6, dtype=object)
    for i in range(6):
        x[i] = rng.normal(size=(10 + 2 * i, 1))
    spec = load_series((x, np.arange(6) % 2), validation_split=0)
    assert spec.input_shape == (20, 1)
    assert spec.record["unequal"] == "resample" and spec.record["lengths"] == [10, 20]
    assert "resampled" in spec.record["notes"][0]


def test_pad_keeps_every_step_and_appends_zeros():
    x = np.empty(2, dtype=object)
    x[0], x[1] = np.arange(4.0).reshape(4, 1), np.arange(6.0).reshape(6, 1)
    spec = load_series((x, np.array([0, 1])), unequal="pad", normalize="none", validation_split=0)
    first = spec.arrays_by_split["train"][0][0, :, 0]
    np.testing.assert_array_equal(first, [0, 1, 2, 3, 0, 0])


def test_csv_folder_of_class_folders_reads_one_series_per_file(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("walk", "run"):
        os.makedirs(tmp_path / name)
        for i in range(3):
            np.savetxt(tmp_path / name / f"{i}.csv", rng.normal(size=(16, 3)), delimiter=",",
                       header="ax,ay,az", comments="")
    spec = load_data(str(tmp_path))
    assert spec.class_names == ["run", "walk"] and spec.input_shape == (16, 3)
    assert spec.record["kind"] == "csv_folder"


def test_tf_data_dataset_of_series_is_read():
    import tensorflow as tf

    x, y = _series(n=6)
    spec = load_series(tf.data.Dataset.from_tensor_slices((x[..., None].astype("float32"), y)).batch(2))
    assert spec.input_shape == (20, 1) and spec.num_classes == 3


def test_augmented_training_batches_keep_their_shape_and_change_the_series():
    x, y = _series(n=8)
    spec = load_series((x, y), validation_split=0)
    plain = next(iter(spec.dataset("train", batch_size=8, shuffle=False)))[0].numpy()
    augmented = next(iter(spec.dataset("train", batch_size=8, shuffle=False, augment=True)))[0].numpy()
    assert augmented.shape == plain.shape and not np.allclose(augmented, plain)


def test_aeon_set_by_name_loads_train_and_test_splits():
    pytest.importorskip("aeon")
    spec = load_data("aeon:ItalyPowerDemand")
    assert spec.input_shape == (24, 1) and spec.num_classes == 2
    assert spec.sizes()["test"] == 1029 and spec.record["source"] == "aeon:ItalyPowerDemand"


@pytest.mark.parametrize("source, kwargs, message", [
    ("aeon:NoSuchSet", {}, "aeon has no classification set 'NoSuchSet'"),
    ((np.zeros((4, 5)), np.zeros(4, int)), {}, "single class"),
    ((np.zeros((4, 5)), np.arange(4) % 2), {"unequal": "truncate"}, "unequal must be one of resample, pad"),
    ((np.zeros((4, 5, 2, 2)), np.arange(4) % 2), {}, "series must be a numeric array"),
])
def test_bad_series_input_is_one_sentence(source, kwargs, message):
    if isinstance(source, str):
        pytest.importorskip("aeon")
    with pytest.raises(ValueError, match=message):
        load_series(source, **kwargs)


def test_ts_train_file_reads_its_test_file_beside_it(tmp_path):
    pytest.importorskip("aeon")
    from aeon.datasets import save_to_ts_file

    rng = np.random.default_rng(0)
    for split, n in (("TRAIN", 8), ("TEST", 4)):
        x = rng.normal(size=(n, 1, 30))
        save_to_ts_file(x, (np.arange(n) % 2).astype(str), path=str(tmp_path), problem_name=f"Waves_{split}",
                       label_type="classification")
    found = sorted(p.name for p in tmp_path.rglob("*.ts"))
    path = next(p for p in tmp_path.rglob("*_TRAIN.ts"))
    spec = load_data(str(path))
    assert found and spec.input_shape == (30, 1) and spec.sizes()["test"] == 4 and spec.record["kind"] == "ts_file"
