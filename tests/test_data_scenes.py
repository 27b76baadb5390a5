"""Tests for kerasdil.data.scenes (MNIST scenes), its tfds builder and the digits loader."""

import hashlib
import warnings

import numpy as np
import pytest

from kerasdil.data import MnistArrays, SampleDataWarning
from kerasdil.data.scenes import (
    SceneConfig,
    check_segmentation_arrays,
    jitter_scenes,
    load_scenes_arrays,
    make_scenes,
    mnist_scenes,
    resize_bilinear,
    segmentation_dataset,
)

TRAIN_INK, TEST_INK = 200, 250


def blob_digits(n, ink, seed):
    """n 28x28 'digits': a random filled rectangle of constant value `ink`."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        top, left = rng.integers(2, 10, size=2)
        x[i, top : top + rng.integers(8, 16), left : left + rng.integers(4, 14)] = ink
    return x


@pytest.fixture(scope="module")
def arrays():
    """Synthetic MNIST: every train digit has ink 200, every test digit ink 250."""
    return MnistArrays(
        x_train=blob_digits(120, TRAIN_INK, 1),
        y_train=(np.arange(120) % 10).astype(np.uint8),
        x_test=blob_digits(40, TEST_INK, 2),
        y_test=(np.arange(40) % 10).astype(np.uint8),
        source="synthetic",
    )


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def test_default_scene_shapes_and_classes(arrays):
    scenes = load_scenes_arrays("train", num_scenes=30, source=arrays)
    assert scenes.images.shape == scenes.masks.shape == (30, 64, 80)
    assert scenes.images.dtype == scenes.masks.dtype == np.uint8
    assert scenes.masks.max() <= 10
    assert scenes.digits.shape == (30, 3)
    counts = (scenes.digits >= 0).sum(1)
    assert counts.min() >= 1 and counts.max() <= 3


def test_same_seed_same_bytes(arrays):
    a = load_scenes_arrays("test", num_scenes=25, source=arrays, seed=7)
    b = load_scenes_arrays("test", num_scenes=25, source=arrays, seed=7)
    c = load_scenes_arrays("test", num_scenes=25, source=arrays, seed=8)
    assert digest(a.images, a.masks, a.digits) == digest(b.images, b.masks, b.digits)
    assert digest(a.images, a.masks) != digest(c.images, c.masks)


def test_scenes_train_uses_only_train_digits(arrays):
    train = load_scenes_arrays("train", num_scenes=40, source=arrays, validation_digits=20)
    val = load_scenes_arrays("validation", num_scenes=40, source=arrays, validation_digits=20)
    test = load_scenes_arrays("test", num_scenes=40, source=arrays)
    # Pixel values betray where the ink came from (train 200, test 250).
    assert set(np.unique(train.images)) <= {0, TRAIN_INK}
    assert set(np.unique(val.images)) <= {0, TRAIN_INK}
    assert set(np.unique(test.images)) <= {0, TEST_INK}
    # Train and validation scenes draw from disjoint parts of x_train.
    train_ids = set(train.digits[train.digits >= 0].tolist())
    val_ids = set(val.digits[val.digits >= 0].tolist())
    assert max(train_ids) < 100 <= min(val_ids)
    for scenes, pool in ((train, arrays.x_train), (test, arrays.x_test)):
        n, slot = np.argwhere(scenes.digits >= 0)[0]
        assert (scenes.images[n] == pool[scenes.digits[n, slot]].max()).any()


def test_mask_is_thresholded_ink_with_digit_classes(arrays):
    scenes = load_scenes_arrays("test", num_scenes=30, source=arrays, threshold=128)
    np.testing.assert_array_equal(scenes.masks > 0, scenes.images >= 128)
    for n in range(5):
        present = set(np.unique(scenes.masks[n])) - {0}
        labels = {int(arrays.y_test[i]) + 1 for i in scenes.digits[n] if i >= 0}
        assert present <= labels


def overlapping_pool():
    a = np.zeros((28, 28), np.uint8)
    a[4:20, 4:20] = 200  # digit 0 (class 1)
    b = np.zeros((28, 28), np.uint8)
    b[10:24, 10:24] = 250  # digit 1 (class 2)
    b[10:12, 10:12] = 100  # faint ink of b on top of a's strokes
    return np.stack([a, b]), np.array([0, 1], np.uint8)


@pytest.mark.parametrize(
    "policy, expected_overlap_class, expected_faint_class",
    [("max", 2, 1), ("occlude", 2, 0)],
)
def test_overlap_policy_decides_the_label(policy, expected_overlap_class, expected_faint_class):
    pool, labels = overlapping_pool()
    # A 28x28 canvas puts every digit at (0, 0); draw both digits, a first then b.
    for seed in range(50):
        images, masks, used = make_scenes(pool, labels, 1, canvas_size=(28, 28), digits_per_image=(2, 2),
                                          overlap=policy, seed=seed)
        if used[0].tolist() == [0, 1]:
            break
    else:
        pytest.fail("no seed drew digit a then digit b")
    assert masks[0, 15, 15] == expected_overlap_class  # both inked: b is brighter / on top
    assert masks[0, 10, 10] == expected_faint_class  # a bright under b's faint ink
    assert masks[0, 5, 5] == 1 and masks[0, 22, 22] == 2


def test_overlap_none_never_overlaps():
    pool, labels = overlapping_pool()
    images, masks, used = make_scenes(pool, labels, 20, canvas_size=(28, 28), digits_per_image=(2, 2),
                                      overlap="none", seed=0)
    assert ((used >= 0).sum(1) == 1).all()  # no room for a second digit on a 28x28 canvas


def test_scale_range_resizes_digits(arrays):
    scenes = load_scenes_arrays("test", num_scenes=20, source=arrays, scale_range=(0.5, 0.5),
                                digits_per_image=(1, 1), canvas_size=(40, 40))
    for image in scenes.images:
        rows, cols = np.flatnonzero(image.any(1)), np.flatnonzero(image.any(0))
        assert rows[-1] - rows[0] < 14 and cols[-1] - cols[0] < 14


def test_resize_bilinear_keeps_constant_images():
    np.testing.assert_array_equal(resize_bilinear(np.full((8, 8), 77, np.uint8), 20), np.full((20, 20), 77))


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(canvas_size=(20, 84)), "canvas_size"),
        (dict(overlap="blend"), "overlap"),
        (dict(threshold=0), "threshold"),
        (dict(digits_per_image=(3, 1)), "digits_per_image"),
        (dict(scale_range=(0, 1)), "scale_range"),
        (dict(unit_scale_share=1.5), "unit_scale_share"),
        (dict(unit_scale_share=True), "unit_scale_share"),
    ],
)
def test_bad_scene_parameters_are_clear_errors(kwargs, words):
    with pytest.raises(ValueError, match=words):
        SceneConfig(**kwargs)


def test_unknown_split_is_clear_error(arrays):
    with pytest.raises(ValueError, match="split must be one of"):
        load_scenes_arrays("dev", num_scenes=2, source=arrays)


def test_labels_outside_num_classes_are_clear_error():
    images = np.zeros((2, 8, 8), np.uint8)
    masks = np.zeros((2, 8, 8), np.uint8)
    masks[1, 3, 3] = 11
    with pytest.raises(ValueError, match=r"label 11, outside \[0, 11\)"):
        check_segmentation_arrays(images, masks, 11)
    with pytest.raises(ValueError, match="label -1"):
        check_segmentation_arrays(images, masks.astype(np.int8) - 1, 11)


def test_images_and_masks_of_different_sizes_are_clear_error():
    with pytest.raises(ValueError, match="differ in count or size"):
        segmentation_dataset(np.zeros((2, 8, 8), np.uint8), np.zeros((2, 8, 9), np.uint8), num_classes=11)


def test_mnist_scenes_pipeline_batches(arrays):
    ds = mnist_scenes("train", num_scenes=10, batch_size=4, source=arrays, canvas_size=(32, 48))
    images, masks = next(iter(ds))
    assert images.shape == (4, 32, 48, 1) and images.dtype.name == "float32"
    assert masks.shape == (4, 32, 48) and masks.dtype.name == "int32"
    assert float(images.numpy().max()) <= 1.0
    assert sum(int(x.shape[0]) for x, _ in ds) == 10


def test_tfds_builder_matches_numpy_scenes(arrays, tmp_path):
    import tensorflow_datasets as tfds

    from kerasdil.data.scenes_tfds import MnistScenesConfig

    mnist_file = tmp_path / "mnist.npz"
    np.savez(mnist_file, x_train=arrays.x_train, y_train=arrays.y_train, x_test=arrays.x_test, y_test=arrays.y_test)
    config = MnistScenesConfig(name="test_tiny", num_train=6, num_validation=3, num_test=5, canvas_size=(32, 48), seed=3)
    ds = tfds.load("mnist_scenes", split="test", data_dir=str(tmp_path / "tfds"),
                   builder_kwargs={"config": config, "mnist_source": str(mnist_file)})
    examples = sorted(tfds.as_numpy(ds), key=lambda e: e["index"])
    ref = load_scenes_arrays("test", num_scenes=5, source=arrays, seed=3, canvas_size=(32, 48))
    np.testing.assert_array_equal(np.stack([e["image"][..., 0] for e in examples]), ref.images)
    np.testing.assert_array_equal(np.stack([e["mask"][..., 0] for e in examples]), ref.masks)
    np.testing.assert_array_equal(np.stack([e["digits"] for e in examples]), ref.digits)
    # Prepared from one MNIST, the folder refuses to pose as another.
    with pytest.raises(Exception, match="was prepared from MNIST"):
        tfds.builder("mnist_scenes", data_dir=str(tmp_path / "tfds"), config=config, mnist_source="sample")


def test_digits_look_like_mnist_and_split_few_shot():
    from kerasdil.data.digits import few_shot_split, load_digits_arrays

    x, y = load_digits_arrays()
    assert x.shape == (1797, 28, 28) and x.dtype == np.uint8 and x.max() == 255
    assert not x[:, :4].any() and not x[:, :, -4:].any()  # a 20x20 digit centred as in MNIST
    train, test = few_shot_split(y, per_class=10, seed=0)
    assert len(train) == 100 and np.bincount(y[train]).tolist() == [10] * 10
    assert not set(train) & set(test) and len(train) + len(test) == 1797
    assert few_shot_split(y, 10, seed=0)[0].tolist() == train.tolist()


def test_sample_source_is_announced():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scenes = load_scenes_arrays("test", num_scenes=3, source="sample")
    assert scenes.is_sample and any(issubclass(w.category, SampleDataWarning) for w in caught)


def test_new_scenes_every_epoch(arrays):
    ds = mnist_scenes("train", num_scenes=6, batch_size=4, source=arrays, canvas_size=(32, 48),
                      new_scenes_every_epoch=True)
    assert int(ds.cardinality()) == 2
    first = np.concatenate([y.numpy() for _, y in ds])
    second = np.concatenate([y.numpy() for _, y in ds])
    fixed = load_scenes_arrays("train", num_scenes=6, source=arrays, canvas_size=(32, 48))
    np.testing.assert_array_equal(first, fixed.masks)  # the first pass is the fixed data set
    assert not np.array_equal(first, second)
    again = make_scenes(arrays.x_train[:110], arrays.y_train[:110], 6, canvas_size=(32, 48), epoch=1)[1]
    np.testing.assert_array_equal(second, again)  # and epoch e is make_scenes(epoch=e)
    # Scenes are tied to the epoch index at each epoch's start: not repeated onto one iterator.
    from kerasdil.data import repeat_epochs

    assert repeat_epochs(ds) == (ds, None)


def ink_box_sides(image):
    rows, cols = np.flatnonzero(image.any(1)), np.flatnonzero(image.any(0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_digit_boxes_grow_with_scale_and_scales_are_recorded(arrays):
    sides = {}
    for scale in (0.5, 1.0, 2.0):
        scenes = load_scenes_arrays("test", num_scenes=12, source=arrays, scale_range=(scale, scale),
                                    digits_per_image=(1, 1), canvas_size=(96, 96))
        np.testing.assert_allclose(scenes.scales[:, 0], round(28 * scale) / 28)
        box = int(round(28 * scale))
        for instances in scenes.instances:  # the pasted box: a box x box square marked 1
            assert (instances == 1).sum() == box * box and set(np.unique(instances)) == {0, 1}
        sides[scale] = np.mean([max(ink_box_sides(im)) for im in scenes.images])
    assert sides[0.5] < sides[1.0] < sides[2.0]
    assert sides[2.0] > 1.7 * sides[1.0]  # ink boxes scale with the digit


def test_varied_scenes_honour_canvas_digit_count_and_scale_range(arrays):
    scenes = load_scenes_arrays("test", num_scenes=40, source=arrays, scale_range=(0.5, 2.0),
                                digits_per_image=(1, 5), canvas_size=(96, 128))
    assert scenes.images.shape == scenes.masks.shape == scenes.instances.shape == (40, 96, 128)
    assert scenes.digits.shape == scenes.scales.shape == (40, 5)
    counts = (scenes.digits >= 0).sum(1)
    assert counts.min() >= 1 and counts.max() == 5
    np.testing.assert_array_equal(np.isnan(scenes.scales), scenes.digits < 0)
    present = scenes.scales[~np.isnan(scenes.scales)]
    assert present.min() >= 0.5 and present.max() <= 2.0 and present.max() - present.min() > 1.0
    scale_map = scenes.scale_map()
    assert not np.isnan(scale_map[scenes.masks > 0]).any()  # every stroke pixel knows its digit's scale
    assert np.isnan(scale_map[scenes.instances == 0]).all()


def test_unit_scale_share_mixes_standard_digits_into_varied_scenes(arrays):
    common = dict(num_scenes=60, source=arrays, scale_range=(0.5, 2.0), digits_per_image=(2, 3), canvas_size=(96, 96))
    plain = load_scenes_arrays("test", **common)
    mixed = load_scenes_arrays("test", unit_scale_share=0.5, **common)
    shares = [float(np.mean(s.scales[~np.isnan(s.scales)] == 1.0)) for s in (plain, mixed)]
    assert shares[0] < 0.05 and 0.35 < shares[1] < 0.8
    # Off (the default), the scenes and the recorded configuration are those made before the setting existed.
    same = load_scenes_arrays("test", unit_scale_share=0.0, **common)
    np.testing.assert_array_equal(same.images, plain.images)
    assert "unit_scale_share" not in SceneConfig().as_dict()
    assert SceneConfig(unit_scale_share=0.25).as_dict()["unit_scale_share"] == 0.25


def test_recording_instances_leaves_the_scenes_unchanged(arrays):
    common = dict(canvas_size=(64, 64), scale_range=(0.5, 2.0), digits_per_image=(1, 4), seed=5)
    plain = make_scenes(arrays.x_test, arrays.y_test, 10, split_index=2, **common)  # the test split's stream
    recorded = make_scenes(arrays.x_test, arrays.y_test, 10, split_index=2, return_instances=True, **common)
    for a, b in zip(plain, recorded[:3]):
        np.testing.assert_array_equal(a, b)
    again = load_scenes_arrays("test", num_scenes=10, source=arrays, **common)
    np.testing.assert_array_equal(again.scales, recorded[3])
    np.testing.assert_array_equal(again.instances, recorded[4])


def test_jitter_is_deterministic_bounded_and_mild(arrays):
    images = load_scenes_arrays("test", num_scenes=32, source=arrays, canvas_size=(40, 40)).images
    a = jitter_scenes(images, np.random.default_rng(1))
    b = jitter_scenes(images, np.random.default_rng(1))
    assert a.dtype == np.float32 and a.shape == images.shape
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 1
    clean = images / 255.0
    assert not np.allclose(a, clean)
    assert np.abs(a - clean).mean() < 0.2  # still the same scenes


def test_jittered_pipeline_and_its_errors(arrays):
    ds = mnist_scenes("train", num_scenes=4, batch_size=4, source=arrays, canvas_size=(32, 48),
                      new_scenes_every_epoch=True, jitter=True)
    images, masks = next(iter(ds))
    fixed = load_scenes_arrays("train", num_scenes=4, source=arrays, canvas_size=(32, 48))
    np.testing.assert_array_equal(masks.numpy(), fixed.masks)  # labels of the clean scenes
    assert images.dtype.name == "float32" and not np.allclose(images.numpy()[..., 0], fixed.images / 255.0)
    with pytest.raises(ValueError, match="new_scenes_every_epoch"):
        mnist_scenes("train", num_scenes=4, source=arrays, jitter=True)


def test_tfds_builder_records_scales_and_instances(arrays, tmp_path):
    import tensorflow_datasets as tfds

    from kerasdil.data.scenes_tfds import MnistScenes, MnistScenesConfig

    assert "varied" in [c.name for c in MnistScenes.BUILDER_CONFIGS]
    config = MnistScenesConfig(name="test_varied", num_train=2, num_validation=2, num_test=4, canvas_size=(64, 64),
                               digits_per_image=(1, 4), scale_range=(0.5, 2.0), seed=2)
    mnist_file = tmp_path / "mnist.npz"
    np.savez(mnist_file, x_train=arrays.x_train, y_train=arrays.y_train, x_test=arrays.x_test, y_test=arrays.y_test)
    ds = tfds.load("mnist_scenes", split="test", data_dir=str(tmp_path / "tfds"),
                   builder_kwargs={"config": config, "mnist_source": str(mnist_file)})
    examples = sorted(tfds.as_numpy(ds), key=lambda e: e["index"])
    ref = load_scenes_arrays("test", num_scenes=4, source=arrays, seed=2, canvas_size=(64, 64),
                             digits_per_image=(1, 4), scale_range=(0.5, 2.0))
    np.testing.assert_array_equal(np.stack([e["scales"] for e in examples]), ref.scales)
    np.testing.assert_array_equal(np.stack([e["instances"][..., 0] for e in examples]), ref.instances)
