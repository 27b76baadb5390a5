"""Tests for kerasdil.robustness and `kerasdil evaluate --corruptions`."""

import json
import warnings

import numpy as np
import pytest

from kerasdil.data import corrupt, load_mnist_arrays
from kerasdil.robustness import compare_robustness, evaluate_robustness, format_robustness


@pytest.fixture(scope="module")
def sample():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arrays = load_mnist_arrays("sample")
    return arrays.x_test[:48], arrays.y_test[:48]


@pytest.fixture(scope="module")
def model():
    from kerasdil.zoo import create_model

    return create_model("mnist_dsdc:mnist")


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, batch_size=256, verbose=0), -1) == y))  # as evaluate_robustness


def test_each_cell_is_the_accuracy_on_that_corruption(model, sample, tmp_path):
    x, y = sample
    result = evaluate_robustness(model, x, y, corruptions="gaussian_noise,rotation", severities=(1, 5), seed=3,
                                 verbose=0, out_dir=str(tmp_path))
    clean = x[..., None].astype(np.float32) / 255
    assert result["clean_accuracy"] == _accuracy(model, clean, y)
    assert result["accuracy"]["gaussian_noise"]["5"] == _accuracy(model, corrupt(clean, "gaussian_noise", 5, seed=3), y)
    cells = [a for by_level in result["accuracy"].values() for a in by_level.values()]
    assert len(cells) == 4 and result["mean_accuracy"] == pytest.approx(np.mean(cells))
    assert result["corruption_mean"]["rotation"] == pytest.approx(np.mean(list(result["accuracy"]["rotation"].values())))
    # Strong noise hurts a model trained on clean digits; this pins that corrupt() is applied at all.
    assert result["accuracy"]["gaussian_noise"]["5"] < result["clean_accuracy"]
    assert result["parameters"]["gaussian_noise"] == {"parameter": "sigma", "values": {"1": 0.08, "5": 0.38}}
    written = json.loads((tmp_path / "robustness.json").read_text())
    assert written["accuracy"] == result["accuracy"] and written["severities"] == [1, 5]
    assert (tmp_path / "robustness_examples.png").stat().st_size > 1000
    assert not [p for p in tmp_path.iterdir() if "tmp" in p.name]


def test_compare_scores_every_model_on_the_same_images(model, sample):
    x, y = sample
    both = compare_robustness({"a": model, "b": model}, x, y, "shift", (4,), verbose=0)
    alone = evaluate_robustness(model, x, y, "shift", (4,), verbose=0)
    assert both["a"]["accuracy"] == both["b"]["accuracy"] == alone["accuracy"]


def test_table_lists_every_cell(model, sample):
    x, y = sample
    text = format_robustness(evaluate_robustness(model, x, y, "fog,thick", "2,3", verbose=0))
    assert "sev 2" in text and "sev 3" in text and "fog" in text and "thick" in text
    assert "clean accuracy" in text and "mean over 2 corruptions x 2 severities" in text


def test_bad_arguments_are_one_sentence(model, sample):
    x, y = sample
    with pytest.raises(ValueError, match="unknown corruption 'nois'"):
        evaluate_robustness(model, x, y, "nois", verbose=0)
    with pytest.raises(ValueError, match="severity must be an integer from 1 to 5; got 0"):
        evaluate_robustness(model, x, y, "shift", (0,), verbose=0)
    with pytest.raises(ValueError, match="labels must be integer class ids, one per image"):
        evaluate_robustness(model, x, y[:3], "shift", verbose=0)


def test_a_segmenter_is_refused(sample):
    import keras

    pixels = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(3, 1)])  # a score per pixel
    with pytest.raises(ValueError, match="scores classifiers .* returns shape \\(48, 28, 28, 3\\)"):
        evaluate_robustness(pixels, *sample, "shift", verbose=0)


def test_cli_prints_the_table_and_writes_json_and_png(tmp_path, capsys):
    from kerasdil.cli import main

    out = tmp_path / "eval"
    argv = ["evaluate", "mnist_dsdc:mnist", "--data", "sample", "--limit", "40", "--out", str(out),
            "--corruptions", "gaussian_noise,shift", "--severities", "1,5"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(argv) == 0
    text = capsys.readouterr().out
    assert "clean accuracy" in text and "gaussian_noise" in text and "sev 5" in text
    assert "mean over 2 corruptions x 2 severities" in text
    result = json.loads((out / "robustness.json").read_text())
    assert result["samples"] == 40 and set(result["accuracy"]) == {"gaussian_noise", "shift"}
    assert set(result["accuracy"]["shift"]) == {"1", "5"}
    assert (out / "robustness_examples.png").exists() and (out / "eval_metrics.json").exists()
    assert "\r" not in text and "/5 " not in text  # captured (not a terminal): no progress bar over the 5 cells


@pytest.mark.parametrize("extra, message", [
    (["--corruptions", "gaussian_noise,blurr"], "unknown corruption 'blurr'; choose from: gaussian_noise"),
    (["--corruptions", "all", "--severities", "0,1"], "severity must be an integer from 1 to 5; got 0"),
    (["--corruptions", "all", "--corruption-limit", "0"], "--corruption-limit must be an integer >= 1"),
])
def test_cli_refuses_bad_corruption_arguments_with_exit_2(extra, message, tmp_path, capsys):
    from kerasdil.cli import main

    out = tmp_path / "never"
    assert main(["evaluate", "mnist_dsdc:mnist", "--data", "sample", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()
