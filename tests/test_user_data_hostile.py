"""The command line on hostile input: exit 2 with one sentence and nothing written, or a right, stated result."""

import os

import numpy as np
import pytest

from _image_folders import _write, mnist_digits, mnist_folder
from kerasdil.cli import build_parser, main


def _error(capsys, command):
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err and err[-1].startswith(f"kerasdil {command}: error: "), err
    assert not any("Traceback" in line for line in err)
    return err[-1]


@pytest.mark.parametrize("argv, message", [
    (["--limit", "0"], "--limit must be an integer >= 1"),
    (["--validation-split", "0.99"], "validation_split=0.99 holds back all 12 images"),
    (["--image-size", "100000,100000"], "of memory available; choose a smaller size"),
])
def test_train_refuses_data_options_that_leave_nothing_or_cannot_fit(tmp_path, capsys, argv, message):
    data = mnist_folder(str(tmp_path / "digits"), per_class=4)
    out = str(tmp_path / "run")
    assert main(["train", "mnist_dsdc", "--data", data, "--out", out, "--epochs", "1", *argv]) == 2
    assert message in _error(capsys, "train")
    assert not os.path.exists(out)


def test_train_refuses_a_folder_of_one_class(tmp_path, capsys):
    data = mnist_folder(str(tmp_path / "digits"), per_class=4, classes=1)
    out = str(tmp_path / "run")
    assert main(["train", "mnist_dsdc", "--data", data, "--out", out, "--epochs", "1"]) == 2
    assert "holds only the class 'zero'" in _error(capsys, "train") and not os.path.exists(out)


@pytest.mark.slow  # decodes four 12-megapixel images
def test_train_refuses_a_batch_of_large_images_that_cannot_fit(tmp_path, capsys):
    for name in ("a", "b"):
        for i in range(2):
            _write(str(tmp_path / "big" / name / f"{i}.png"), np.zeros((3000, 4000), np.uint8))
    out = str(tmp_path / "run")
    assert main(["train", "mnist_dsdc", "--data", str(tmp_path / "big"), "--out", out, "--epochs", "1",
                 "--batch-size", "4096"]) == 2
    message = _error(capsys, "train")
    assert "training 'mnist_dsdc' on 3000x4000x1 inputs in batches of 4096 needs about" in message
    assert "--image-size 384,512" in message and not os.path.exists(out)


def test_evaluate_refuses_limit_0_and_a_canvas_that_cannot_fit(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "mnist_dsdc:mnist", "--data", "sample", "--limit", "0"]) == 2
    assert "--limit must be an integer >= 1" in _error(capsys, "evaluate")
    assert main(["evaluate", "deeplab_aspp:scenes", "--data", "sample", "--canvas", "4000,4000"]) == 2
    message = _error(capsys, "evaluate")
    assert "running 'deeplab_aspp' on 4000x4000x1 inputs in batches of 256 needs about" in message
    assert "use --batch-size" in message and not os.path.exists("runs")


def test_evaluate_reads_a_folder_of_some_digits_by_name_and_each_tag_has_its_own_folder(tmp_path, capsys,
                                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    x, y = mnist_digits(3, classes=3, split="test")
    for i, (image, label) in enumerate(zip(x, y)):
        _write(str(tmp_path / "digits" / str(label) / f"{i}.png"), image)
    for tag in ("mnist", "mnist_w18"):
        assert main(["evaluate", f"mnist_dsdc:{tag}", "--data", str(tmp_path / "digits"), "--limit", "5"]) == 0
        out = capsys.readouterr().out
        assert "holds 3 of the 10 classes (0, 1, 2)" in out and "--limit 5 keeps 5 of 9 test images" in out
        assert "3: n/a" in out  # a class without images has no accuracy, not 0
        assert os.path.isfile(os.path.join("runs", f"eval-mnist_dsdc-{tag}", "eval_metrics.json"))


@pytest.mark.slow
def test_evaluate_a_run_on_a_folder_of_other_class_names_is_refused_with_both_lists(tmp_path, capsys):
    data = mnist_folder(str(tmp_path / "words"), per_class=4)  # one, two, zero
    run = str(tmp_path / "run")
    assert main(["train", "mnist_dsdc", "--data", data, "--out", run, "--epochs", "1", "--batch-size", "8"]) == 0
    out = capsys.readouterr().out
    assert "validation (held back; the data has no test split) accuracy" in out and " test accuracy" not in out
    x, y = mnist_digits(2, classes=3)
    for i, (image, label) in enumerate(zip(x, y)):
        _write(str(tmp_path / "numbers" / str(label) / f"{i}.png"), image)
    assert main(["evaluate", os.path.join(run, "model.keras"), "--data", str(tmp_path / "numbers")]) == 2
    message = _error(capsys, "evaluate")
    assert "the data's classes (0, 1, 2) are not all classes of the model (one, two, zero)" in message


def test_export_refuses_data_of_another_class_count(tmp_path, capsys):
    from kerasdil.zoo import mnist_dsdc

    model_path = str(tmp_path / "three.keras")
    mnist_dsdc(num_classes=3).save(model_path)
    data = mnist_folder(str(tmp_path / "five"), per_class=2, classes=3)
    _write(str(tmp_path / "five" / "three" / "0.png"), np.zeros((28, 28), np.uint8))
    _write(str(tmp_path / "five" / "four" / "0.png"), np.zeros((28, 28), np.uint8))
    out = str(tmp_path / "export")
    assert main(["export", model_path, "--data", data, "--out", out, "--format", "tflite", "--repeats", "0"]) == 2
    assert "the model predicts 3 classes but the data has 5 (four, one, three, two, zero)" in _error(capsys, "export")
    assert not os.path.exists(out)


def test_export_without_data_proves_on_the_sample_without_downloading(monkeypatch, tmp_path):
    import importlib

    from kerasdil.data import SampleDataWarning
    from kerasdil.export import ExportOptions, _data

    def no_download(data_dir, failures):
        raise AssertionError("export tried to download MNIST")

    monkeypatch.setattr(importlib.import_module("kerasdil.data.mnist"), "_download", no_download)
    monkeypatch.delenv("KERASDIL_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    with pytest.warns(SampleDataWarning) as record:
        samples = _data.resolve(ExportOptions(max_samples=16), model_name="mnist_dsdc", task="classification",
                                input_shape=(28, 28, 1), num_classes=10)
    assert len(record) == 1 and "using the embedded MNIST sample" in str(record[0].message)
    assert samples.x.shape == (16, 28, 28, 1) and "embedded sample" in samples.description


def test_sample_data_is_announced_once_by_the_data_line(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", "mnist_dsdc", "--data", "sample", "--out", out, "--epochs", "1", "--limit", "64"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("embedded sample") == 1 and "SampleDataWarning" not in captured.err
    assert "--limit 64 keeps 64 of 2,000 train and 64 of 500 test images" in captured.out


def test_progress_is_plain_lines_when_the_output_is_not_a_terminal(monkeypatch):
    import io
    import sys

    from kerasdil._cli._data import progress_verbosity

    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert progress_verbosity(False) == 2 and progress_verbosity(True) == 2


@pytest.mark.parametrize("command", ["train", "finetune", "evaluate"])
def test_every_flag_of_the_run_commands_has_help(command):
    parser = build_parser(only=command)
    sub = parser._subparsers._group_actions[0].choices[command]
    missing = [a.option_strings[0] for a in sub._actions if a.option_strings and not a.help]
    assert missing == []


def test_the_package_carries_the_license_it_declares():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "LICENSE")) as f:
        text = f.read()
    with open(os.path.join(root, "setup.cfg")) as f:
        declared = f.read()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "license = Apache-2.0" in declared


def test_export_matches_a_folder_to_the_models_classes_by_name(tmp_path, capsys):
    data = mnist_folder(str(tmp_path / "words"), per_class=2)  # one, two, zero: not MNIST's 0..9
    out = str(tmp_path / "export")
    assert main(["export", "mnist_dsdc:mnist", "--data", data, "--out", out, "--format", "tflite",
                 "--repeats", "0"]) == 2
    message = _error(capsys, "export")
    assert "the data's classes (one, two, zero) are not all classes of the model (0, 1, 2, 3" in message
    assert not os.path.exists(out)
