"""Tests for kerasdil.data.sources: the user's own image folders, mask folders, tfds, arrays and tf.data."""

import os
import warnings

import numpy as np
import pytest

from kerasdil.data import SampleDataWarning
from kerasdil.data.sources import DataSpec, UserDataWarning, is_user_data, load_data
from tests._image_folders import (
    DIGIT_NAMES,
    _write,
    digits_folder,
    mnist_folder,
    photo_folder,
    scenes_folder,
)

pytestmark = pytest.mark.filterwarnings("ignore::kerasdil.data.SampleDataWarning")


def batches(dataset):
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in dataset])
    return np.concatenate(xs), np.concatenate(ys)


def test_is_user_data_tells_mnist_sources_from_the_users(tmp_path):
    (tmp_path / "mnistdir").mkdir()
    (tmp_path / "mnistdir" / "mnist.npz").write_bytes(b"")
    (tmp_path / "images").mkdir()
    assert not any(is_user_data(s) for s in (None, "sample", "auto", "x.npz", str(tmp_path / "mnistdir")))
    assert all(is_user_data(s) for s in ("tfds:beans", str(tmp_path / "images"), (np.zeros((1, 2, 2)), [0])))


def test_class_folder_gives_sorted_classes_stratified_splits_and_unit_pixels(tmp_path):
    folder = mnist_folder(str(tmp_path / "digits"), per_class=5)
    spec = load_data(folder)
    assert spec.task == "classification" and spec.class_names == sorted(DIGIT_NAMES)
    assert spec.input_shape == (28, 28, 1) and spec.num_classes == 3
    assert spec.sizes() == {"train": 12, "validation": 3, "test": 3}  # one of every class held out
    x, y = batches(spec.dataset("validation", batch_size=2))
    assert sorted(y.tolist()) == [0, 1, 2]
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.9
    # The pixels are the PNG's, divided by 255 (no resize at the native size).
    first = sorted(os.listdir(os.path.join(folder, "one")))[0]
    import tensorflow as tf

    png = tf.io.decode_png(tf.io.read_file(os.path.join(folder, "one", first))).numpy() / 255.0
    x_all, y_all = batches(spec.dataset("train", batch_size=64, shuffle=False))
    x_val, y_val = batches(spec.dataset("validation", batch_size=64))
    pool = np.concatenate([x_all, x_val])
    assert min(np.abs(pool - png[None]).max(axis=(1, 2, 3))) < 1e-6
    assert spec.record["class_names"] == spec.class_names and spec.record["splits"]["train"] == 12


def test_mixed_sizes_resize_to_the_most_common_size_and_say_so(tmp_path):
    folder = mnist_folder(str(tmp_path / "d"), per_class=3)
    digits_folder(folder, per_class=1)  # scikit-learn's 8x8 digits beside the 28x28 MNIST ones
    spec = load_data(folder)
    assert spec.input_shape == (28, 28, 1)
    assert "3 others are resized to it (resize=pad)" in spec.description
    crop = load_data(folder, image_size=(16, 12), resize="crop", validation_split=0)
    x, _ = batches(crop.dataset("train", batch_size=64))
    assert x.shape == (12, 16, 12, 1) and crop.sizes()["test"] == 12
    assert "12 of 12 images are resized to 16x12 (resize=crop)" in crop.description


def test_pad_keeps_the_aspect_ratio_and_stretch_does_not():
    wide = np.full((2, 10, 20), 255, np.uint8)
    padded, _ = batches(load_data((wide, np.array([0, 1])), image_size=(20, 20), validation_split=0).train)
    assert np.all(padded[:, :5] == 0) and np.all(padded[:, 15:] == 0) and np.allclose(padded[:, 6:14], 1.0)
    stretched, _ = batches(load_data((wide, np.array([0, 1])), image_size=(20, 20), resize="stretch",
                                     validation_split=0).train)
    assert np.allclose(stretched, 1.0)


def test_rgb_photos_with_a_gray_image_become_rgb_and_the_note_says_so(tmp_path):
    folder = photo_folder(str(tmp_path / "photos"), per_class=4, fmt="png")
    _write(os.path.join(folder, "china", "gray.png"), np.full((32, 32), 200, np.uint8))
    spec = load_data(folder, validation_split=0)
    assert spec.input_shape == (32, 32, 3) and spec.class_names == ["china", "flower"]
    assert "1 grayscale images are converted to RGB" in spec.description
    x, _ = batches(spec.dataset("train", batch_size=64, shuffle=False))
    gray = [img for img in x if np.ptp(img, axis=-1).max() == 0 and np.allclose(img, 200 / 255)]
    assert len(gray) == 1  # the grayscale PNG, its value on all three channels
    as_gray = load_data(folder, channels=1, validation_split=0)
    assert as_gray.input_shape == (32, 32, 1) and "8 colour images are converted to grayscale" in as_gray.description


def test_jpeg_photos_decode_to_the_crops_within_jpeg_error(tmp_path):
    from tests._image_folders import photo_crops

    folder = photo_folder(str(tmp_path / "photos"), per_class=2, fmt="jpg", seed=3)
    crops = photo_crops(2, seed=3)
    x, y = batches(load_data(folder, validation_split=0).dataset("train", batch_size=8, shuffle=False))
    expected = np.stack(crops["china"] + crops["flower"]) / 255.0
    assert y.tolist() == [0, 0, 1, 1] and np.abs(x - expected).mean() < 0.03


def test_a_corrupt_image_is_skipped_with_a_warning_naming_it(tmp_path):
    folder = mnist_folder(str(tmp_path / "d"), per_class=3)
    bad = os.path.join(folder, "two", "broken.png")
    with open(bad, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.warns(UserDataWarning, match=r"skipped 1 unreadable file\(s\): image .*broken\.png cannot be decoded"):
        spec = load_data(folder, validation_split=0)
    assert spec.sizes()["train"] == 9 and "broken.png" in spec.record["skipped"][0]


@pytest.mark.parametrize(
    "make, task, error, match",
    [
        (lambda root: os.makedirs(root), None, ValueError, "has no class subfolders and no images"),
        (lambda root: _write(os.path.join(root, "a.png"), np.zeros((4, 4), np.uint8)), None, ValueError,
         r"holds 1 images but no class subfolders; put each class's images in a folder named after the class"),
        (lambda root: [os.makedirs(os.path.join(root, "cat")), _write(os.path.join(root, "dog", "1.png"),
                                                                      np.zeros((4, 4), np.uint8))],
         None, ValueError, r"class folder .*cat holds no images"),
        (lambda root: None, None, FileNotFoundError, "does not exist"),
        (lambda root: scenes_folder(root, count=3), "classification", ValueError,
         "holds images/ and masks/, a segmentation layout"),
        (lambda root: mnist_folder(root, per_class=1), "segmentation", ValueError,
         "a segmenter needs an images/ and a masks/ folder"),
    ],
    ids=["empty", "no-class-folders", "empty-class", "missing", "masks-for-classifier", "classes-for-segmenter"],
)
def test_bad_folders_are_one_clear_sentence(tmp_path, make, task, error, match):
    root = str(tmp_path / "data")
    make(root)
    with pytest.raises(error, match=match):
        load_data(root, task=task)


def test_segmentation_folder_reads_masks_and_class_names(tmp_path):
    folder = scenes_folder(str(tmp_path / "scenes"), count=9)
    spec = load_data(folder, validation_split=0)
    assert spec.task == "segmentation" and spec.class_names == ["background", *DIGIT_NAMES]
    x, y = batches(spec.dataset("train", batch_size=4, shuffle=False))
    assert x.shape == (9, 32, 32, 1) and y.shape == (9, 32, 32) and y.dtype == np.int32
    import tensorflow as tf

    mask = tf.io.decode_png(tf.io.read_file(os.path.join(folder, "masks", "s000.png"))).numpy()[..., 0]
    assert np.array_equal(y[0], mask) and set(np.unique(y)) <= {0, 1, 2, 3}
    # Resized masks keep class ids (nearest neighbour), never blends of them.
    small = load_data(folder, image_size=(20, 24), validation_split=0)
    _, y_small = batches(small.dataset("train", batch_size=9))
    assert y_small.shape == (9, 20, 24) and set(np.unique(y_small)) <= {0, 1, 2, 3}


def test_segmentation_without_class_file_counts_classes_from_the_masks(tmp_path):
    folder = scenes_folder(str(tmp_path / "scenes"), count=6, with_names=False)
    spec = load_data(folder, task="segmentation")
    assert spec.num_classes == 4 and spec.class_names == ["0", "1", "2", "3"]
    assert "4 classes from the largest mask value" in spec.description


@pytest.mark.parametrize("damage, match", [
    ("remove-mask", r"image .*s001\.png has no mask \(looked for .*masks.*s001\.png\)"),
    ("remove-image", r"mask .*s001\.png has no image of the same file stem"),
    ("few-classes", r"mask .*masks.*\.png has class id [23], past the 2 classes \(classes\.txt lists 2, ids 0\.\.1\)"),
    ("colour-mask", r"mask .*s000\.png is a colour image; save each mask as a single-channel PNG"),
    ("mask-size", r"image .*s000\.png is 32x32 but its mask .*s000\.png is 16x16"),
])
def test_bad_masks_are_one_clear_sentence(tmp_path, damage, match):
    folder = scenes_folder(str(tmp_path / "scenes"), count=4)
    if damage == "remove-mask":
        os.remove(os.path.join(folder, "masks", "s001.png"))
    elif damage == "remove-image":
        os.remove(os.path.join(folder, "images", "s001.png"))
    elif damage == "few-classes":
        with open(os.path.join(folder, "classes.txt"), "w") as f:
            f.write("background\nzero\n")
    elif damage == "colour-mask":
        colour = np.zeros((32, 32, 3), np.uint8)
        colour[..., 0] = 1
        _write(os.path.join(folder, "masks", "s000.png"), colour)
    elif damage == "mask-size":
        _write(os.path.join(folder, "masks", "s000.png"), np.zeros((16, 16), np.uint8))
    with pytest.raises(ValueError, match=match):
        load_data(folder)


def test_split_folders_are_used_as_given(tmp_path):
    mnist_folder(str(tmp_path / "d" / "train"), per_class=3)
    mnist_folder(str(tmp_path / "d" / "test"), per_class=2, split="test")
    spec = load_data(str(tmp_path / "d"))
    assert spec.sizes() == {"train": 6, "validation": 3, "test": 6}
    assert spec.class_names == sorted(DIGIT_NAMES)
    mnist_folder(str(tmp_path / "only" / "train"), per_class=5)
    only = load_data(str(tmp_path / "only"))
    assert only.sizes() == {"train": 12, "validation": 3, "test": 3} and "validation split" in only.record["test_split"]
    mnist_folder(str(tmp_path / "other" / "train"), per_class=1)
    os.makedirs(str(tmp_path / "other" / "test" / "eleven"))
    _write(str(tmp_path / "other" / "test" / "eleven" / "1.png"), np.zeros((28, 28), np.uint8))
    with pytest.raises(ValueError, match="class folder 'eleven', which the training classes"):
        load_data(str(tmp_path / "other"))


def test_arrays_and_tf_data_from_python():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 12, 12, 3), dtype=np.uint8)
    y = np.arange(20) % 4
    spec = load_data((x, y), validation_split=0.25)
    assert spec.num_classes == 4 and spec.input_shape == (12, 12, 3) and spec.sizes()["validation"] == 4
    xb, yb = batches(spec.dataset("train", batch_size=32, shuffle=False))
    rows = {bytes(r) for r in x.reshape(20, -1)}  # every training image is one of the arrays', divided by 255
    assert all(bytes(np.round(r * 255).astype(np.uint8)) in rows for r in xb.reshape(len(xb), -1))
    assert len(xb) == 16 and set(yb) == {0, 1, 2, 3}
    dataset = tf.data.Dataset.from_tensor_slices((x.astype(np.float32) / 255, y)).batch(5)
    from_ds = load_data({"train": dataset, "validation": dataset}, image_size=(8, 8), channels=1)
    assert from_ds.input_shape == (8, 8, 1) and from_ds.num_classes == 4
    xd, _ = batches(from_ds.dataset("validation", batch_size=7))
    assert xd.shape == (20, 8, 8, 1)
    masks = load_data((x[..., 0], (x[..., 0] > 128).astype(np.int64)), validation_split=0)
    assert masks.task == "segmentation" and masks.num_classes == 2
    with pytest.raises(ValueError, match="20 images but 3 labels"):
        load_data((x, y[:3]))
    with pytest.raises(ValueError, match="holds classification data .* but a segmentation model needs"):
        load_data((x, y), task="segmentation")
    assert load_data(spec, task="classification") is spec and isinstance(spec, DataSpec)


def test_tfds_name_not_prepared_is_one_sentence(tmp_path):
    with pytest.raises(ValueError, match=r"data set mnist is not prepared under .*; kerasdil never downloads"):
        load_data("tfds:mnist", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="knows no data set 'no_such_data_set'"):
        load_data("tfds:no_such_data_set", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"has no config 'huge' \(its configs: default, small, tiny"):
        load_data("tfds:mnist_scenes:huge", data_dir=str(tmp_path))


@pytest.mark.slow
def test_tfds_mnist_scenes_goes_through_the_same_path(tmp_path, monkeypatch):
    monkeypatch.delenv("KERASDIL_DATA_DIR", raising=False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleDataWarning)
        spec = load_data("tfds:mnist_scenes:tiny", image_size=(32, 40))
    assert spec.task == "segmentation" and spec.num_classes == 11 and spec.class_names[0] == "background"
    assert spec.sizes() == {"train": 64, "validation": 16, "test": 32}
    x, y = batches(spec.dataset("test", batch_size=16))
    assert x.shape == (32, 32, 40, 1) and y.shape == (32, 32, 40) and 0 < y.max() <= 10
    assert spec.record["tfds"]["config"] == "tiny"


def test_bad_options_are_refused():
    x, y = np.zeros((4, 8, 8), np.uint8), np.array([0, 1, 0, 1])
    for kwargs, match in ((dict(resize="zoom"), "resize must be one of pad, crop, stretch"),
                          (dict(channels=2), "channels must be 1"),
                          (dict(validation_split=1.5), "validation_split must be a fraction"),
                          (dict(image_size="64"), "image_size must be two positive integers")):
        with pytest.raises(ValueError, match=match):
            load_data((x, y), **kwargs)
