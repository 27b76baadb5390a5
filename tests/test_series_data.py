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


def test_pad_adds_a_validity_channel_and_dataset_normalisation_keeps_the_padding_zero():
    rng = np.random.default_rng(0)
    x = np.empty(4, dtype=object)
    for i in range(4):
        x[i] = rng.normal(5.0, 2.0, size=(6 + i, 2))
    spec = load_series((x, np.arange(4) % 2), unequal="pad", normalize="dataset", validation_split=0)
    assert spec.input_shape == (9, 3) and spec.record["validity_channel"] is True and spec.record["channels"] == 2
    first = spec.arrays_by_split["train"][0][0]
    np.testing.assert_array_equal(first[:, 2], [1] * 6 + [0] * 3)
    np.testing.assert_array_equal(first[6:, :2], 0)  # padding stays zero after the training split's statistics
    assert "validity channel" in spec.description and "4 train" in spec.description
    batch = next(iter(spec.dataset("train", batch_size=4, augment=True)))[0].numpy()
    np.testing.assert_array_equal(np.unique(batch[..., 2]), [0, 1])  # augmentation keeps the mask a mask
    np.testing.assert_array_equal(batch[..., :2][batch[..., 2] == 0], 0)
    resampled = load_series((x, np.arange(4) % 2))
    assert resampled.record["validity_channel"] is False and resampled.input_shape == (9, 2)


def test_resample_gives_the_same_dataset_normalisation_as_before_it_was_moved_ahead_of_the_length():
    x, y = _series(channels=2)
    spec = load_series((x, y), normalize="dataset", validation_split=0)
    flat = x.reshape(-1, 2)
    expected = (x - flat.mean(axis=0)) / flat.std(axis=0)
    np.testing.assert_allclose(spec.arrays_by_split["train"][0], expected, atol=1e-5)


def test_load_data_reads_arrays_as_series_when_asked_and_passes_the_series_options():
    x, y = _series(n=9, steps=30)
    spec = load_data((x, y), series=True, normalize="none", length=40, validation_split=0)
    assert spec.input_shape == (40, 1) and spec.record["normalize"] == "none" and spec.record["length"] == 40


@pytest.mark.parametrize("source, kwargs, message", [
    ("images", {"normalize": "none"}, r"normalize \(--series-normalize\) applies to time series, and this data is "
                                      r"images"),
    ("images", {"unequal": "pad"}, r"unequal \(--series-unequal\) applies to time series"),
    ("series", {"resize": "crop"}, r"resize \(--resize\) applies to images, and this data is time series"),
    ("series", {"length": 0}, r"length must be a whole number of steps >= 2"),
])
def test_options_of_the_other_kind_of_data_are_refused_in_one_sentence(source, kwargs, message):
    x, y = _series(n=6, steps=8)
    data = (np.zeros((6, 8, 8, 1), np.uint8), y) if source == "images" else (x, y)
    with pytest.raises(ValueError, match=message):
        load_data(data, series=source == "series", **kwargs)
