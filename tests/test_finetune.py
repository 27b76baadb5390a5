"""Tests for kerasdil.finetune: backbone transfer, freezing, head swap, the recipe and its CLI."""

import json
import os

import numpy as np
import pytest

import keras

from kerasdil.finetune import (
    finetune,
    freeze_backbone,
    replace_head,
    transfer_backbone,
    unfreeze,
)
from kerasdil.zoo import deeplab_aspp, keras_io_convnet, mnist_dsdc

SMALL = (32, 48, 1)
# deeplab_aspp's DSDC backbone shares the layers of this classifier (mnist_dsdc:mnist_w18's architecture).
W18 = dict(width=18, stem="pool", stage_filters=None, dilation_schedule=((1, 2, 5), (1, 2, 3)))


@pytest.fixture(scope="module")
def source():
    keras.utils.set_random_seed(1)
    model = mnist_dsdc(**W18)
    # Distinct, recognisable values in every variable (BN statistics included).
    for i, v in enumerate(model.weights):
        v.assign(np.full(v.shape, 0.01 * (i + 1), "float32"))
    return model


def small_segmenter(**kwargs):
    return deeplab_aspp(input_shape=SMALL, **kwargs)


def test_transfer_backbone_copies_stage_weights(source):
    target = small_segmenter()
    before = {v.path: v.numpy().copy() for v in target.weights}
    report = transfer_backbone(source, target)
    assert report.layers == ["stem", "stage1", "stage2", "classifier"]
    src = {v.path: v.numpy() for v in source.weights}
    for v in target.weights:
        if v.path.split("/")[0] in report.layers:
            np.testing.assert_array_equal(v.numpy(), src[v.path].reshape(v.shape))
        else:
            np.testing.assert_array_equal(v.numpy(), before[v.path])
    assert "stage1/block2/depthwise/kernel" in report.copied
    assert any(p.startswith("stage1/block1/bn/moving_mean") for p in report.copied)
    # The Dense head became the 1x1 'classifier' conv (FCN-style).
    assert target.get_layer("classifier").kernel.shape[:2] == (1, 1) and report.source_not_used == []
    assert {"aspp", "stage3", "logits"} <= {p.split("/")[0] for p in report.target_not_copied}
    headless = small_segmenter()
    report = transfer_backbone(mnist_dsdc(include_top=False, **W18), headless)
    assert report.layers == ["stem", "stage1", "stage2"]
    assert "copied" in report.summary() and json.dumps(report.as_dict())


def test_transfer_refuses_shape_mismatch(source):
    target = small_segmenter(width=8)
    before = [v.numpy().copy() for v in target.weights]
    width = source.get_layer("stem").filters
    with pytest.raises(ValueError, match=rf"stem/\S+ has shape \((3, 3, 1, )?{width},?\) in 'mnist_dsdc' but \((3, 3, 1, )?8,?\)"):
        transfer_backbone(source, target)
    for v, b in zip(target.weights, before):  # nothing half-copied
        np.testing.assert_array_equal(v.numpy(), b)


def test_transfer_refuses_other_input_channels(source):
    with pytest.raises(ValueError, match="input channel"):
        transfer_backbone(source, deeplab_aspp(input_shape=(32, 48, 3)))


def test_transfer_without_matching_layers_is_clear_error():
    other = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, name="features")], name="other")
    with pytest.raises(ValueError, match="share no layer with weights"):
        transfer_backbone(other, small_segmenter())
    with pytest.raises(ValueError, match=r"classifier/kernel has shape \(1600, 10\) in 'keras_io_convnet'"):
        transfer_backbone(keras_io_convnet(), small_segmenter())
    with pytest.raises(ValueError, match="layer 'stage3' is not a layer"):
        transfer_backbone(mnist_dsdc(**W18), small_segmenter(), layers=["stage3"])


def test_transfer_selected_layers_only(source):
    target = small_segmenter()
    report = transfer_backbone(source, target, layers=["stage1"])
    assert report.layers == ["stage1"] and all(p.startswith("stage1/") for p in report.copied)


def test_freeze_backbone_and_unfreeze_from_layer():
    model = small_segmenter()
    frozen = freeze_backbone(model)
    assert frozen == ["stem", "pool1", "stage1", "pool2", "stage2", "pool3", "stage3", "stage4"]
    trainable = {v.path.split("/")[0] for v in model.trainable_weights}
    assert not trainable & set(frozen) and "aspp" in trainable
    unfrozen = unfreeze(model, from_layer="stage2")
    assert unfrozen[0] == "stage2" and "stage1" not in unfrozen
    trainable = {v.path.split("/")[0] for v in model.trainable_weights}
    assert "stage2" in trainable and "stage1" not in trainable
    unfreeze(model)
    assert len(model.trainable_weights) == len(model.weights) - len(model.non_trainable_weights)
    assert "stem" in {v.path.split("/")[0] for v in model.trainable_weights}
    with pytest.raises(ValueError, match="no layer 'stage9'"):
        unfreeze(model, from_layer="stage9")
    with pytest.raises(ValueError, match="no backbone layers"):
        freeze_backbone(keras_io_convnet())


@pytest.mark.parametrize("decoder", [True, False])
def test_replace_head_of_segmenter(decoder):
    model = small_segmenter(decoder=decoder)
    new = replace_head(model, 3)
    assert new.output_shape == (None, 32, 48, 3)
    assert new.get_layer("aspp") is model.get_layer("aspp")
    assert new.get_layer("logits") is not model.get_layer("logits")
    assert new(np.zeros((1, *SMALL), "float32")).shape == (1, 32, 48, 3)


def test_replace_head_of_classifier():
    model = mnist_dsdc()
    new = replace_head(model, 5)
    assert new.output_shape == (None, 5)
    assert new.get_layer("classifier").get_config()["activation"] == "softmax"
    with pytest.raises(ValueError, match="num_classes"):
        replace_head(model, 0)


@pytest.fixture(scope="module")
def mnist_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(60, 28, 28), dtype=np.uint8) * (rng.random((60, 28, 28)) > 0.8)
    y = (np.arange(60) % 10).astype(np.uint8)
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    np.savez(path, x_train=x[:48], y_train=y[:48], x_test=x[48:], y_test=y[48:])
    return str(path)


@pytest.fixture(scope="module")
def source_file(source, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("src") / "mnist_dsdc.keras")
    source.save(path)
    return path


def test_finetune_recipe_runs_two_phases_and_resumes(tmp_path, mnist_file, source_file, monkeypatch):
    import kerasdil.run

    out = str(tmp_path / "ft")
    logs = []
    kwargs = dict(out_dir=out, head_epochs=1, epochs=2, batch_size=8, data=mnist_file, limit=16, verbose=0,
                  log=logs.append, dataset_kwargs={"num_train": 16, "num_test": 8, "validation_size": 8, "canvas_size": (32, 48)},
                  model_kwargs={"input_shape": SMALL, "aspp_filters": 16, "decoder_filters": 16, "implementation": "keras"})
    # Interrupt the run when phase 2 starts (as a kill after phase 1 would).
    real_fit = kerasdil.run.fit
    calls = []

    def interrupted_fit(*args, **kw):
        calls.append(kw["out_dir"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_fit(*args, **kw)

    monkeypatch.setattr(kerasdil.run, "fit", interrupted_fit)
    with pytest.raises(KeyboardInterrupt):
        finetune("deeplab_aspp", source_file, **kwargs)
    assert not os.path.exists(os.path.join(out, "model.keras"))
    monkeypatch.setattr(kerasdil.run, "fit", real_fit)
    logs.clear()
    import kerasdil.data.scenes as scenes

    real_make, epochs_drawn = scenes.make_scenes, []

    def spy(*args, **kw):
        if "epoch" in kw:
            epochs_drawn.append(kw["epoch"])
        return real_make(*args, **kw)

    monkeypatch.setattr(scenes, "make_scenes", spy)
    result = finetune("deeplab_aspp", source_file, **kwargs)
    assert any("phase 1" in line and "already done" in line for line in logs)  # not trained again
    assert epochs_drawn == [1]  # the resumed phase 2 is epoch 1 of the run: its scenes, not epoch 0's again
    assert [h["phase"] for h in result.history] == ["head", "all"]
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert result.metrics["transferred_layers"] == ["stem", "stage1", "stage2", "classifier"]
    assert all(v.trainable for v in result.model.weights if "moving" not in v.path)
    for name in ("model.keras", "metrics.json", "history.json", "transfer.json", "curves.png", "overlays.png"):
        assert os.path.exists(os.path.join(out, name)), name
    # Other settings in the same folder are refused.
    with pytest.raises(ValueError, match="other settings"):
        finetune("deeplab_aspp", source_file, **{**kwargs, "epochs": 3})


def test_finetune_with_unmatched_source_writes_nothing(tmp_path, mnist_file):
    out = tmp_path / "ft"
    other = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, name="features")], name="other")
    with pytest.raises(ValueError, match="share no layer"):
        finetune("deeplab_aspp", other, out_dir=str(out), data=mnist_file, epochs=1, verbose=0,
                 log=lambda *_: None)
    assert not out.exists()  # not even an empty folder


def test_finetune_command_is_wired():
    from kerasdil.cli import build_parser

    args = build_parser(only="finetune").parse_args(
        ["finetune", "deeplab_aspp", "--from", "mnist_dsdc:mnist_w18", "--head-epochs", "1", "--epochs", "3"]
    )
    assert (args.model, args.source, args.head_epochs, args.epochs) == ("deeplab_aspp", "mnist_dsdc:mnist_w18", 1, 3)


def test_finetune_recipe_all_layers_phase_runs_at_2e_3():
    from kerasdil.finetune import finetune_recipe

    # The benchmark: 2e-3 reaches the scratch model's final mIoU at epoch 6 of 12 (1e-3: epoch 7).
    recipe = finetune_recipe("deeplab_aspp")
    assert recipe["finetune_learning_rate"] == 2e-3 and recipe["learning_rate"] == 3e-3


def test_finetune_makes_data_at_the_input_size_of_its_model_kwargs(tmp_path, mnist_file, source_file):
    out = str(tmp_path / "ft")
    result = finetune("deeplab_aspp", source_file, out_dir=out, head_epochs=1, epochs=1, batch_size=8, data=mnist_file,
                      limit=8, verbose=0, log=lambda *_: None,
                      dataset_kwargs={"num_train": 8, "num_test": 8, "validation_size": 8},
                      model_kwargs={"input_shape": [32, 44, 1], "output_stride": 4, "aspp_filters": 16,
                                    "decoder_filters": 16, "implementation": "keras"})
    assert "32x44" in result.metrics["data"]


def test_finetune_takes_trains_shared_options_with_trains_defaults():
    import inspect

    from kerasdil.finetune import finetune
    from kerasdil.train import SHARED_OPTIONS, train, train_options

    ours, theirs = inspect.signature(finetune).parameters, inspect.signature(train).parameters
    for name in SHARED_OPTIONS:  # shown by help() and inspect, with train's kind and default
        assert ours[name].kind is inspect.Parameter.KEYWORD_ONLY and ours[name].default == theirs[name].default, name
    assert list(ours)[:2] == ["name", "source"] and "compare_scratch" in ours
    assert train_options("finetune", {"seed": 3})[SHARED_OPTIONS.index("seed")] == 3
    with pytest.raises(TypeError, match="finetune\\(\\) got an unexpected keyword argument 'epoch'"):
        finetune("mnist_dsdc", out_dir="unused", epoch=3)  # a misspelt option fails as Python's own would
