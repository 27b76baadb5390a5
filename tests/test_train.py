import json
import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "kerasdil.cli", *args], capture_output=True, text=True,
                          env=ENV, timeout=timeout, cwd=ROOT)


def test_short_training_run_learns_and_writes_artifacts(tmp_path):
    from kerasdil.train import train

    out = str(tmp_path / "run")
    result = train("mnist_dsdc", out_dir=out, epochs=3, batch_size=32, data="sample", limit=1800, model_kwargs={"width": 8},
                   verbose=0, log=lambda *_: None)
    losses = [h["loss"] for h in result.history]
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert losses[-1] < losses[0]
    assert result.metrics["accuracy"] > 0.3  # chance is 0.1; ~170 steps on 1,800 images
    for name in ("model.keras", "metrics.json", "history.json", "curves.png", "confusion.png", "run.json"):
        assert os.path.exists(os.path.join(out, name)), name
    assert not os.path.exists(os.path.join(out, "backup"))
    assert not [f for f in os.listdir(out) if ".tmp" in f]


def test_rerun_with_other_settings_is_refused(tmp_path):
    from kerasdil.train import train

    out = str(tmp_path / "run")
    train("mnist_dsdc", out_dir=out, epochs=1, data="sample", limit=256, model_kwargs={"width": 4}, verbose=0,
          log=lambda *_: None)
    with pytest.raises(ValueError, match="holds a run made with other settings \\(epochs differ\\)"):
        train("mnist_dsdc", out_dir=out, epochs=2, data="sample", limit=256, model_kwargs={"width": 4}, verbose=0)


def test_bad_training_arguments_are_clear_errors(tmp_path):
    from kerasdil.train import train

    with pytest.raises(ValueError, match="`epochs` must be a positive int, got 0"):
        train("mnist_dsdc", out_dir=str(tmp_path), epochs=0, data="sample")
    with pytest.raises(ValueError, match="unknown zoo model"):
        train("mnist_nope", out_dir=str(tmp_path), data="sample")
    with pytest.raises(ValueError, match="`weight_decay` must be a number >= 0, got -0.1"):
        train("mnist_dsdc", out_dir=str(tmp_path), weight_decay=-0.1, data="sample")
    with pytest.raises(ValueError, match="`label_smoothing` must be a number in \\[0, 1\\), got 1.0"):
        train("mnist_dsdc", out_dir=str(tmp_path), label_smoothing=1.0, data="sample")
    with pytest.raises(ValueError, match="unknown augmentation setting\\(s\\) 'shear'"):
        train("mnist_dsdc", out_dir=str(tmp_path), augment={"shear": 0.1}, data="sample")
    with pytest.raises(ValueError, match="augmentation settings apply to MNIST classifiers; 'deeplab_aspp'"):
        train("deeplab_aspp", out_dir=str(tmp_path), augment={"elastic_alpha": 17}, data="sample")
    with pytest.raises(ValueError, match="`augment` must be True, False or a dict"):
        train("mnist_dsdc", out_dir=str(tmp_path), augment="yes", data="sample")
    assert not os.listdir(tmp_path)


def test_weight_decay_label_smoothing_and_augmentation_reach_the_run(tmp_path):
    out = str(tmp_path / "run")
    r = cli("train", "mnist_dsdc", "--data", "sample", "--epochs", "1", "--limit", "256", "--out", out, "--quiet",
            "--weight-decay", "0.05", "--label-smoothing", "0.1", "--model-kwargs", '{"width": 4}',
            "--augmentation", '{"elastic_alpha": 17}')
    assert r.returncode == 0, r.stderr
    run = json.load(open(os.path.join(out, "run.json")))
    assert run["weight_decay"] == 0.05 and run["label_smoothing"] == 0.1
    assert run["augment"] == {"elastic_alpha": 17.0}
    # A fresh process with only the zoo imported loads the run compiled, loss included.
    code = ("import keras, kerasdil.zoo, sys; m = keras.models.load_model(sys.argv[1], safe_mode=True); "
            "print(type(m.loss).__name__, m.loss.label_smoothing, round(float(m.optimizer.weight_decay), 6))")
    r = subprocess.run([sys.executable, "-c", code, os.path.join(out, "model.keras")], env=ENV, cwd=str(tmp_path),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-3:] == ["SmoothedSparseCategoricalCrossentropy", "0.1", "0.05"]


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--teacher", "mnist_dsdc:mnist", "--model-kwargs", '{"width": 8}']],
                         ids=["plain", "distilled"])
def test_killed_training_resumes_from_last_completed_epoch(tmp_path, extra):
    out = str(tmp_path / "run")
    args = ["train", "mnist_dsdc", "--data", "sample", "--epochs", "3", "--batch-size", "8", "--limit", "1000",
            "--out", out, "--quiet", *extra]
    proc = subprocess.Popen([sys.executable, "-m", "kerasdil.cli", *args], env=ENV, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    history = os.path.join(out, "history.json")
    state = os.path.join(out, "backup", "state.json")
    deadline = time.time() + 240
    try:
        # Kill as soon as epoch 1 is backed up: the kill lands somewhere in epoch 2, or
        # (an epoch here is ~1 s) while epoch 2's history entry or backup is written.
        while time.time() < deadline:
            if os.path.exists(state) and json.load(open(state))["epoch"] == 1:
                break
            time.sleep(0.05)
        else:
            pytest.fail("first epoch did not finish in time")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    first_epoch = json.load(open(history))[0]
    resumed_at = json.load(open(state))["epoch"] + 1
    done = cli(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Epoch {resumed_at}/3" in done.stdout and "Epoch 1/3" not in done.stdout
    entries = json.load(open(history))
    assert [e["epoch"] for e in entries] == [1, 2, 3]
    assert entries[0] == first_epoch
    assert json.load(open(os.path.join(out, "metrics.json")))["epochs"] == 3


@pytest.mark.slow
def test_sigterm_stops_training_with_code_143_and_the_backup_resumes(tmp_path):
    out = str(tmp_path / "run")
    args = ["train", "mnist_dsdc", "--data", "sample", "--epochs", "3", "--batch-size", "8", "--limit", "1000",
            "--out", out, "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "kerasdil.cli", *args], env=ENV, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    state = os.path.join(out, "backup", "state.json")
    deadline = time.time() + 240
    try:
        while time.time() < deadline and not os.path.exists(state):
            time.sleep(0.05)
        assert os.path.exists(state), "first epoch did not finish in time"
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143 and "kerasdil: terminated" in output, output
    resumed_at = json.load(open(state))["epoch"] + 1
    done = cli(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Epoch {resumed_at}/3" in done.stdout and "Epoch 1/3" not in done.stdout
    assert f"{resumed_at - 1} of 3 epochs were done; continuing at epoch {resumed_at}" in done.stdout


def test_backup_cut_off_while_written_is_ignored_and_training_resumes(tmp_path):
    """A kill while an epoch's backup is written leaves a truncated HDF5 file; the
    resume must come from the last complete backup, not fail on that file."""
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model, fit

    class StopAtEpoch2(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    def model():
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10)])
        return compile_model(m, get_task("classification"), learning_rate=1e-2)

    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, np.arange(64) % 10)).batch(16)
    out = str(tmp_path / "run")
    first = model()
    with pytest.raises(KeyboardInterrupt):
        fit(first, data, epochs=3, out_dir=out, task=get_task("classification"), verbose=0, callbacks=[StopAtEpoch2()])
    backup = os.path.join(out, "backup")
    assert json.load(open(os.path.join(backup, "state.json"))) == {"epoch": 1, "weights": "epoch-1.weights.h5"}
    with open(os.path.join(backup, "epoch-2.weights.h5"), "wb") as f:
        f.write(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)  # the head of an HDF5 file, cut off
    second = model()  # fresh weights: everything must come from the backup
    restored = {}

    class Spy(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            restored.setdefault("epoch", epoch)
            restored.setdefault("weights", [w.copy() for w in self.model.get_weights()])
            restored.setdefault("iterations", int(self.model.optimizer.iterations))

    history = fit(second, data, epochs=3, out_dir=out, task=get_task("classification"), verbose=0, callbacks=[Spy()])
    assert restored["epoch"] == 1 and restored["iterations"] == 4  # optimizer state came back too
    for a, b in zip(restored["weights"], first.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [e["epoch"] for e in history] == [1, 2, 3]
    assert not os.path.exists(backup)

    # A run interrupted under Keras' own BackupAndRestore (kerasdil before this format) resumes too.
    legacy_out = str(tmp_path / "legacy")
    third = model()
    with pytest.raises(KeyboardInterrupt):
        third.fit(data, epochs=3, verbose=0, callbacks=[
            keras.callbacks.BackupAndRestore(os.path.join(legacy_out, "backup"), save_freq="epoch"), StopAtEpoch2()])
    restored.clear()
    fourth = model()
    history = fit(fourth, data, epochs=3, out_dir=legacy_out, task=get_task("classification"), verbose=0,
                  callbacks=[Spy()])
    assert restored["epoch"] == 1 and restored["iterations"] == 4
    for a, b in zip(restored["weights"], third.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [e["epoch"] for e in history] == [2, 3]  # that run kept no history file of its epoch 1


def test_cli_train_then_evaluate(tmp_path):
    out = str(tmp_path / "run")
    r = cli("train", "mnist_dsdc", "--data", "sample", "--epochs", "1", "--limit", "512", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout
    training_plot = open(os.path.join(out, "confusion.png"), "rb").read()
    r = cli("evaluate", os.path.join(out, "model.keras"), "--data", "sample", "--limit", "100")
    assert r.returncode == 0, r.stderr
    assert "accuracy" in r.stdout and "per-class accuracy" in r.stdout
    assert "UntrainedModelWarning" not in r.stderr
    metrics = json.load(open(os.path.join(out, "eval_metrics.json")))
    assert len(metrics["confusion_matrix"]) == 10 and metrics["samples"] == 100
    assert os.path.exists(os.path.join(out, "eval_confusion.png"))
    assert open(os.path.join(out, "confusion.png"), "rb").read() == training_plot  # training's plot is kept
    # A zoo name without a weights tag is a random model: evaluate says so.
    r = cli("evaluate", "mnist_dsdc", "--data", "sample", "--limit", "50", "--out", str(tmp_path / "bare"))
    assert r.returncode == 0, r.stderr
    assert "UntrainedModelWarning" in r.stderr and "mnist_dsdc:mnist_w18" in r.stderr


def test_cli_errors_are_one_clear_line():
    r = cli("train", "mnist_nope", "--data", "sample")
    assert r.returncode == 2 and "unknown zoo model 'mnist_nope'" in r.stderr and "Traceback" not in r.stderr
    r = cli("evaluate", "missing.keras")
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = cli("train", "mnist_dsdc", "--no-augment", "--augmentation", '{"max_zoom": 0}')
    assert r.returncode == 2 and "not allowed with argument" in r.stderr
    r = cli("train", "mnist_dsdc", "--augmentation", '{"max_zoom": -1}')
    assert r.returncode == 2 and "'max_zoom' must be a number >= 0; got -1" in r.stderr
    r = cli("frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_cli_zoo_list_and_info():
    r = cli("zoo", "list")
    assert r.returncode == 0 and "mnist_dsdc" in r.stdout and "keras_io_convnet" in r.stdout
    r = cli("zoo", "info", "mnist_dsdc")
    assert r.returncode == 0
    assert "params          13,514" in r.stdout and "gridding-free" in r.stdout


# --- segmentation: recipes, input size, resume ----------------------------------------------


@pytest.fixture(scope="module")
def scenes_mnist_file(tmp_path_factory):
    """A tiny MNIST file whose digits are bars (enough to compose scenes)."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = np.zeros((80, 28, 28), np.uint8)
    y = (np.arange(80) % 10).astype(np.uint8)
    for i, c in enumerate(y):
        x[i, 4 + c : 8 + c, 4:24] = rng.integers(180, 256)
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    np.savez(path, x_train=x[:60], y_train=y[:60], x_test=x[60:], y_test=y[60:])
    return str(path)


TINY_SEGMENTER = {"input_shape": [32, 32, 1], "width": 4, "aspp_filters": 8, "decoder_filters": 8,
                  "implementation": "keras"}


def test_segmenters_have_recipes_that_kerasdil_train_uses(tmp_path, monkeypatch, scenes_mnist_file):
    import kerasdil.run
    from kerasdil.cli import main
    from kerasdil.train import RECIPES, recipe

    assert recipe("deeplab_aspp") == RECIPES["deeplab_aspp"]
    assert {k: recipe("deeplab_aspp")[k] for k in ("epochs", "batch_size", "learning_rate", "augment")} == {
        "epochs": 12, "batch_size": 16, "learning_rate": 3e-3, "augment": True}
    # keras.io's U-Net example: Adam 1e-4, batch 32, 50 epochs, no augmentation.
    assert {k: recipe("unet_baseline")[k] for k in ("epochs", "batch_size", "learning_rate", "augment")} == {
        "epochs": 50, "batch_size": 32, "learning_rate": 1e-4, "augment": False}

    seen = {}

    def stop_before_fitting(model, train_data, **kw):
        seen.update(kw, batch=int(next(iter(train_data))[0].shape[0]), lr=float(model.optimizer.learning_rate))
        raise KeyboardInterrupt

    monkeypatch.setattr(kerasdil.run, "fit", stop_before_fitting)
    out = tmp_path / "run"
    assert main(["train", "deeplab_aspp", "--data", scenes_mnist_file, "--limit", "32", "--out", str(out)]) == 130
    run = json.loads((out / "run.json").read_text())
    assert (run["epochs"], run["batch_size"], run["learning_rate"], run["augment"]) == (12, 16, 3e-3, True)
    assert seen["epochs"] == 12 and seen["batch"] == 16
    assert seen["lr"] == pytest.approx(3e-3 / 10)  # the warm-up starts at a tenth of the peak


def test_train_makes_segmentation_data_at_the_model_input_size(tmp_path, scenes_mnist_file):
    from kerasdil.cli import main

    out = tmp_path / "run"
    kwargs = {**TINY_SEGMENTER, "input_shape": [32, 44, 1], "output_stride": 4}  # 44: divisible by 4 only
    argv = ["train", "deeplab_aspp", "--model-kwargs", json.dumps(kwargs), "--epochs", "1", "--batch-size", "8",
            "--limit", "8", "--data", scenes_mnist_file, "--out", str(out), "--quiet"]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert "32x44" in metrics["data"] and metrics["samples"] == 8


def test_data_of_another_size_than_the_model_is_refused_before_anything_is_written(tmp_path):
    from kerasdil.train import train

    out = tmp_path / "run"
    # A classifier's data come at MNIST's size whatever the model asks for.
    with pytest.raises(ValueError, match="images are 28x28x1 but model 'mnist_dsdc' takes 32x32x1"):
        train("mnist_dsdc", out_dir=str(out), epochs=1, data="sample", limit=64,
              model_kwargs={"input_shape": (32, 32, 1), "width": 4}, verbose=0, log=lambda *_: None)
    assert not (out / "run.json").exists()


def test_resumed_segmentation_run_sees_the_scenes_of_its_epochs(tmp_path, monkeypatch, scenes_mnist_file):
    import hashlib

    import kerasdil.data.scenes as scenes
    from kerasdil.train import train

    real = scenes.make_scenes
    drawn = []  # (epoch, digest of the scenes) per training pass
    fail_at = {"pass": None}

    def spy(*args, **kw):
        made = real(*args, **kw)
        images, masks = made[:2]
        if "epoch" in kw:  # the training pipeline, new scenes every epoch
            if fail_at["pass"] is not None and len(drawn) == fail_at["pass"]:
                raise RuntimeError("killed")
            drawn.append((kw["epoch"], hashlib.sha256(images.tobytes() + masks.tobytes()).hexdigest()))
        return made

    monkeypatch.setattr(scenes, "make_scenes", spy)
    # The smallest segmenter (one U-Net block) keeps three runs quick; the data path is the same for every one.
    args = dict(epochs=3, batch_size=8, data=scenes_mnist_file, limit=8, augment=True, verbose=0, log=lambda *_: None,
                model_kwargs={"input_shape": [28, 32, 1], "filters": [4]})
    train("unet_baseline", out_dir=str(tmp_path / "continuous"), **args)
    continuous = list(drawn)
    assert [e for e, _ in continuous] == [0, 1, 2] and len({d for _, d in continuous}) == 3

    drawn.clear()
    fail_at["pass"] = 2  # dies when epoch 3 starts composing its scenes
    with pytest.raises(Exception, match="killed"):
        train("unet_baseline", out_dir=str(tmp_path / "resumed"), **args)
    assert drawn == continuous[:2]
    history = json.loads((tmp_path / "resumed" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    drawn.clear()
    fail_at["pass"] = None
    result = train("unet_baseline", out_dir=str(tmp_path / "resumed"), **args)
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert drawn == continuous[2:]  # epoch 3 of the resumed run: the continuous run's epoch-3 scenes


def test_a_dynamic_segmenter_input_shape_is_refused_before_any_data_is_made():
    from kerasdil.train import data_info_for
    from kerasdil.zoo import model_info

    with pytest.raises(ValueError, match="known positive sizes"):
        data_info_for(model_info("deeplab_aspp"), {"input_shape": [None, None, 1]})


def test_refused_runs_leave_no_folder_and_never_overwrite_foreign_files(tmp_path):
    from kerasdil.train import train

    # A misspelt builder argument: one sentence with a suggestion, exit 2, no folder left.
    out = tmp_path / "typo"
    r = cli("train", "mnist_dsdc", "--data", "sample", "--epochs", "1", "--out", str(out),
            "--model-kwargs", '{"widht": 8}')
    assert r.returncode == 2 and "does not take 'widht' (did you mean 'width'?)" in r.stderr, r.stderr[-2000:]
    assert not out.exists()
    # A folder that is not a kerasdil run but holds a file a run would replace.
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "model.keras").write_text("the user's own model")
    with pytest.raises(FileExistsError, match="not a kerasdil run folder.*model.keras"):
        train("mnist_dsdc", data="sample", epochs=1, out_dir=str(foreign), limit=64, verbose=0)
    assert (foreign / "model.keras").read_text() == "the user's own model"
    assert sorted(os.listdir(foreign)) == ["model.keras"]
    # --out naming a file.
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FileExistsError, match="is a file; training needs a folder"):
        train("mnist_dsdc", data="sample", epochs=1, out_dir=str(tmp_path / "afile"), limit=64, verbose=0)
