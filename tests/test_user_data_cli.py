"""The user's own images through the command line: train -> evaluate -> export, finetune, tune, bad input.

The folders are written by the tests from real images: MNIST digits (the embedded
sample), scikit-learn's 8x8 digits and RGB crops of scikit-learn's sample photos.
"""

import json
import os

import numpy as np
import pytest

from kerasdil.cli import main
from tests._image_folders import DIGIT_NAMES, _write, digits_folder, mnist_folder, photo_folder, scenes_folder

pytestmark = pytest.mark.filterwarnings("ignore::kerasdil.data.SampleDataWarning",
                                        "ignore::kerasdil.zoo.weights_io.PartialWeightsWarning")


def read(path):
    with open(path) as f:
        return json.load(f)


def export_and_check(model_path, data, out, capsys, pass_data=True):
    """Export float32 and int8 TFLite, calibrated on ``data`` (given, or found from the run folder);
    the float32 file must match Keras."""
    code = main(["export", model_path, *(["--data", data] if pass_data else []), "--out", out, "--format", "tflite",
                 "--quantize", "float32,int8", "--repeats", "1", "--samples", "16"])
    report = read(os.path.join(out, "export_report.json"))
    # int8 on an all-but-untrained model may flip a near-tie (exit 1, report written); float32 may not.
    assert code in (0, 1), capsys.readouterr().err
    artifacts = {a["quantization"]: a for a in report["artifacts"]}
    assert artifacts["float32"]["passed"] and os.path.isfile(os.path.join(out, "model_int8.tflite"))
    assert data in report["data"] and "training samples" in report["data"]
    return report


@pytest.mark.slow
def test_digit_pngs_train_evaluate_export(tmp_path, capsys):
    data = mnist_folder(str(tmp_path / "digits"), per_class=6)
    digits_folder(data, per_class=2)  # scikit-learn's 8x8 digits among the 28x28 MNIST ones
    run = str(tmp_path / "run")
    assert main(["train", "mnist_dsdc", "--data", data, "--out", run, "--epochs", "1", "--batch-size", "8",
                 "--quiet"]) == 0
    record = read(os.path.join(run, "data.json"))
    assert record["class_names"] == sorted(DIGIT_NAMES) and record["input_shape"] == [28, 28, 1]
    assert record["splits"] == {"train": 18, "validation": 6, "test": 6} and "resized" in record["notes"][0]
    assert read(os.path.join(run, "run.json"))["data"] == data
    metrics = read(os.path.join(run, "metrics.json"))
    assert metrics["samples"] == 6 and set(metrics["per_class_accuracy"]) == set(DIGIT_NAMES)

    assert main(["evaluate", os.path.join(run, "model.keras")]) == 0  # the run's own test split
    scores = read(os.path.join(run, "eval_metrics.json"))
    assert scores["samples"] == 6 and scores["class_names"] == sorted(DIGIT_NAMES)
    assert scores["confusion_matrix"] == metrics["confusion_matrix"]
    assert os.path.isfile(os.path.join(run, "eval_confusion.png"))
    assert main(["evaluate", os.path.join(run, "model.keras"), "--data", data, "--out", str(tmp_path / "all")]) == 0
    assert read(str(tmp_path / "all" / "eval_metrics.json"))["samples"] == 24  # a folder given is evaluated whole

    export_and_check(os.path.join(run, "model.keras"), data, str(tmp_path / "export"), capsys)


@pytest.mark.slow
def test_rgb_photos_finetune_from_the_grayscale_zoo_weights(tmp_path, capsys):
    data = photo_folder(str(tmp_path / "photos"), per_class=6)
    run = str(tmp_path / "ft")
    assert main(["finetune", "mnist_dsdc", "--from", "mnist_dsdc:mnist", "--data", data, "--out", run,
                 "--epochs", "2", "--head-epochs", "1", "--batch-size", "4", "--image-size", "24,24", "--quiet"]) == 0
    transfer = read(os.path.join(run, "transfer.json"))
    assert transfer["adapted"] == ["stem/conv/kernel"] and transfer["new_head"] == ["classifier"]
    assert read(os.path.join(run, "data.json"))["input_shape"] == [24, 24, 3]
    assert main(["evaluate", os.path.join(run, "model.keras")]) == 0
    assert read(os.path.join(run, "eval_metrics.json"))["class_names"] == ["china", "flower"]


@pytest.mark.slow
def test_segmentation_folder_train_evaluate_export(tmp_path, capsys):
    data = scenes_folder(str(tmp_path / "scenes"), count=10)
    run = str(tmp_path / "seg")
    assert main(["train", "deeplab_aspp", "--data", data, "--out", run, "--epochs", "1", "--batch-size", "4",
                 "--quiet"]) == 0
    assert read(os.path.join(run, "data.json"))["class_names"] == ["background", *DIGIT_NAMES]
    assert main(["evaluate", os.path.join(run, "model.keras")]) == 0
    scores = read(os.path.join(run, "eval_metrics.json"))
    assert set(scores["per_class_iou"]) == {"background", *DIGIT_NAMES} and len(scores["confusion_matrix"]) == 4
    assert os.path.isfile(os.path.join(run, "eval_overlays.png"))
    # No --data: the run folder's data.json says what the model was trained on.
    export_and_check(os.path.join(run, "model.keras"), data, str(tmp_path / "export"), capsys, pass_data=False)


@pytest.mark.slow
def test_tune_searches_at_the_size_and_classes_of_the_data(tmp_path, capsys):
    data = photo_folder(str(tmp_path / "photos"), per_class=5)
    assert main(["tune", "mnist_dsdc", "--data", data, "--image-size", "16,16", "--dir", str(tmp_path / "tune"),
                 "--tuner", "random", "--max-trials", "1", "--epochs", "1", "--batch-size", "4", "--verbose", "0"]) == 0
    settings = read(str(tmp_path / "tune" / "mnist_dsdc" / "kerasdil_search.json"))["settings"]
    assert settings["input_shape"] == [16, 16, 3] and settings["num_classes"] == 2
    assert settings["data_options"] == {"image_size": [16, 16]}


@pytest.mark.parametrize("setup, argv, message", [
    (lambda root: os.makedirs(root), ["train", "mnist_dsdc"], "has no class subfolders and no images"),
    (lambda root: scenes_folder(root, count=3), ["train", "mnist_dsdc"], "a segmentation layout"),
    (lambda root: [scenes_folder(root, count=3), os.remove(os.path.join(root, "masks", "s001.png"))],
     ["train", "deeplab_aspp"], "s001.png has no mask"),
    (lambda root: [mnist_folder(root, per_class=2)], ["train", "mnist_dsdc", "--channels", "3",
                                                       "--model-kwargs", '{"num_classes": 7}'],
     "model_kwargs num_classes=7 but the data gives 3"),
    (lambda root: None, ["train", "mnist_dsdc", "--image-size", "20,20", "--data", "sample"],
     "apply to your own data"),
], ids=["empty-folder", "masks-for-classifier", "image-without-mask", "classes-disagree", "options-for-mnist"])
def test_bad_user_data_exits_2_with_one_sentence_and_leaves_no_run(tmp_path, capsys, setup, argv, message):
    root = str(tmp_path / "data")
    setup(root)
    out = str(tmp_path / "run")
    extra = [] if "--data" in argv else ["--data", root]
    assert main([*argv, *extra, "--out", out, "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("kerasdil train: error: ")
    assert not os.path.exists(out)


def test_tfds_not_prepared_exits_2_for_every_verb(tmp_path, capsys):
    data_dir = str(tmp_path / "tfds")
    for argv in (["train", "mnist_dsdc", "--out", str(tmp_path / "run")],
                 ["evaluate", "mnist_dsdc:mnist"],
                 ["export", "mnist_dsdc:mnist", "--out", str(tmp_path / "export"), "--format", "tflite"]):
        assert main([*argv, "--data", "tfds:mnist", "--data-dir", data_dir]) == 2
        err = capsys.readouterr().err
        assert "tensorflow-datasets data set mnist is not prepared under" in err and "never downloads" in err
    assert not os.path.exists(str(tmp_path / "run")) and not os.path.exists(str(tmp_path / "export"))


def test_evaluate_refuses_data_of_other_classes(tmp_path, capsys):
    data = photo_folder(str(tmp_path / "photos"), per_class=2)
    _write(os.path.join(data, "third", "x.png"), np.zeros((32, 32, 3), np.uint8))
    assert main(["evaluate", "mnist_dsdc:mnist", "--data", data]) == 2
    err = capsys.readouterr().err
    assert "the data's classes (china, flower, third) are not all classes of the model (0, 1, 2, 3" in err
    assert "matched by name" in err


@pytest.mark.slow
def test_train_on_numpy_arrays_from_python(tmp_path):
    from sklearn.datasets import load_digits

    from kerasdil.train import train

    digits = load_digits()
    keep = digits.target < 4
    x = np.round(digits.images[keep][:64] * (255 / 16)).astype(np.uint8)
    y = digits.target[keep][:64]
    result = train("mnist_dsdc", out_dir=str(tmp_path / "arrays"), data=(x, y), epochs=1, batch_size=16, verbose=0)
    assert result.model.input_shape == (None, 8, 8, 1) and result.model.output_shape == (None, 4)
    record = read(str(tmp_path / "arrays" / "data.json"))
    counts = np.bincount(y)
    assert record["kind"] == "in_memory" and record["splits"]["validation"] == int(np.round(counts * 0.2).sum())
    assert read(str(tmp_path / "arrays" / "run.json"))["data"].startswith("arrays x(64, 8, 8) uint8")
