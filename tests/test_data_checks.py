"""Hostile data and options end in one sentence before anything is allocated, or in a right, stated result."""

import os

import numpy as np
import pytest

from _image_folders import DIGIT_NAMES, _write, mnist_folder, scenes_folder
from kerasdil.data.checks import (
    check_class_names_agree,
    check_image_memory,
    check_limit,
    check_model_memory,
    describe_limit,
    estimate_model_bytes,
    large_image_note,
    match_class_names,
    readable_error,
)
from kerasdil.data.sources import UserDataWarning, load_data


@pytest.mark.parametrize("limit", [0, -3, 2.5, True, "10"])
def test_a_limit_that_keeps_no_image_is_refused(limit):
    with pytest.raises(ValueError, match=r"--limit must be an integer >= 1 \(the number of images or series to use\)"):
        check_limit(limit, "--limit")
    assert check_limit(None) is None and check_limit(7) == 7


def test_limit_says_what_it_keeps():
    text = describe_limit({"train": 2000, "validation": 200, "test": 500}, 50)
    assert text == "; --limit 50 keeps 50 of 2,000 train and 50 of 500 test images"
    assert describe_limit({"test": 12}, 100) == "; --limit 100 keeps 12 of 12 test images"
    assert describe_limit({"train": 10}, None) == ""


@pytest.mark.parametrize("split", [0.99, 0.9])
def test_a_validation_split_that_leaves_no_training_image_is_refused(tmp_path, split):
    folder = mnist_folder(str(tmp_path / "d"), per_class=4)
    with pytest.raises(ValueError, match=rf"validation_split={split:g} holds back all 12 images of .*d, leaving none"):
        load_data(folder, validation_split=split)


def test_a_validation_split_that_empties_one_class_names_the_class(tmp_path):
    folder = mnist_folder(str(tmp_path / "d"), per_class=4)
    for name in sorted(os.listdir(os.path.join(folder, "one")))[1:]:
        os.remove(os.path.join(folder, "one", name))  # "one" keeps a single image
    with pytest.raises(ValueError, match=r"holds back every image of class 'one' \(1 images\)"):
        load_data(folder, validation_split=0.6)


def test_a_segmentation_split_that_leaves_no_training_scene_is_refused(tmp_path):
    folder = scenes_folder(str(tmp_path / "s"), count=4)
    with pytest.raises(ValueError, match="holds back all 4 images"):
        load_data(folder, validation_split=0.9)


def test_a_folder_of_one_class_is_refused(tmp_path):
    folder = mnist_folder(str(tmp_path / "d"), per_class=3, classes=1)
    with pytest.raises(ValueError, match=r"holds only the class 'zero'; a model needs two classes or more"):
        load_data(folder)


@pytest.mark.parametrize("size", [(100000, 100000), "60000,80000"])
def test_an_image_size_that_cannot_fit_in_memory_is_refused_before_decoding(tmp_path, size):
    folder = mnist_folder(str(tmp_path / "d"), per_class=2)
    with pytest.raises(ValueError, match=r"per image, more than the .* of memory available; choose a smaller size "
                                         r"\(image_size, --image-size \d+,\d+\)"):
        load_data(folder, image_size=size)


def test_large_images_get_a_note_on_their_cost_and_a_size_to_try(tmp_path):
    for name in ("a", "b"):
        _write(str(tmp_path / "big" / name / "1.png"), np.zeros((1200, 1600), np.uint8))
    spec = load_data(str(tmp_path / "big"), validation_split=0)
    assert spec.input_shape == (1200, 1600, 1)
    assert "images are 1200x1600 (1.9 megapixels)" in spec.description
    assert "--image-size 384,512" in spec.description
    assert large_image_note(96, 96) is None
    with pytest.raises(ValueError, match="choose a smaller size"):
        check_image_memory((1000, 1000, 3), available=10_000_000)


def test_model_memory_is_estimated_from_its_layers_and_refused_with_a_batch_that_fits():
    import keras

    inputs = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    model = keras.Model(inputs, keras.layers.Conv2D(2, 1)(x), name="tiny")
    per_image = estimate_model_bytes(model, 1, training=True)
    # input, conv and logits outputs, 3 times for training, float32
    assert per_image == 3 * (64 * 64 * 3 + 64 * 64 * 8 + 64 * 64 * 2) * 4
    assert estimate_model_bytes(model, 10, training=True) == 10 * per_image
    assert estimate_model_bytes(model, 1, training=False) == 4 * 64 * 64 * 8 * 4
    check_model_memory(model, 32, training=True, available=64 * per_image)
    with pytest.raises(ValueError, match=r"training 'tiny' on 64x64x3 inputs in batches of 32 needs about .*; "
                                         r"use --batch-size 5"):
        check_model_memory(model, 32, training=True, available=5 * per_image + 1)


def test_an_unreadable_file_is_named_with_a_readable_reason(tmp_path):
    folder = mnist_folder(str(tmp_path / "d"), per_class=2)
    with open(os.path.join(folder, "one", "broken.jpg"), "wb") as f:
        f.write(b"not an image at all")
    with pytest.warns(UserDataWarning) as record:
        spec = load_data(folder, validation_split=0)
    message = str(record[0].message)
    assert "broken.jpg cannot be decoded (Unknown image file format)" in message
    assert "function_node" not in message and "[Op:" not in message and "function_node" not in spec.record["skipped"][0]
    assert readable_error(ValueError("{{function_node __wrapped__X}} Bad thing. [Op:X]")) == "Bad thing"


def test_every_file_in_a_folder_is_used_or_named(tmp_path):
    folder = mnist_folder(str(tmp_path / "d"), per_class=2)
    for name in ("zero/notes.txt", "one/scan.tiff", "README"):
        with open(os.path.join(folder, name), "w") as f:
            f.write("x")
    spec = load_data(folder, validation_split=0)
    assert "3 file(s) left out, not images in the folder layout" in spec.description
    assert "README, one/scan.tiff, zero/notes.txt" in spec.description
    assert sorted(os.path.basename(p) for p in spec.record["left_out"]) == ["README", "notes.txt", "scan.tiff"]
    seg = scenes_folder(str(tmp_path / "s"), count=4)
    with open(os.path.join(seg, "masks", "extra.txt"), "w") as f:
        f.write("x")
    assert "1 file(s) left out" in load_data(seg, validation_split=0).description


def test_without_a_test_split_the_data_line_says_scores_are_on_validation(tmp_path):
    spec = load_data(mnist_folder(str(tmp_path / "d"), per_class=5))
    assert "12 train / 3 validation; no test split: final scores are on the validation split" in spec.description


def test_classes_are_matched_by_name_never_by_position(tmp_path):
    folder = mnist_folder(str(tmp_path / "d"), per_class=2, classes=2)  # zero, one
    spec = load_data(folder, class_names=["two", "one", "zero"], validation_split=0)
    assert spec.class_names == ["two", "one", "zero"] and "holds 2 of the 3 classes (one, zero)" in spec.description
    labels = np.concatenate([y for _, y in spec.dataset("train", shuffle=False)])
    assert sorted(set(labels.tolist())) == [1, 2]
    with pytest.raises(ValueError, match=r"the data's classes \(one, zero\) are not all classes of the model "
                                         r"\(0, 1, 2\): one, zero are unknown to it"):
        load_data(folder, class_names=["0", "1", "2"])
    assert match_class_names(["1"], ["0", "1"]) == ["0", "1"]


def test_segmentation_class_names_must_agree_with_the_model(tmp_path):
    spec = load_data(scenes_folder(str(tmp_path / "s"), count=4), validation_split=0)
    check_class_names_agree(spec, ["background", *DIGIT_NAMES])
    with pytest.raises(ValueError, match=r"differ from the classes of model m \(bg, a, b, c\)"):
        check_class_names_agree(spec, ["bg", "a", "b", "c"], "model m")
    numbered = load_data(scenes_folder(str(tmp_path / "n"), count=4, with_names=False), validation_split=0)
    check_class_names_agree(numbered, ["background", "a", "b", "c"])  # ids without names: by id


def test_a_segmenter_of_one_class_is_refused():
    from kerasdil.zoo import deeplab_aspp

    with pytest.raises(ValueError, match=r"deeplab_aspp: `num_classes` must be 2 or more, got 1.*num_classes=2"):
        deeplab_aspp(num_classes=1)
