"""The run engine (kerasdil.run): one path for train, finetune and search, and its guarantees.

Lock, resume after a kill (the window after the last epoch included), NaN stop and strict
JSON for train and finetune; the lock and the NaN guard for search; schedules sized by the
user's data; early stopping that ends with the best weights; channel-count transfer through
a decoder's image skip; a fresh head for other class names.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from _image_folders import mnist_folder

QUIET = dict(verbose=0, log=lambda *_: None)


def _strict_json(path):
    def refuse(token):
        raise ValueError(f"{path} holds the non-JSON token {token}")

    with open(path) as f:
        return json.load(f, parse_constant=refuse)


def _all_json_strict(folder):
    found = 0
    for root, _, files in os.walk(folder):
        for name in files:
            if name.endswith(".json"):
                _strict_json(os.path.join(root, name))
                found += 1
    return found


# ------------------------------------------------------------------ sized schedules


def test_small_data_gets_the_step_floor_and_says_why():
    from kerasdil.run import size_schedule

    schedule = size_schedule(num_train=400, batch_size=32, min_steps=1500, passes=30, num_validation=80)
    assert schedule.steps_per_epoch == 13
    assert schedule.epochs * 13 >= 1500 > (schedule.epochs - 1) * 13
    assert schedule.summary.startswith("400 images -> 1,508 steps (floor 1,500)")
    assert "early stopping on 80 validation images (val_loss" in schedule.summary
    assert "not before 1,500 steps" in schedule.summary and schedule.min_epochs == schedule.epochs
    assert schedule.patience == max(8, int(np.ceil(0.25 * schedule.epochs)))


def test_large_data_gets_passes_not_the_floor_and_no_validation_means_no_early_stopping():
    from kerasdil.run import size_schedule

    schedule = size_schedule(num_train=20000, batch_size=100, min_steps=1500, passes=30)
    assert (schedule.epochs, schedule.steps_per_epoch) == (30, 200)
    assert "(30 passes)" in schedule.summary and "no early stopping" in schedule.summary
    assert schedule.patience is None


def test_given_epochs_are_kept():
    from kerasdil.run import size_schedule

    schedule = size_schedule(num_train=400, batch_size=32, min_steps=1500, passes=30, epochs=3, num_validation=10)
    assert schedule.epochs == 3 and "3 epochs as given" in schedule.summary


def test_train_on_a_folder_sizes_the_run_by_steps_and_logs_why(tmp_path):
    from kerasdil.train import train

    folder = mnist_folder(str(tmp_path / "digits"), per_class=10)
    logs = []
    result = train("mnist_dsdc", out_dir=str(tmp_path / "run"), data=folder, epochs=2, verbose=0, log=logs.append,
                   model_kwargs={"width": 4})
    run = _strict_json(tmp_path / "run" / "run.json")
    assert run["batch_size"] == 16  # capped for 24 training images, not the recipe's 128
    assert run["early_stopping_patience"] == 8 and run["early_stopping_min_epochs"] == 2
    assert any("schedule: 24 images -> 4 steps (2 epochs as given)" in line for line in logs)
    assert result.metrics["epochs"] == 2


# ------------------------------------------------------------------ early stopping


def _tiny_model():
    import keras

    from kerasdil.run import compile_model
    from kerasdil.tasks import get_task

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10)])
    return compile_model(model, get_task("classification"), learning_rate=5e-2)


def _diverging_validation():
    """Validation labels that disagree with the training labels: val_loss is best after epoch 1."""
    import tensorflow as tf

    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = np.arange(64) % 10
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    val = tf.data.Dataset.from_tensor_slices((x, (y + 5) % 10)).batch(16)
    return train, val


def test_early_stopping_stops_and_ends_with_the_best_weights_also_when_called_again(tmp_path):
    from kerasdil.run import fit
    from kerasdil.tasks import get_task

    train, val = _diverging_validation()
    stopping = {"monitor": "val_loss", "mode": "min", "patience": 2}
    model = _tiny_model()
    history = fit(model, train, epochs=20, out_dir=str(tmp_path), task=get_task("classification"),
                  validation_data=val, early_stopping=stopping, keep_backup=True, **QUIET)
    losses = [h["val_loss"] for h in history]
    best = int(np.argmin(losses))
    assert len(history) == best + 1 + 2 < 20  # stopped after `patience` epochs without improvement
    assert model.evaluate(val, verbose=0, return_dict=True)["loss"] == pytest.approx(losses[best], rel=1e-5)
    assert losses[-1] > losses[best]

    # Killed before the run was saved: called again, it trains nothing more and ends with the same best weights.
    again = _tiny_model()
    history2 = fit(again, train, epochs=20, out_dir=str(tmp_path), task=get_task("classification"),
                   validation_data=val, early_stopping=stopping, keep_backup=True, **QUIET)
    assert history2 == history
    for a, b in zip(model.weights, again.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_early_stopping_waits_for_the_floor_and_still_keeps_the_best_epoch(tmp_path):
    from kerasdil.run import fit
    from kerasdil.tasks import get_task

    train, val = _diverging_validation()
    model = _tiny_model()
    history = fit(model, train, epochs=20, out_dir=str(tmp_path), task=get_task("classification"),
                  validation_data=val, early_stopping={"monitor": "val_loss", "mode": "min", "patience": 2,
                                                       "min_epochs": 9}, **QUIET)
    losses = [h["val_loss"] for h in history]
    assert len(history) == 9  # patience ran out long before, but the floor holds it to 9 epochs
    assert model.evaluate(val, verbose=0, return_dict=True)["loss"] == pytest.approx(min(losses), rel=1e-5)
    assert not os.path.exists(os.path.join(str(tmp_path), "backup"))  # a direct fit cleans up after itself


# ------------------------------------------------------------------ resume after the last epoch


class _KillAfterTraining(Exception):
    pass


def _interrupt_after_training(monkeypatch):
    """Raise once where a run has trained every epoch but written neither its test scores nor its model."""
    import kerasdil.plots

    real = kerasdil.plots.plot_history
    calls = []

    def killed(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise _KillAfterTraining
        return real(*args, **kwargs)

    monkeypatch.setattr(kerasdil.plots, "plot_history", killed)


def _train_run(out, folder):
    from kerasdil.train import train

    return train("mnist_dsdc", out_dir=out, data=folder, epochs=2, model_kwargs={"width": 4}, **QUIET)


def _finetune_run(out, folder):
    from kerasdil.finetune import finetune

    return finetune("mnist_dsdc", "mnist_dsdc:mnist", out_dir=out, data=folder, epochs=2, head_epochs=1, **QUIET)


@pytest.mark.slow
@pytest.mark.parametrize("run", [_train_run, _finetune_run], ids=["train", "finetune"])
def test_a_kill_after_the_last_epoch_resumes_without_training_again(tmp_path, monkeypatch, run):
    folder = mnist_folder(str(tmp_path / "digits"), per_class=8)
    out = str(tmp_path / "run")
    _interrupt_after_training(monkeypatch)
    with pytest.raises(_KillAfterTraining):
        run(out, folder)
    assert not os.path.exists(os.path.join(out, "model.keras"))
    states = [os.path.join(r, "state.json") for r, _, files in os.walk(out) if "state.json" in files]
    assert states, "the resume state must outlive the last epoch"
    history = _strict_json(os.path.join(out, "history.json"))
    result = run(out, folder)  # the same command again
    assert _strict_json(os.path.join(out, "history.json")) == history  # no epoch was trained again
    assert result.metrics["epochs"] == 2
    assert not any("backup" in dirs for _, dirs, _ in os.walk(out))  # removed once the model is saved
    assert not os.path.exists(os.path.join(out, "train.lock"))
    assert _all_json_strict(out) >= 4


# ------------------------------------------------------------------ lock and NaN for every path


def _held_lock(out):
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "train.lock"), "w") as f:
        f.write(f"{owner.pid} {socket.gethostname()}\n")
    return owner


def test_finetune_takes_the_run_lock(tmp_path):
    from kerasdil.finetune import finetune

    folder = mnist_folder(str(tmp_path / "digits"), per_class=4)
    out = str(tmp_path / "run")
    owner = _held_lock(out)
    try:
        with pytest.raises(FileExistsError, match=f"pid {owner.pid}"):
            finetune("mnist_dsdc", "mnist_dsdc:mnist", out_dir=out, data=folder, epochs=1, head_epochs=1, **QUIET)
        assert os.listdir(out) == ["train.lock"]
    finally:
        owner.kill()
        owner.wait()


def test_search_takes_the_run_lock(tmp_path):
    from kerasdil.tune import search

    owner = _held_lock(str(tmp_path / "mnist_dsdc"))
    try:
        with pytest.raises(FileExistsError, match=f"pid {owner.pid}"):
            search("mnist_dsdc", directory=str(tmp_path), tuner="random", max_trials=1, epochs=1, data="sample",
                   limit=64, **QUIET)
    finally:
        owner.kill()
        owner.wait()


def test_finetune_rejects_a_boolean_learning_rate(tmp_path):
    from kerasdil.finetune import finetune

    with pytest.raises(ValueError, match="finetune_learning_rate"):
        finetune("mnist_dsdc", out_dir=str(tmp_path / "x"), finetune_learning_rate=True, data="sample", **QUIET)
    assert not (tmp_path / "x").exists()


def test_a_diverging_finetune_stops_with_a_clear_error_and_strict_json(tmp_path):
    from kerasdil.finetune import finetune
    from kerasdil.run import TrainingDiverged

    folder = mnist_folder(str(tmp_path / "digits"), per_class=8)
    out = str(tmp_path / "run")
    with pytest.raises(TrainingDiverged, match="training diverged"):
        finetune("mnist_dsdc", "mnist_dsdc:mnist", out_dir=out, data=folder, epochs=2, head_epochs=1,
                 learning_rate=1e30, **QUIET)
    assert not os.path.exists(os.path.join(out, "model.keras"))
    _all_json_strict(out)


def test_a_diverging_search_trial_fails_instead_of_scoring_nan(tmp_path):
    from kerasdil.tune import search

    result = search("mnist_dsdc", directory=str(tmp_path), tuner="random", max_trials=1, epochs=1, data="sample",
                    limit=64, learning_rate=1e30, **QUIET)
    assert result.best is None
    assert set(result.trials.values()) == {"FAILED"}
    assert not os.path.exists(os.path.join(result.project_dir, "train.lock"))


# ------------------------------------------------------------------ transfer


def test_a_grayscale_segmenter_transfers_to_rgb_through_its_image_skip():
    from kerasdil.finetune import HEAD_LAYER_NAMES, transfer_backbone
    from kerasdil.zoo import deeplab_aspp

    gray = deeplab_aspp(weights="scenes_varied", input_shape=(48, 48, 1))
    rgb = deeplab_aspp(input_shape=(48, 48, 3))
    report = transfer_backbone("deeplab_aspp:scenes_varied", rgb, adapt_input_channels=True,
                               head_layers=HEAD_LAYER_NAMES)
    assert "refine_conv/depthwise/kernel" in report.adapted and "refine_conv/pointwise/kernel" in report.adapted
    x = np.random.default_rng(0).random((2, 48, 48, 1)).astype("float32")
    # An RGB image whose channels hold the gray values gives the grayscale model's output.
    np.testing.assert_allclose(rgb.predict(np.repeat(x, 3, -1), verbose=0), gray.predict(x, verbose=0), atol=1e-4)


def test_finetune_from_a_run_onto_other_class_names_trains_a_new_head(tmp_path):
    from kerasdil.finetune import finetune
    from kerasdil.train import train

    first = mnist_folder(str(tmp_path / "a"), per_class=6)
    other = str(tmp_path / "b")
    for name in os.listdir(first):  # the same images under other class names
        os.makedirs(os.path.join(other, "class_" + name))
        for image in os.listdir(os.path.join(first, name)):
            os.link(os.path.join(first, name, image), os.path.join(other, "class_" + name, image))
    source = train("mnist_dsdc", out_dir=str(tmp_path / "src"), data=first, epochs=1, model_kwargs={"width": 4},
                   **QUIET)
    logs = []
    result = finetune("mnist_dsdc", os.path.join(source.out_dir, "model.keras"), out_dir=str(tmp_path / "ft"),
                      data=other, epochs=2, head_epochs=1, model_kwargs={"width": 4}, verbose=0, log=logs.append)
    assert result.metrics["new_head"] == ["classifier"]
    assert "classifier" not in result.metrics["transferred_layers"]
    assert any(line.startswith("phase 1") and "frozen" in line for line in logs)
    history = result.history
    assert history[0]["phase"] == "head" and history[0]["loss"] > 0
    # On the user's data the all-layers phase runs at the data recipe's floor, not MNIST's 1e-4.
    assert _strict_json(tmp_path / "ft" / "run.json")["finetune_learning_rate"] == 1e-3
    # The same class names in the same order: the source's head is kept.
    same = finetune("mnist_dsdc", os.path.join(source.out_dir, "model.keras"), out_dir=str(tmp_path / "same"),
                    data=first, epochs=2, head_epochs=1, model_kwargs={"width": 4}, verbose=0, log=logs.append)
    assert same.metrics["new_head"] == [] and "classifier" in same.metrics["transferred_layers"]


def test_finetune_from_a_zoo_tag_onto_a_folder_of_as_many_classes_trains_a_new_head(tmp_path):
    """MNIST's ten outputs say nothing about which of a folder's ten (alphabetical) classes is which."""
    from kerasdil.finetune import finetune

    from _image_folders import _write, mnist_digits

    names = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    data = str(tmp_path / "digits")
    for i, (image, label) in enumerate(zip(*mnist_digits(2, classes=10))):
        _write(os.path.join(data, names[label], f"{i:03d}.png"), image)
    result = finetune("mnist_dsdc", "mnist_dsdc:mnist", out_dir=str(tmp_path / "ft"), data=data, epochs=2,
                      head_epochs=1, batch_size=8, **QUIET)
    assert result.metrics["new_head"] == ["classifier"] and "classifier" not in result.metrics["transferred_layers"]
    assert result.metrics["transferred_layers"] == ["stem", "stage2"]
