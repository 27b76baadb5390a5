"""Distributed schedule search on 127.0.0.1: one chief, two workers, one worker killed mid-search.

Every process is bounded by a deadline and killed in teardown.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from kerasdil.tune.distributed import free_port, parse_address, tuner_environment

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_parse_address_and_environment():
    assert parse_address("127.0.0.1:8000") == ("127.0.0.1", 8000)
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address("127.0.0.1")
    before = dict(os.environ)
    with tuner_environment("chief", "127.0.0.1:8123"):
        assert os.environ["KERASTUNER_TUNER_ID"] == "chief"
        assert os.environ["KERASTUNER_ORACLE_PORT"] == "8123"
    assert dict(os.environ) == before
    with pytest.raises(ValueError, match="worker-id"):
        with tuner_environment("worker", "127.0.0.1:8123", None):
            pass


def _env():
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    for k in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "TF_CONFIG"):
        env.pop(k, None)
    return env


def _command(directory, role_args, max_trials):
    return [sys.executable, "-m", "kerasdil.cli", "tune", "mnist_dsdc", "--tuner", "random", "--dir", directory,
            "--max-trials", str(max_trials), "--epochs", "1", "--depths", "2", "--rates", "1,2,3,4",
            "--widths", "2", "--gridding-free", "--data", "sample", "--limit", "192", "--validation-size", "128",
            "--batch-size", "64", "--seed", "7", "--verbose", "0", "--lease", "8", "--heartbeat", "1",
            "--rpc-timeout", "120", *role_args]


def _trials(project):
    out = {}
    if not os.path.isdir(project):
        return out
    for d in os.listdir(project):
        path = os.path.join(project, d, "trial.json")
        if d.startswith("trial_") and os.path.isfile(path):
            try:
                with open(path) as f:
                    data = json.load(f)
            except (OSError, ValueError):
                continue
            out[data["trial_id"]] = data
    return out


def _runs(project, trial_id):
    path = os.path.join(project, f"trial_{trial_id}", "kerasdil_runs.jsonl")
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.mark.slow
def test_chief_and_two_workers_finish_a_search_when_one_worker_is_killed(tmp_path):
    pytest.importorskip("keras_tuner")
    pytest.importorskip("tensorboard")
    pytest.importorskip("grpc")
    directory = str(tmp_path / "search")
    project = os.path.join(directory, "mnist_dsdc")
    address = f"127.0.0.1:{free_port()}"
    max_trials = 4
    procs, logs = {}, {}

    def start(name, role_args):
        logs[name] = open(tmp_path / f"{name}.log", "w")
        procs[name] = subprocess.Popen(_command(directory, role_args, max_trials), cwd=REPO, env=_env(),
                                       stdout=logs[name], stderr=subprocess.STDOUT, start_new_session=True)

    def tail(name):
        logs[name].flush()
        with open(tmp_path / f"{name}.log") as f:
            return f"--- {name}:\n" + f.read()[-2500:]

    try:
        start("chief", ["--chief", address])
        start("worker0", ["--worker", address, "--worker-id", "0"])
        start("worker1", ["--worker", address, "--worker-id", "1"])
        deadline = time.monotonic() + 360
        victim_trial = None
        while time.monotonic() < deadline and victim_trial is None:
            for trial_id, trial in _trials(project).items():
                runs = _runs(project, trial_id)
                if trial["status"] == "RUNNING" and [r["tuner_id"] for r in runs] == ["tuner1"]:
                    os.killpg(procs["worker1"].pid, signal.SIGKILL)  # mid-trial
                    victim_trial = trial_id
                    break
            if procs["chief"].poll() is not None:
                break
            time.sleep(0.05)
        assert victim_trial is not None, tail("chief") + tail("worker0") + tail("worker1")
        procs["worker1"].wait(timeout=30)

        left = max(30, deadline - time.monotonic())
        assert procs["worker0"].wait(timeout=left) == 0, tail("worker0")
        assert procs["chief"].wait(timeout=60) == 0, tail("chief")
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
        for f in logs.values():
            f.close()

    trials = _trials(project)
    assert sorted(trials) == [str(i) for i in range(max_trials)]
    assert all(t["status"] == "COMPLETED" for t in trials.values()), tail("chief")
    candidates = [t["hyperparameters"]["values"]["candidate"] for t in trials.values()]
    assert len(set(candidates)) == max_trials  # no duplicated trial
    # The killed worker's trial was finished by the survivor; every other trial ran once.
    assert [r["tuner_id"] for r in _runs(project, victim_trial)] == ["tuner1", "tuner0"]
    for trial_id in trials:
        if trial_id != victim_trial:
            assert len(_runs(project, trial_id)) == 1
    with open(tmp_path / "chief.log") as f:
        assert f"trial {victim_trial} goes back to the queue" in f.read()
