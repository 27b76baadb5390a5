"""Tests for kerasdil.data.mnist: source search order, validation, the sample, the pipeline.

No test downloads: every call passes an explicit source or ``download=False``
(the one download-failure test replaces kerasdil's own ``_download`` step).
"""

import importlib
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from kerasdil.data import (
    AUGMENTATION,
    NORMALIZATION,
    MnistArrays,
    SampleDataWarning,
    augment_batch,
    describe_source,
    load_mnist_arrays,
    mnist,
    normalize,
    repeat_epochs,
    split_arrays,
)

# kerasdil.data.mnist is the pipeline function; the module behind it is reached this way.
mnist_module = importlib.import_module("kerasdil.data.mnist")
augment_module = importlib.import_module("kerasdil.data.augment")

# The full MNIST file, when the machine has one: read before the autouse fixture
# below clears $KERASDIL_DATA_DIR for every test.
FULL_MNIST = os.path.join(os.environ.get("KERASDIL_DATA_DIR", ""), "mnist.npz")
needs_full_mnist = pytest.mark.skipif(
    not os.environ.get("KERASDIL_DATA_DIR") or not os.path.exists(FULL_MNIST),
    reason="set KERASDIL_DATA_DIR to a directory holding the full mnist.npz",
)


# ----------------------------------------------------------------------------- helpers


def write_mnist(path, n_train=30, n_test=10, **overrides):
    """A tiny MNIST-layout npz; image i carries its index in pixels (0,0) and (0,1)."""
    def images(n, offset):
        rng = np.random.default_rng(n + offset)
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        ids = np.arange(n) + offset
        x[:, 0, 0], x[:, 0, 1] = ids % 256, ids // 256
        return x

    arrays = {
        "x_train": images(n_train, 0),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": images(n_test, 1000),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    np.savez(path, **arrays)
    return str(path)


def image_ids(dataset):
    """Recover the index written by write_mnist from normalised batches."""
    ids = []
    for images, _ in dataset:
        pixels = np.rint(images.numpy()[:, 0, :2, 0] * 255).astype(int)
        ids.extend((pixels[:, 0] + 256 * pixels[:, 1]).tolist())
    return ids


@pytest.fixture(autouse=True)
def isolated_sources(tmp_path, monkeypatch):
    """No $KERASDIL_DATA_DIR and an empty Keras cache, whatever the machine has."""
    monkeypatch.delenv("KERASDIL_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))


@pytest.fixture(scope="module")
def sample():
    with pytest.warns(SampleDataWarning):
        return load_mnist_arrays("sample")


# ------------------------------------------------------------------------ search order


def test_explicit_path_wins_over_data_dir(tmp_path):
    explicit = write_mnist(tmp_path / "mine" / "digits.npz", n_train=12)
    write_mnist(tmp_path / "dir" / "mnist.npz", n_train=20)
    arrays = load_mnist_arrays(explicit, data_dir=tmp_path / "dir", download=False)
    assert arrays.num_train == 12
    assert arrays.source == explicit and arrays.path == explicit
    assert not arrays.is_sample


def test_explicit_directory_reads_its_mnist_npz(tmp_path):
    path = write_mnist(tmp_path / "d" / "mnist.npz", n_train=14)
    arrays = load_mnist_arrays(tmp_path / "d")
    assert arrays.num_train == 14 and arrays.source == path


def test_data_dir_argument_wins_over_env(tmp_path, monkeypatch):
    write_mnist(tmp_path / "arg" / "mnist.npz", n_train=11)
    write_mnist(tmp_path / "env" / "mnist.npz", n_train=22)
    monkeypatch.setenv("KERASDIL_DATA_DIR", str(tmp_path / "env"))
    assert load_mnist_arrays(data_dir=tmp_path / "arg", download=False).num_train == 11


def test_env_data_dir_wins_over_keras_cache(tmp_path, monkeypatch):
    write_mnist(tmp_path / "env" / "mnist.npz", n_train=22)
    write_mnist(tmp_path / "keras_home" / "datasets" / "mnist.npz", n_train=33)
    monkeypatch.setenv("KERASDIL_DATA_DIR", str(tmp_path / "env"))
    arrays = load_mnist_arrays(download=False)
    assert arrays.num_train == 22
    assert arrays.source == str(tmp_path / "env" / "mnist.npz")


def test_keras_cache_used_when_no_data_dir(tmp_path):
    cached = write_mnist(tmp_path / "keras_home" / "datasets" / "mnist.npz", n_train=33)
    arrays = load_mnist_arrays("auto", download=False)
    assert arrays.num_train == 33 and arrays.source == cached


def test_keras_cache_found_under_home_without_keras_home(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    write_mnist(tmp_path / "home" / ".keras" / "datasets" / "mnist.npz", n_train=17)
    assert load_mnist_arrays(download=False).num_train == 17


def test_auto_without_download_falls_back_to_sample_saying_so_once(tmp_path, monkeypatch, capsys):
    with pytest.warns(SampleDataWarning, match="using the embedded MNIST sample") as record:
        arrays = load_mnist_arrays(data_dir=tmp_path / "empty", download=False)
    message = str(record[0].message)
    assert str(tmp_path / "empty" / "mnist.npz") in message
    assert str(tmp_path / "keras_home" / "datasets" / "mnist.npz") in message
    assert "download=False" in message
    assert record[0].filename == __file__  # the warning points at the caller
    assert arrays.is_sample and arrays.num_train == 2000
    assert len(record) == 1 and "embedded MNIST sample" not in capsys.readouterr().err  # no second stderr line


def test_failed_download_is_reported_then_sample_used(monkeypatch):
    def failing_download(data_dir, failures):
        failures.append("keras.datasets.mnist.load_data() failed: Exception: no network")
        return None

    monkeypatch.setattr(mnist_module, "_download", failing_download)
    with pytest.warns(SampleDataWarning, match="no network"):
        arrays = load_mnist_arrays(download=True)
    assert arrays.is_sample


def test_an_unreachable_download_host_falls_back_in_seconds(tmp_path, monkeypatch):
    import time

    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(mnist_module, "_DOWNLOAD_HOST", "kerasdil-test.invalid")  # .invalid never resolves
    start = time.monotonic()
    with pytest.warns(SampleDataWarning, match="kerasdil-test.invalid is unreachable"):
        arrays = load_mnist_arrays(download=True)
    assert arrays.is_sample and time.monotonic() - start < 30
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert mnist_module._host_unreachable() is None  # behind a proxy the downloaders get their chance


def test_found_but_malformed_file_raises_instead_of_being_skipped(tmp_path, monkeypatch):
    bad = write_mnist(tmp_path / "env" / "mnist.npz", y_test=None)
    write_mnist(tmp_path / "keras_home" / "datasets" / "mnist.npz")
    monkeypatch.setenv("KERASDIL_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(ValueError, match="y_test") as info:
        load_mnist_arrays(download=False)
    assert bad in str(info.value)


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_env_data_dir_without_mnist_is_refused_not_replaced_by_the_sample(tmp_path, monkeypatch, folder):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("KERASDIL_DATA_DIR", str(tmp_path / folder))
    with pytest.raises(FileNotFoundError, match="KERASDIL_DATA_DIR") as info:
        load_mnist_arrays(download=False)
    assert str(tmp_path / folder) in str(info.value) and "--data sample" in str(info.value)
    with pytest.warns(SampleDataWarning):  # the sample stays available on request
        assert load_mnist_arrays("sample").is_sample


def test_nothing_anywhere_lists_every_place_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_module, "SAMPLE_RESOURCE", ("sample", "no_such_file.npz"))
    with pytest.raises(FileNotFoundError) as info:
        load_mnist_arrays(data_dir=tmp_path / "nowhere", download=False)
    message = str(info.value)
    assert str(tmp_path / "nowhere" / "mnist.npz") in message
    assert str(tmp_path / "keras_home" / "datasets" / "mnist.npz") in message
    assert "no_such_file.npz" in message


# ------------------------------------------------------------------------- the sample


def test_sample_source_warns_that_it_is_a_sample():
    with pytest.warns(SampleDataWarning, match="NOT the full data set"):
        arrays = load_mnist_arrays("sample")
    assert arrays.is_sample and "sample" in arrays.describe()


def test_sample_is_class_balanced_uint8(sample):
    assert sample.x_train.shape == (2000, 28, 28) and sample.x_test.shape == (500, 28, 28)
    assert sample.x_train.dtype == np.uint8 and sample.y_train.dtype == np.uint8
    assert np.bincount(sample.y_train, minlength=10).tolist() == [200] * 10
    assert np.bincount(sample.y_test, minlength=10).tolist() == [50] * 10
    assert sample.x_train.max() == 255  # raw pixels, not normalised


@needs_full_mnist
def test_sample_rows_are_real_mnist_rows():
    sample_file = os.path.join(os.path.dirname(mnist_module.__file__), "sample", "mnist_sample.npz")
    with np.load(sample_file) as s, np.load(FULL_MNIST) as full:
        np.testing.assert_array_equal(s["x_train"], full["x_train"][s["train_indices"]])
        np.testing.assert_array_equal(s["y_test"], full["y_test"][s["test_indices"]])


# --------------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"y_train": None}, "lacks the array.*y_train"),
        ({"x_train": np.zeros((30, 32, 32), np.uint8)}, r"shape \(30, 32, 32\)"),
        ({"y_train": np.full(30, 10, np.uint8)}, "labels 10..10.*0..9"),
        ({"y_train": np.zeros(29, np.uint8)}, "30 images but 'y_train' has 29 labels"),
        ({"x_test": np.zeros((10, 28, 28), np.float32)}, "dtype float32"),
        ({"x_test": np.full((10, 28, 28), 300, np.int32)}, "0..255"),
        ({"y_test": np.zeros((10, 10), np.uint8)}, "1-D array"),
    ],
    ids=["missing-key", "wrong-shape", "label-out-of-range", "length-mismatch",
         "float-images", "pixels-out-of-range", "one-hot-labels"],
)
def test_malformed_file_raises_value_error_naming_file(tmp_path, overrides, match):
    path = write_mnist(tmp_path / "bad.npz", **overrides)
    with pytest.raises(ValueError, match=match) as info:
        load_mnist_arrays(path)
    assert path in str(info.value)


def test_object_array_is_refused_not_unpickled(tmp_path):
    path = str(tmp_path / "objects.npz")
    ragged = np.empty(30, dtype=object)
    ragged[:] = [np.zeros(i) for i in range(30)]
    np.savez(path, x_train=ragged, y_train=np.zeros(30, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match="object array.*refuses") as info:
        load_mnist_arrays(path)
    assert path in str(info.value)


def test_pickle_file_is_refused(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(pickle.dumps({"x_train": [1, 2, 3]}))
    with pytest.raises(ValueError, match="not an .npz archive") as info:
        load_mnist_arrays(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("keep", [0.5, 0.01, 0.0])
def test_truncated_file_raises_clear_value_error(tmp_path, keep):
    path = write_mnist(tmp_path / "mnist.npz")
    data = open(path, "rb").read()
    with open(path, "wb") as handle:
        handle.write(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="truncated or corrupt") as info:
        load_mnist_arrays(path)
    assert path in str(info.value)


def test_corrupted_bytes_in_compressed_file_raise_value_error(tmp_path):
    path = str(tmp_path / "mnist.npz")
    rng = np.random.default_rng(0)
    np.savez_compressed(path, x_train=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
                        y_train=np.zeros(30, np.uint8), x_test=np.zeros((5, 28, 28), np.uint8),
                        y_test=np.zeros(5, np.uint8))
    data = bytearray(open(path, "rb").read())
    data[2000:2100] = bytes(b ^ 0xFF for b in data[2000:2100])
    open(path, "wb").write(bytes(data))
    with pytest.raises(ValueError, match="corrupt") as info:
        load_mnist_arrays(path)
    assert path in str(info.value)


def test_bare_npy_file_is_refused(tmp_path):
    path = str(tmp_path / "images.npy")
    np.save(path, np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="single .npy array"):
        load_mnist_arrays(path)


def test_nonexistent_path_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load_mnist_arrays(tmp_path / "missing.npz")


def test_directory_without_mnist_npz_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="No mnist.npz in directory"):
        load_mnist_arrays(tmp_path)


def test_channel_axis_and_wide_dtypes_are_accepted(tmp_path):
    path = write_mnist(
        tmp_path / "m.npz",
        x_train=np.ones((30, 28, 28, 1), np.int64),
        y_train=(np.arange(30) % 10).astype(np.int64),
    )
    arrays = load_mnist_arrays(path)
    assert arrays.x_train.shape == (30, 28, 28) and arrays.x_train.dtype == np.uint8
    assert arrays.y_train.dtype == np.uint8


def test_unsupported_source_type_raises_type_error():
    with pytest.raises(TypeError, match="source"):
        load_mnist_arrays(42)


def test_describe_source_counts_images(tmp_path):
    path = write_mnist(tmp_path / "mnist.npz", n_train=1200, n_test=10)
    assert describe_source(path) == f"data: {path} (1,200 train / 10 test)"


# ---------------------------------------------------------------- splits and scaling


def test_normalize_matches_documented_scaling():
    pixels = np.array([[0, 51], [255, 128]], np.uint8)
    out = normalize(pixels)
    assert out.shape == (2, 2, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 0], pixels / 255.0, rtol=1e-6)
    assert normalize(np.zeros((5, 28, 28), np.uint8)).shape == (5, 28, 28, 1)
    assert NORMALIZATION.scale == pytest.approx(1 / 255) and NORMALIZATION.std == 255.0


def test_normalize_refuses_float_input():
    with pytest.raises(ValueError, match="normalised already"):
        normalize(np.zeros((2, 28, 28), np.float32))


def test_validation_split_is_last_images_and_disjoint_from_train(tmp_path):
    arrays = load_mnist_arrays(write_mnist(tmp_path / "m.npz", n_train=30))
    x_train, _ = split_arrays(arrays, "train", validation_size=8)
    x_val, _ = split_arrays(arrays, "validation", validation_size=8)
    assert len(x_train) == 22 and len(x_val) == 8
    np.testing.assert_array_equal(x_val, arrays.x_train[22:])


def test_validation_split_needs_validation_size(sample):
    with pytest.raises(ValueError, match="validation_size > 0"):
        mnist("validation", source=sample)
    with pytest.raises(ValueError, match="smaller than the 2,000"):
        mnist("train", source=sample, validation_size=2000)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"split": "valid"}, "split must be one of"),
        ({"batch_size": 0}, "batch_size"),
        ({"split": "test", "augment": True}, "training split only"),
        ({"limit": 0}, "limit"),
        ({"validation_size": -1}, "validation_size"),
    ],
)
def test_bad_pipeline_arguments_raise_value_error(sample, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mnist(source=sample, **kwargs)


# ---------------------------------------------------------------------------- pipeline


def test_pipeline_yields_unit_range_float_images_and_int32_labels(sample):
    import tensorflow as tf

    dataset = mnist("test", source=sample, batch_size=64)
    assert dataset.element_spec[0].shape.as_list() == [None, 28, 28, 1]
    assert dataset.element_spec[0].dtype == tf.float32
    assert dataset.element_spec[1].dtype == tf.int32
    images, labels = next(iter(dataset))
    assert images.shape == (64, 28, 28, 1) and labels.shape == (64,)
    np.testing.assert_allclose(images.numpy(), normalize(sample.x_test[:64]), rtol=1e-6)
    np.testing.assert_array_equal(labels.numpy(), sample.y_test[:64])
    assert sum(int(b.shape[0]) for b, _ in dataset) == 500


def test_pipeline_from_source_path_warns_at_caller_for_sample():
    with pytest.warns(SampleDataWarning) as record:
        mnist("test", source="sample", limit=10)
    assert record[0].filename == __file__


def test_shuffle_is_deterministic_for_a_seed(tmp_path):
    path = write_mnist(tmp_path / "m.npz", n_train=60)
    first = image_ids(mnist("train", source=path, batch_size=16, seed=3))
    again = image_ids(mnist("train", source=path, batch_size=16, seed=3))
    other = image_ids(mnist("train", source=path, batch_size=16, seed=4))
    assert first == again
    assert first != other and sorted(first) == sorted(other) == list(range(60))
    assert first != list(range(60))


def test_train_is_reshuffled_each_epoch(tmp_path):
    dataset = mnist("train", source=write_mnist(tmp_path / "m.npz", n_train=60), batch_size=16)
    assert image_ids(dataset) != image_ids(dataset)


def test_test_split_is_not_shuffled_by_default(tmp_path):
    dataset = mnist("test", source=write_mnist(tmp_path / "m.npz", n_test=20), batch_size=8)
    assert image_ids(dataset) == list(range(1000, 1020))


def test_validation_pipeline_disjoint_from_train_pipeline(tmp_path):
    arrays = load_mnist_arrays(write_mnist(tmp_path / "m.npz", n_train=50))
    train = set(image_ids(mnist("train", source=arrays, validation_size=12, batch_size=8)))
    val = set(image_ids(mnist("validation", source=arrays, validation_size=12, batch_size=8)))
    assert len(train) == 38 and len(val) == 12
    assert train.isdisjoint(val) and train | val == set(range(50))


def test_limit_takes_first_examples_of_the_split(tmp_path):
    path = write_mnist(tmp_path / "m.npz", n_train=40)
    ids = image_ids(mnist("train", source=path, limit=10, batch_size=4, validation_size=5))
    assert sorted(ids) == list(range(10))


def test_drop_remainder_keeps_full_batches_only(sample):
    dataset = mnist("test", source=sample, batch_size=128, drop_remainder=True)
    assert [int(images.shape[0]) for images, _ in dataset] == [128, 128, 128]
    assert dataset.element_spec[0].shape.as_list() == [128, 28, 28, 1]


def test_augmentation_changes_images_but_keeps_shape_range_and_labels(sample):
    plain = mnist("train", source=sample, limit=256, batch_size=64, shuffle=False)
    augmented = mnist("train", source=sample, limit=256, batch_size=64, shuffle=False, augment=True)
    (x0, y0), (x1, y1) = next(iter(plain)), next(iter(augmented))
    assert x1.shape == x0.shape == (64, 28, 28, 1)
    assert augmented.element_spec[0].shape.as_list() == [None, 28, 28, 1]
    np.testing.assert_array_equal(y0.numpy(), y1.numpy())
    x0, x1 = x0.numpy(), x1.numpy()
    assert x1.min() >= 0.0 and x1.max() <= 1.0
    changed = np.abs(x1 - x0).reshape(64, -1).max(axis=1) > 0.05
    assert changed.mean() > 0.9
    # digits stay roughly the same size: ink changes by well under a factor of 2
    ratio = x1.reshape(64, -1).sum(1) / x0.reshape(64, -1).sum(1)
    assert 0.6 < ratio.min() and ratio.max() < 1.6


def test_augmentation_is_deterministic_for_a_seed_and_varies_by_epoch(sample):
    def batches(seed):
        return mnist("train", source=sample, limit=128, batch_size=64, augment=True, seed=seed)

    dataset = batches(5)
    epoch1 = np.concatenate([x.numpy() for x, _ in dataset])
    epoch2 = np.concatenate([x.numpy() for x, _ in dataset])
    rebuilt = np.concatenate([x.numpy() for x, _ in batches(5)])
    other = np.concatenate([x.numpy() for x, _ in batches(6)])
    np.testing.assert_array_equal(epoch1, rebuilt)
    assert not np.array_equal(epoch1, epoch2)
    assert not np.array_equal(epoch1, other)


def test_repeat_epochs_gives_one_full_reshuffled_pass_per_epoch(tmp_path):
    dataset = mnist("train", source=write_mnist(tmp_path / "m.npz", n_train=40), batch_size=16, seed=2)
    repeated, steps = repeat_epochs(dataset)
    assert steps == 3 and int(repeated.cardinality()) == -1  # infinite: Keras keeps one iterator
    ids = image_ids(repeated.take(3 * steps))
    # batches 16, 16, 8: each run of `steps` batches is one pass over all 40 images
    passes = [ids[0:40], ids[40:80], ids[80:120]]
    assert all(sorted(p) == list(range(40)) for p in passes)
    assert passes[0] != passes[1] and passes[1] != passes[2]


def test_repeat_epochs_draws_new_augmentation_each_pass(sample):
    dataset = mnist("train", source=sample, limit=128, batch_size=64, augment=True, shuffle=False)
    repeated, steps = repeat_epochs(dataset)
    batches = [(x.numpy(), y.numpy()) for x, y in repeated.take(2 * steps)]
    first = np.concatenate([x for x, _ in batches[:steps]])
    second = np.concatenate([x for x, _ in batches[steps:]])
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches[:steps]]),
                                  np.concatenate([y for _, y in batches[steps:]]))
    assert not np.array_equal(first, second)


def test_repeat_epochs_leaves_other_inputs_alone():
    import tensorflow as tf

    infinite = tf.data.Dataset.range(5).repeat()
    unknown = tf.data.Dataset.range(5).filter(lambda i: i > 1)
    empty = tf.data.Dataset.range(0)
    x = np.zeros((4, 28, 28, 1), np.float32)
    for data in (infinite, unknown, empty, x):
        assert repeat_epochs(data) == (data, None)


def test_augment_batch_with_zero_ranges_is_identity():
    import tensorflow as tf

    images = tf.random.stateless_uniform([4, 28, 28, 1], seed=[0, 1])
    out = augment_batch(images, tf.constant([1, 2]), max_rotation_degrees=0.0,
                        max_translation_pixels=0.0, max_zoom=0.0)
    np.testing.assert_allclose(out.numpy(), images.numpy(), atol=1e-5)
    with pytest.raises(KeyError):
        augment_batch(images, tf.constant([1, 2]), shear=0.1)
    assert AUGMENTATION["max_translation_pixels"] == 2.0


def test_affine_shift_moves_content_right_and_down():
    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, 10, 12, 0] = 1.0
    out = augment_module._affine(image, [0.0], [1.0], [2.0], [-3.0]).numpy()
    assert out[0, 7, 14, 0] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)


def test_affine_rotation_and_zoom_keep_the_centre_fixed():
    image = np.zeros((1, 29, 29, 1), np.float32)
    image[0, 14, 14, 0] = 1.0  # the exact centre of an odd-sized image
    out = augment_module._affine(image, [0.3], [1.1], [0.0], [0.0]).numpy()
    assert out[0, 14, 14, 0] == pytest.approx(1.0, abs=1e-5)


@needs_full_mnist
def test_full_mnist_through_kerasdil_data_dir(monkeypatch):
    monkeypatch.setenv("KERASDIL_DATA_DIR", os.path.dirname(FULL_MNIST))
    arrays = load_mnist_arrays(download=False)
    assert (arrays.num_train, arrays.num_test) == (60000, 10000)
    assert describe_source(arrays).endswith("(60,000 train / 10,000 test)")
    x_val, _ = split_arrays(arrays, "validation", validation_size=5000)
    assert x_val.shape == (5000, 28, 28)


def test_import_kerasdil_data_does_not_import_tensorflow():
    code = "import sys, kerasdil.data; print('tensorflow' in sys.modules)"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=root, check=True)
    assert result.stdout.strip() == "False"


def test_mnist_arrays_source_is_reused_without_reloading(sample):
    assert load_mnist_arrays(sample) is sample
    assert isinstance(sample, MnistArrays)


def test_elastic_warp_with_zero_field_matches_the_affine_op():
    import tensorflow as tf

    images = tf.random.stateless_uniform([6, 28, 28, 2], seed=[3, 4])
    draws = tf.random.stateless_uniform([6, 4], seed=[5, 6], minval=-1.0, maxval=1.0)
    args = (draws[:, 0] * 0.3, 1.0 + draws[:, 1] * 0.2, draws[:, 2] * 3.0, draws[:, 3] * 3.0)
    expected = augment_module._affine(images, *args).numpy()
    coefficients = augment_module._affine_coefficients(tf.shape(images), *args)
    got = augment_module._warp(images, coefficients, tf.zeros([6, 2, 28, 28])).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_elastic_warp_moves_a_pixel_by_the_field_and_fills_outside_with_zeros():
    import tensorflow as tf

    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, 10, 12, 0] = 1.0
    identity = augment_module._affine_coefficients(tf.constant([1, 28, 28, 1]), [0.0], [1.0], [0.0], [0.0])
    field = np.zeros((1, 2, 28, 28), np.float32)
    field[0, 0, 10, 15] = -3.0  # output pixel (10, 15) samples the input 3 px to its left
    field[0, 1, 5, 5] = -40.0  # far above the image: zero, not the nearest edge pixel
    out = augment_module._warp(tf.constant(image), identity, tf.constant(field)).numpy()
    assert out[0, 10, 15, 0] == pytest.approx(1.0)
    assert out[0, 10, 12, 0] == pytest.approx(1.0)  # untouched where the field is zero
    assert out.sum() == pytest.approx(2.0)


def test_xla_resampling_is_used_here_and_matches_op_by_op(monkeypatch):
    """The elastic pipeline resamples under XLA (pip TensorFlow on x86 has its CPU JIT);
    the op-by-op fallback gives the same images for the same seed."""
    import tensorflow as tf

    assert augment_module._compiled_resample() is not None
    images = tf.random.stateless_uniform([5, 28, 28, 1], seed=[7, 8])
    settings = dict(elastic_alpha=34.0, max_rotation_degrees=15.0)
    seed = tf.constant([3, 9])
    compiled = mnist_module.augment_batch(images, seed, **settings).numpy()
    monkeypatch.setattr(augment_module, "XLA_RESAMPLING", False)
    op_by_op = mnist_module.augment_batch(images, seed, **settings).numpy()
    np.testing.assert_allclose(compiled, op_by_op, atol=1e-5)
    assert np.abs(compiled - images.numpy()).max() > 0.2  # it did warp
    # The same through a tf.data pipeline (a traced map function).
    monkeypatch.setattr(augment_module, "XLA_RESAMPLING", True)
    ds = tf.data.Dataset.from_tensors(images).map(lambda x: mnist_module.augment_batch(x, seed, **settings))
    np.testing.assert_allclose(next(iter(ds)).numpy(), op_by_op, atol=1e-5)


def test_elastic_field_has_the_strength_of_the_full_resolution_definition():
    import tensorflow as tf

    alpha, sigma = 34.0, 4.0
    field = augment_module._smooth(*augment_module._elastic_noise(tf.zeros([400, 28, 28, 1]), tf.constant([1, 2], tf.int64),
                                                              alpha, sigma))
    assert field.shape == (400, 2, 28, 28)
    # Simard's field: alpha * (uniform noise convolved with a normalised Gaussian,
    # zero padding); its per-pixel standard deviation, computed exactly.
    radius = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    power = np.array([(taps[max(0, radius - i):radius + 28 - i] ** 2).sum() for i in range(28)])
    expected_std = alpha * np.sqrt(1.0 / 3.0) * np.sqrt(np.outer(power, power))
    measured_std = field.numpy().std(axis=(0, 1))
    np.testing.assert_allclose(measured_std, expected_std, rtol=0.12)
    # Smooth: neighbouring displacements are strongly correlated.
    f = field.numpy()
    assert np.corrcoef(f[:, 0, 14, 14], f[:, 0, 14, 15])[0, 1] > 0.9


def test_augment_batch_elastic_is_seeded_and_off_by_default():
    import tensorflow as tf

    images = tf.random.stateless_uniform([4, 28, 28, 1], seed=[0, 1])
    seed = tf.constant([1, 2])
    plain = augment_batch(images, seed).numpy()
    elastic = augment_batch(images, seed, elastic_alpha=17.0).numpy()
    np.testing.assert_array_equal(elastic, augment_batch(images, seed, elastic_alpha=17.0).numpy())
    assert AUGMENTATION["elastic_alpha"] == 0.0
    assert not np.allclose(plain, elastic, atol=1e-3)
    assert elastic.min() >= 0.0 and elastic.max() <= 1.0 and elastic.shape == (4, 28, 28, 1)


def test_mnist_augment_takes_a_dict_of_settings(sample):
    def first_batch(augment):
        dataset = mnist("train", source=sample, limit=64, batch_size=64, augment=augment, shuffle=False, seed=3)
        return next(iter(dataset))[0].numpy()

    plain = first_batch(True)
    np.testing.assert_array_equal(first_batch({}), plain)  # no changes: the defaults
    np.testing.assert_array_equal(first_batch({"max_zoom": 0.1}), plain)
    assert not np.allclose(first_batch({"elastic_alpha": 17}), plain, atol=1e-3)
    with pytest.raises(ValueError, match="unknown augmentation setting\\(s\\) 'shear'"):
        mnist("train", source=sample, augment={"shear": 0.1})
    with pytest.raises(ValueError, match="'elastic_sigma' must be > 0"):
        mnist("train", source=sample, augment={"elastic_alpha": 10, "elastic_sigma": 0})
    with pytest.raises(ValueError, match="training split only"):
        mnist("test", source=sample, augment={"elastic_alpha": 10})
    with pytest.raises(ValueError, match="augment must be True, False or a dict"):
        mnist("train", source=sample, augment="elastic")


APPEARANCE_ON = {key: 1.0 for key in ("stroke_probability", "blur_probability", "contrast_probability",
                                      "brightness_probability", "fog_probability", "line_probability",
                                      "noise_probability", "impulse_probability")}


def test_appearance_augmentation_is_off_by_default_seeded_and_in_range():
    import tensorflow as tf

    images = tf.random.stateless_uniform([8, 28, 28, 1], seed=[0, 1])
    seed = tf.constant([5, 6])
    geometric_off = dict(max_rotation_degrees=0, max_translation_pixels=0, max_zoom=0)
    # Off by default: with the geometry off too, augmentation leaves the images alone.
    np.testing.assert_allclose(augment_batch(images, seed, **geometric_off).numpy(), images.numpy(), atol=1e-5)
    assert all(AUGMENTATION[key] == 0.0 for key in APPEARANCE_ON)
    changed = augment_batch(images, seed, **geometric_off, **APPEARANCE_ON).numpy()
    np.testing.assert_array_equal(changed, augment_batch(images, seed, **geometric_off, **APPEARANCE_ON).numpy())
    assert changed.shape == (8, 28, 28, 1) and changed.min() >= 0.0 and changed.max() <= 1.0
    assert np.abs(changed - images.numpy()).mean() > 0.05


@pytest.mark.parametrize("key", sorted(APPEARANCE_ON))
def test_each_appearance_change_alters_a_digit_on_its_own(sample, key):
    import tensorflow as tf

    digits = tf.constant(normalize(sample.x_train[:16]))
    seed = tf.constant([2, 9])
    still = dict(max_rotation_degrees=0, max_translation_pixels=0, max_zoom=0)
    out = augment_batch(digits, seed, **still, **{key: 1.0}).numpy()
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.abs(out - digits.numpy()).max() > 0.1, key


def test_noise_augmentation_hits_the_share_of_images_its_probability_says():
    import tensorflow as tf

    images = tf.zeros([400, 28, 28, 1])
    out = augment_batch(images, tf.constant([1, 1]), max_rotation_degrees=0, max_translation_pixels=0, max_zoom=0,
                        noise_probability=0.25).numpy()
    hit = (out.reshape(400, -1).max(axis=1) > 0).mean()
    assert 0.15 < hit < 0.35


def test_shear_slants_a_vertical_bar_and_is_off_by_default():
    import tensorflow as tf

    bar = np.zeros((1, 28, 28, 1), np.float32)
    bar[0, 4:24, 13:15] = 1.0
    seed = tf.constant([0, 3])
    still = dict(max_rotation_degrees=0, max_translation_pixels=0, max_zoom=0)
    assert AUGMENTATION["max_shear"] == 0.0
    np.testing.assert_allclose(augment_batch(tf.constant(bar), seed, **still).numpy(), bar, atol=1e-5)
    out = augment_batch(tf.constant(bar), seed, **still, max_shear=0.5).numpy()[0, ..., 0]
    columns = [np.average(np.arange(28), weights=out[row] + 1e-9) for row in (6, 21)]
    assert abs(columns[0] - columns[1]) > 1.0  # the top and the bottom of the bar moved apart


def test_appearance_probabilities_above_one_are_refused(sample):
    with pytest.raises(ValueError, match="'noise_probability' is a probability"):
        mnist("train", source=sample, augment={"noise_probability": 1.5})
    with pytest.raises(ValueError, match="'min_contrast' must be at most 1"):
        mnist("train", source=sample, augment={"min_contrast": 2})


def test_motion_blur_directions_and_length_widen_the_blur_and_are_checked(sample):
    import tensorflow as tf

    dot = np.zeros((256, 28, 28, 1), np.float32)
    dot[:, 14, 14] = 1.0
    still = dict(max_rotation_degrees=0, max_translation_pixels=0, max_zoom=0, blur_probability=1.0)

    def shapes(**settings):
        """Per image: (rows, columns) the blur reached, for the images that got a motion blur (a line)."""
        out = augment_batch(tf.constant(dot), tf.constant([4, 4]), **still, **settings).numpy()[..., 0]
        seen = set()
        for image in out:
            ys, xs = np.nonzero(image > 1e-3)
            dy, dx = ys - 14, xs - 14
            h, w = int(np.ptp(ys)) + 1, int(np.ptp(xs)) + 1
            if (dy == 0).all() or (dx == 0).all():
                seen.add((h, w))  # horizontal or vertical
            elif (np.minimum(abs(dy - dx), abs(dy + dx)) <= 1).all():
                seen.add(("diagonal", max(h, w)))  # not the Gaussian's round blob
        return seen

    # Default: horizontal or vertical, 5 px.
    assert AUGMENTATION["motion_directions"] == 2 and AUGMENTATION["max_motion_length"] == 5
    default = shapes()
    assert default >= {(1, 5), (5, 1)} and not any(kind == "diagonal" and size >= 5 for kind, size in default)
    wide = shapes(motion_directions=4, max_motion_length=9)
    assert any(kind == "diagonal" and size >= 5 for kind, size in wide)
    assert {(1, 9), (9, 1)} <= wide  # longer ones
    with pytest.raises(ValueError, match="'motion_directions' must be a whole number >= 1"):
        mnist("train", source=sample, augment={"motion_directions": 2.5})
    with pytest.raises(ValueError, match="'max_motion_length' must be between 5 and 27 px"):
        mnist("train", source=sample, augment={"max_motion_length": 3})
