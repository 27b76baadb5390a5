"""Masks are read as their files store them: 1-bit and palette PNGs, binary 0/255 masks, an ignore value."""

import os

import numpy as np
import pytest
from PIL import Image

from kerasdil.data.masks import IGNORED, parse_class_lines, read_mask, value_table
from kerasdil.data.sources import load_data


def _pair(root, stem, mask, mode=None, image=None):
    """Write ``root/images/<stem>.png`` (a gray gradient) and ``root/masks/<stem>.png`` in PIL ``mode``."""
    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    os.makedirs(os.path.join(root, "masks"), exist_ok=True)
    h, w = mask.shape
    picture = image if image is not None else (np.arange(h * w).reshape(h, w) % 251).astype(np.uint8)
    Image.fromarray(picture).save(os.path.join(root, "images", f"{stem}.png"))
    if mode == "1":
        Image.fromarray(mask.astype(bool)).save(os.path.join(root, "masks", f"{stem}.png"))
    elif mode == "P":
        palette = Image.fromarray(mask.astype(np.uint8), mode="P")
        palette.putpalette([0, 0, 0, 200, 30, 30, 30, 200, 30] + [0] * (253 * 3))
        palette.save(os.path.join(root, "masks", f"{stem}.png"))
    else:
        Image.fromarray(mask.astype(np.uint8)).save(os.path.join(root, "masks", f"{stem}.png"))


def _masks(spec, split="train"):
    return np.concatenate([np.asarray(y) for _, y in spec.dataset(split, batch_size=8, shuffle=False)])


def _blocks(values, count=4, size=8):
    """``count`` masks of ``size``x``size`` whose quarters hold the given values (cycled)."""
    out = []
    for i in range(count):
        mask = np.zeros((size, size), np.uint8)
        for q, (r, c) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            mask[r * size // 2:(r + 1) * size // 2, c * size // 2:(c + 1) * size // 2] = values[(i + q) % len(values)]
        out.append(mask)
    return out


def test_one_bit_png_holding_1_reads_as_class_1_not_255(tmp_path):
    root = str(tmp_path / "seg")
    for i, mask in enumerate(_blocks([0, 1])):
        _pair(root, f"m{i}", mask, mode="1")
    assert Image.open(os.path.join(root, "masks", "m0.png")).mode == "1"
    assert set(np.unique(read_mask(os.path.join(root, "masks", "m0.png")))) == {0, 1}
    spec = load_data(root, validation_split=0)
    assert spec.num_classes == 2 and set(np.unique(_masks(spec))) == {0, 1}


def test_palette_png_reads_as_its_palette_indices(tmp_path):
    root = str(tmp_path / "seg")
    for i, mask in enumerate(_blocks([0, 1, 2])):
        _pair(root, f"m{i}", mask, mode="P")
    spec = load_data(root, validation_split=0)
    assert spec.num_classes == 3 and set(np.unique(_masks(spec))) == {0, 1, 2}


def test_masks_of_0_and_255_are_binary_and_the_data_line_says_so(tmp_path):
    root = str(tmp_path / "seg")
    for i, mask in enumerate(_blocks([0, 255])):
        _pair(root, f"m{i}", mask)
    spec = load_data(root, validation_split=0)
    assert spec.num_classes == 2 and spec.class_names == ["0", "1"]
    assert "binary masks" in spec.description and "read as classes 0 and 1" in spec.description
    assert set(np.unique(_masks(spec))) == {0, 1}


def test_255_among_class_ids_without_an_ignore_index_is_refused_not_254_phantom_classes(tmp_path):
    root = str(tmp_path / "seg")
    for i, mask in enumerate(_blocks([0, 1, 2, 255])):
        _pair(root, f"m{i}", mask)
    with pytest.raises(ValueError, match=r"would be 256 classes, 252 of them never seen.*--ignore-index 255"):
        load_data(root)


@pytest.mark.parametrize("how", ["argument", "classes.txt"])
def test_an_ignore_index_labels_its_pixels_minus_1_and_keeps_the_class_count(tmp_path, how):
    root = str(tmp_path / "seg")
    masks = _blocks([0, 1, 2, 255])
    for i, mask in enumerate(masks):
        _pair(root, f"m{i}", mask)
    if how == "classes.txt":
        with open(os.path.join(root, "classes.txt"), "w") as f:
            f.write("background\ncat\ndog\nignore: 255\n")
        spec = load_data(root, validation_split=0)
        assert spec.class_names == ["background", "cat", "dog"]
    else:
        spec = load_data(root, validation_split=0, ignore_index=255)
        assert spec.class_names == ["0", "1", "2"]
    labels = _masks(spec)
    assert spec.num_classes == 3 and set(np.unique(labels)) == {IGNORED, 0, 1, 2}
    assert np.array_equal(labels == IGNORED, np.stack(masks) == 255)
    assert "mask value 255 is ignored in training and scoring" in spec.description
    assert spec.record["ignore_index"] == 255


def test_ignored_pixels_are_left_out_of_the_loss_and_the_scores():
    import keras

    from kerasdil.tasks import get_task

    task = get_task("segmentation")
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 4, 3)).astype("float32")
    labels = rng.integers(0, 3, size=(2, 4, 4)).astype("int32")
    ignored = labels.copy()
    ignored[:, :2] = IGNORED
    loss = float(task.loss()(ignored, logits))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = -np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    assert loss == pytest.approx(float(picked[:, 2:].mean()), rel=1e-5)
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.Identity()(inputs))
    data = [(logits, ignored)]
    scores = task.evaluate(model, data, class_names=["a", "b", "c"])
    assert scores["pixels"] == 2 * 2 * 4 and scores["loss"] == pytest.approx(loss, rel=1e-5)
    accuracy = task.metrics()[1]
    accuracy.update_state(ignored, logits)
    expected = float((logits.argmax(-1) == labels)[:, 2:].mean())
    assert float(accuracy.result()) == pytest.approx(expected)


def test_classes_file_ignore_line_and_bad_ignore_values_are_one_sentence(tmp_path):
    assert parse_class_lines(["bg", "fg", "ignore: 0"], "c.txt") == (["bg", "fg"], 0)
    with pytest.raises(ValueError, match="write the ignored mask value as 'ignore: 255'"):
        parse_class_lines(["bg", "ignore: all"], "c.txt")
    with pytest.raises(ValueError, match="ignore_index must be a mask value 0..255"):
        load_data(str(tmp_path), ignore_index=300)
    table, names, note = value_table({0, 1, 3}, names=None, ignore_index=None, num_classes=None)
    assert names == ["0", "1", "2", "3"] and "ids 2 never appear" in note and table[3] == 3


def test_mask_arrays_from_python_get_the_same_binary_and_ignore_rules():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(6, 8, 8)).astype(np.uint8)
    binary = np.stack(_blocks([0, 255], count=6))
    spec = load_data((x, binary), validation_split=0)
    assert spec.num_classes == 2 and "binary masks" in spec.description
    assert set(np.unique(_masks(spec))) == {0, 1}
    with_void = np.stack(_blocks([0, 1, 2, 255], count=6))
    with pytest.raises(ValueError, match="--ignore-index 255"):
        load_data((x, with_void))
    spec = load_data((x, with_void), validation_split=0, ignore_index=255)
    labels = _masks(spec)
    assert spec.num_classes == 3 and np.array_equal(labels == IGNORED, with_void == 255)
    with pytest.raises(ValueError, match="hold the value 2, past the 2 classes"):
        load_data((x, with_void), num_classes=2, ignore_index=255)


def test_a_segmenter_compiled_with_the_ignoring_metrics_loads_in_a_fresh_process(tmp_path):
    import subprocess
    import sys

    import keras

    from kerasdil.metrics import keras_metrics
    from kerasdil.tasks import get_task

    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(3, 1)(inputs))
    model.compile("adam", get_task("segmentation").loss(), metrics=keras_metrics(3))
    model.fit(np.zeros((2, 8, 8, 1)), np.full((2, 8, 8), IGNORED), verbose=0)
    path = str(tmp_path / "seg.keras")
    model.save(path)
    code = ("import numpy as np, kerasdil.layers, keras; m = keras.models.load_model(%r); "
            "y = np.zeros((1, 8, 8)); y[0, :4] = -1; "
            "print(m.compiled, sorted(m.evaluate(np.zeros((1, 8, 8, 1)), y, verbose=0, return_dict=True)))" % path)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True ['loss', 'mean_iou', 'pixel_accuracy']"
