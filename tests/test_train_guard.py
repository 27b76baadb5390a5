"""Training under bad numbers, corrupt state and a second run into the same folder.

Small Dense models through ``kerasdil.train.fit`` keep most of these to seconds;
the zoo-model tests use the embedded sample with a few hundred images.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _strict_json(path):
    """Parse ``path`` as strict JSON: NaN / Infinity tokens raise."""
    def refuse(token):
        raise ValueError(f"{path} holds the non-JSON token {token}")

    with open(path) as f:
        return json.load(f, parse_constant=refuse)


def _tiny_model(learning_rate=1e-2):
    import keras

    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10)])
    return compile_model(model, get_task("classification"), learning_rate=learning_rate)


def _data():
    import tensorflow as tf

    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, np.arange(64) % 10)).batch(16)


def _poison_at_epoch(epoch_index):
    """A callback that sets every weight to NaN when epoch ``epoch_index`` (0-based) begins."""
    import keras

    class Poison(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == epoch_index:
                for v in self.model.trainable_variables:
                    v.assign(np.full(v.shape, np.nan, dtype=v.dtype))

    return Poison()


def test_a_nan_loss_stops_training_and_keeps_the_last_good_epoch(tmp_path):
    from kerasdil.tasks import get_task
    from kerasdil.train import TrainingDiverged, fit

    out = str(tmp_path / "run")
    model = _tiny_model()
    with pytest.raises(TrainingDiverged, match=r"loss became nan at step 1 of epoch 2.*weights of epoch 1") as info:
        fit(model, _data(), epochs=3, out_dir=out, task=get_task("classification"), verbose=0,
            callbacks=[_poison_at_epoch(1)])
    assert "--lr" in str(info.value) and "\n" not in str(info.value)
    backup = os.path.join(out, "backup")
    assert _strict_json(os.path.join(backup, "state.json")) == {"epoch": 1, "weights": "epoch-1.weights.h5"}
    assert sorted(os.listdir(backup)) == ["epoch-1.weights.h5", "state.json"]  # nothing of epoch 2
    assert [e["epoch"] for e in _strict_json(os.path.join(out, "history.json"))] == [1]

    # The kept backup is good: a fresh model resumes from it with finite weights.
    resumed = _tiny_model()
    history = fit(resumed, _data(), epochs=3, out_dir=out, task=get_task("classification"), verbose=0)
    assert [e["epoch"] for e in history] == [1, 2, 3]
    assert all(np.isfinite(w).all() for w in resumed.get_weights())


def test_written_json_stays_strict_json_when_a_value_is_not_finite(tmp_path):
    from kerasdil._json import dumps
    from kerasdil.train import _atomic_json

    path = str(tmp_path / "metrics.json")
    _atomic_json(path, {"loss": float("nan"), "accuracy": np.float32(0.5), "curve": [1.0, float("inf")]})
    assert _strict_json(path) == {"loss": None, "accuracy": 0.5, "curve": [1.0, None]}
    assert dumps({"x": np.array([np.nan, 1.0])}, indent=None) == '{"x": [null, 1.0]}'


def test_an_infinite_learning_rate_is_refused_before_training(tmp_path):
    from kerasdil.train import train

    out = tmp_path / "run"
    for lr in (float("inf"), float("nan")):
        with pytest.raises(ValueError, match=r"`learning_rate` \(--lr\) must be a finite number > 0"):
            train("mnist_dsdc", out_dir=str(out), learning_rate=lr, data="sample", limit=64, verbose=0)
    assert not out.exists()


@pytest.mark.slow
def test_cli_train_that_diverges_exits_non_zero_without_a_model(tmp_path):
    out = tmp_path / "run"
    r = subprocess.run(
        [sys.executable, "-m", "kerasdil.cli", "train", "mnist_dsdc", "--data", "sample", "--limit", "256",
         "--epochs", "2", "--batch-size", "64", "--lr", "1e12", "--no-augment", "--model-kwargs", '{"width": 4}',
         "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert r.returncode == 2, r.stderr[-2000:]
    assert "training diverged" in r.stderr and "Traceback" not in r.stderr
    assert not (out / "model.keras").exists() and not (out / "metrics.json").exists()
    for name in os.listdir(out):
        if name.endswith(".json"):
            _strict_json(out / name)


def test_a_truncated_backup_names_the_file_and_the_way_out(tmp_path):
    from kerasdil.tasks import get_task
    from kerasdil.train import fit

    import keras

    class StopAtEpoch2(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    out = str(tmp_path / "run")
    task = get_task("classification")
    with pytest.raises(KeyboardInterrupt):
        fit(_tiny_model(), _data(), epochs=3, out_dir=out, task=task, verbose=0, callbacks=[StopAtEpoch2()])
    backup = os.path.join(out, "backup")
    weights = os.path.join(backup, "epoch-1.weights.h5")
    with open(weights, "r+b") as f:
        f.truncate(100)  # the file state.json names, cut off
    with pytest.raises(ValueError, match="cannot be read") as info:
        fit(_tiny_model(), _data(), epochs=3, out_dir=out, task=task, verbose=0)
    assert weights in str(info.value) and f"delete the folder {backup}" in str(info.value)

    state = os.path.join(backup, "state.json")
    with open(state, "w") as f:
        f.write('{"epoch": 1, "weig')  # truncated
    with pytest.raises(ValueError, match="truncated or corrupt") as info:
        fit(_tiny_model(), _data(), epochs=3, out_dir=out, task=task, verbose=0)
    assert state in str(info.value) and f"delete the folder {backup}" in str(info.value)

    # The way out works: without the backup the run starts again and completes.
    import shutil

    shutil.rmtree(backup)
    history = fit(_tiny_model(), _data(), epochs=3, out_dir=out, task=task, verbose=0)
    assert [e["epoch"] for e in history] == [1, 2, 3]


def test_a_corrupt_run_json_is_one_sentence_naming_it(tmp_path):
    from kerasdil.train import open_run_dir

    (tmp_path / "run.json").write_text('{"model": "mnist')
    with pytest.raises(ValueError, match="run.json is truncated or corrupt") as info:
        open_run_dir(str(tmp_path), {"model": "mnist_dsdc"})
    assert "delete the folder" in str(info.value)


def test_run_lock_refuses_a_live_owner_and_takes_over_a_dead_ones(tmp_path):
    from kerasdil.train import LOCK_FILE, RunLock

    first = RunLock(str(tmp_path)).acquire()
    with pytest.raises(FileExistsError, match=f"pid {os.getpid()}.*is writing into") as info:
        RunLock(str(tmp_path)).acquire()
    assert os.path.join(str(tmp_path), LOCK_FILE) in str(info.value)
    first.release()
    assert not (tmp_path / LOCK_FILE).exists()

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid is free now
    import socket

    (tmp_path / LOCK_FILE).write_text(f"{dead.pid} {socket.gethostname()}\n")
    taken = RunLock(str(tmp_path)).acquire()
    assert (tmp_path / LOCK_FILE).read_text().split()[0] == str(os.getpid())
    taken.release()


def test_a_second_training_into_a_running_folder_is_refused_at_once(tmp_path):
    import socket

    from kerasdil.train import LOCK_FILE, train

    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out = tmp_path / "run"
        out.mkdir()
        (out / LOCK_FILE).write_text(f"{owner.pid} {socket.gethostname()}\n")
        with pytest.raises(FileExistsError, match=f"another kerasdil run \\(pid {owner.pid}\\) is writing into"):
            train("mnist_dsdc", out_dir=str(out), epochs=1, data="sample", limit=64, verbose=0,
                  log=lambda *_: None)
        assert sorted(os.listdir(out)) == [LOCK_FILE]  # the other run's lock is left alone
    finally:
        owner.kill()
        owner.wait()
    # Its owner gone, the lock is stale: the run takes it over, trains and gives it back.
    result = train("mnist_dsdc", out_dir=str(out), epochs=1, batch_size=64, data="sample", limit=128,
                   model_kwargs={"width": 4}, verbose=0, log=lambda *_: None)
    assert result.metrics["epochs"] == 1 and not (out / LOCK_FILE).exists()
    _strict_json(out / "metrics.json")
