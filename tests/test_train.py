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


def test_killed_training_resumes_from_last_completed_epoch(tmp_path):
    out = str(tmp_path / "run")
    args = ["train", "mnist_dsdc", "--data", "sample", "--epochs", "3", "--batch-size", "8", "--limit", "1000",
            "--out", out, "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "kerasdil.cli", *args], env=ENV, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    history = os.path.join(out, "history.json")
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            if os.path.exists(history) and len(json.load(open(history))) == 1:
                break
            time.sleep(0.2)
        else:
            pytest.fail("first epoch did not finish in time")
        time.sleep(0.5)  # inside epoch 2 (125 steps)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    first_epoch = json.load(open(history))[0]
    assert len(json.load(open(history))) == 1, "the kill should land inside epoch 2"
    done = cli(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Epoch 2/3" in done.stdout and "Epoch 1/3" not in done.stdout
    entries = json.load(open(history))
    assert [e["epoch"] for e in entries] == [1, 2, 3]
    assert entries[0] == first_epoch
    assert json.load(open(os.path.join(out, "metrics.json")))["epochs"] == 3


def test_cli_train_then_evaluate(tmp_path):
    out = str(tmp_path / "run")
    r = cli("train", "mnist_dsdc", "--data", "sample", "--epochs", "1", "--limit", "512", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout
    r = cli("evaluate", os.path.join(out, "model.keras"), "--data", "sample")
    assert r.returncode == 0, r.stderr
    assert "accuracy" in r.stdout and "per-class accuracy" in r.stdout
    metrics = json.load(open(os.path.join(out, "eval_metrics.json")))
    assert len(metrics["confusion_matrix"]) == 10 and metrics["samples"] == 500
    assert os.path.exists(os.path.join(out, "confusion.png"))


def test_cli_errors_are_one_clear_line():
    r = cli("train", "mnist_nope", "--data", "sample")
    assert r.returncode == 2 and "unknown zoo model 'mnist_nope'" in r.stderr and "Traceback" not in r.stderr
    r = cli("evaluate", "missing.keras")
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = cli("frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_cli_zoo_list_and_info():
    r = cli("zoo", "list")
    assert r.returncode == 0 and "mnist_dsdc" in r.stdout and "keras_io_convnet" in r.stdout
    r = cli("zoo", "info", "mnist_dsdc")
    assert r.returncode == 0
    assert "params          14,986" in r.stdout and "gridding-free" in r.stdout
