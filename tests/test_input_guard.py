"""Bad input to layers, weights, the receptive-field tool and ``kerasdil evaluate``:
one clear sentence (exit 2 from the CLI), never a silent wrong result."""

import json
import os
import warnings

import numpy as np
import pytest

from kerasdil.data import SampleDataWarning

warnings.filterwarnings("ignore", category=SampleDataWarning)


def _main(*args):
    from kerasdil.cli import main

    return main(list(args))


# ------------------------------------------------------------------ layers


@pytest.mark.parametrize("block", ["DilatedConvBN", "SeparableDilatedConv"])
def test_a_block_built_for_one_channel_refuses_three(block):
    import kerasdil.layers as L

    layer = getattr(L, block)(4, dilation_rate=2, name="blk")
    layer(np.zeros((1, 8, 8, 1), np.float32))
    for training in (False, True):
        with pytest.raises(ValueError, match=r"'blk' \(%s\) was built for inputs with 1 channels but got 3" % block):
            layer(np.zeros((1, 8, 8, 3), np.float32), training=training)


def test_a_zoo_model_refuses_images_with_other_channels():
    from kerasdil.zoo import create_model

    model = create_model("mnist_dsdc", width=4)
    x = np.random.default_rng(0).random((2, 28, 28, 3), dtype=np.float32)
    for run in (lambda: model.predict(x, verbose=0), lambda: model(x), lambda: model.predict_on_batch(x)):
        with pytest.raises(ValueError, match="built for inputs with 1 channels but got 3"):
            run()
    assert model.predict(x[..., :1], verbose=0).shape == (2, 10)  # the right channels still work


def test_a_dilation_past_the_input_is_said_out_loud():
    from kerasdil.layers import DilatedConvBN, SeparableDilatedConv

    with pytest.warns(UserWarning, match=r"dilation_rate 1000000 is not smaller than the input's 28 pixels.*1x1"):
        SeparableDilatedConv(4, dilation_rate=10**6, name="far")(np.zeros((1, 28, 28, 4), np.float32))
    with pytest.raises(ValueError, match=r"spans 2000001 pixels, more than the input's 28.*'valid' padding"):
        DilatedConvBN(4, dilation_rate=10**6, padding="valid")(np.zeros((1, 28, 28, 1), np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a dilation inside the input stays silent
        SeparableDilatedConv(4, dilation_rate=13)(np.zeros((1, 28, 28, 4), np.float32))


# ------------------------------------------------------------------ receptive field


def test_rf_of_a_huge_schedule_is_refused_at_once(capsys):
    import time

    start = time.perf_counter()
    assert _main("rf", "1000000,2000000") == 2
    err = capsys.readouterr().err
    assert "6,000,001 x 6,000,001 pixels, too large for a coverage map" in err and err.count("\n") == 1
    assert time.perf_counter() - start < 5
    assert _main("rf", "1,2,5") == 0  # an ordinary schedule still answers


# ------------------------------------------------------------------ weights


def test_weights_with_nan_values_are_refused_and_nothing_is_loaded(tmp_path):
    from kerasdil.zoo import create_model
    from kerasdil.zoo.weights_io import save_weights

    model = create_model("mnist_dsdc", width=4)
    kernel = next(v for v in model.weights if v.path.endswith("kernel"))
    kernel.assign(np.full(kernel.shape, np.nan, np.float32))
    path = str(tmp_path / "nan.npz")
    save_weights(model, path)
    with pytest.raises(ValueError, match=f"hold {int(np.prod(kernel.shape))} NaN or infinite values in {kernel.path}"):
        create_model("mnist_dsdc", width=4, weights=path)


def test_a_text_file_as_weights_is_named_not_an_npz_and_never_invites_allow_pickle(tmp_path):
    from kerasdil.zoo import create_model

    path = tmp_path / "weights.npz"
    path.write_text("not weights at all\n")
    with pytest.raises(ValueError) as info:
        create_model("mnist_dsdc", width=4, weights=str(path))
    assert "is not an .npz weights file" in str(info.value) and "allow_pickle" not in str(info.value)


# ------------------------------------------------------------------ evaluate


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_classes=5), "outputs 5 classes but the data's labels go up to 9"),
    (dict(input_shape=(28, 28, 3)), "images are 28x28x1 but model 'mnist_dsdc' takes 28x28x3"),
    (dict(input_shape=(32, 32, 1)), "images are 28x28x1 but model 'mnist_dsdc' takes 32x32x1"),
])
def test_evaluate_of_a_model_that_does_not_fit_mnist_is_one_sentence(tmp_path, capsys, kwargs, message):
    from kerasdil.zoo import create_model

    path = tmp_path / "m.keras"
    create_model("mnist_dsdc", width=2, **kwargs).save(path)
    rc = _main("evaluate", str(path), "--data", "sample", "--limit", "40", "--out", str(tmp_path / "eval"))
    err = capsys.readouterr().err
    assert rc == 2 and message in err, err
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert not (tmp_path / "eval" / "eval_metrics.json").exists()


def test_evaluate_records_its_data_and_refuses_a_data_dir_without_mnist(tmp_path, capsys, monkeypatch):
    from kerasdil.zoo import create_model

    path = tmp_path / "m.keras"
    create_model("mnist_dsdc", width=2).save(path)
    assert _main("evaluate", str(path), "--data", "sample", "--limit", "40") == 0
    metrics = json.loads((tmp_path / "eval_metrics.json").read_text())
    assert metrics["data"].startswith("embedded sample")
    capsys.readouterr()

    monkeypatch.setenv("KERASDIL_DATA_DIR", str(tmp_path / "nowhere"))
    os.remove(tmp_path / "eval_metrics.json")
    assert _main("evaluate", str(path), "--limit", "40") == 2
    err = capsys.readouterr().err
    assert f"$KERASDIL_DATA_DIR is {tmp_path / 'nowhere'}, which does not exist" in err and "--data sample" in err
    assert not (tmp_path / "eval_metrics.json").exists()
