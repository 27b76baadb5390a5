"""kerasdil.distribute: TF_CONFIG handling, strategies, and two training workers on 127.0.0.1."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from kerasdil.distribute import is_chief, make_strategy, num_workers, parse_tf_config, tf_config, worker_index

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_tf_config_round_trip_and_roles():
    text = tf_config(["127.0.0.1:2222", "127.0.0.1:2223"], 1)
    config = parse_tf_config(text)
    assert config["task"] == {"type": "worker", "index": 1}
    assert num_workers(config) == 2 and worker_index(config) == 1 and not is_chief(config)
    assert is_chief(parse_tf_config(tf_config(["127.0.0.1:2222", "127.0.0.1:2223"], 0)))
    assert not is_chief(parse_tf_config(tf_config(["127.0.0.1:2222"], 0, chief="127.0.0.1:2221")))
    assert parse_tf_config("") is None and is_chief({}) and num_workers({}) == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', '"cluster"'),
        ('{"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}', "outside"),
        ('{"cluster": {"boss": ["127.0.0.1:1"]}, "task": {"type": "boss", "index": 0}}', "unknown task type"),
    ],
)
def test_malformed_tf_config_gets_one_clear_sentence(text, message):
    with pytest.raises(ValueError, match=message):
        parse_tf_config(text)


def test_make_strategy_names():
    import tensorflow as tf

    assert make_strategy(None) is tf.distribute.get_strategy()
    assert make_strategy("mirrored").num_replicas_in_sync >= 1
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("parameter_server")
    with pytest.raises(ValueError, match="communication"):
        make_strategy("multiworker", communication="carrier-pigeon")


# The worker program: the strategy first (TensorFlow's rule for multi-worker collectives),
# then a tiny training, through kerasdil.train when it offers `strategy`, else a plain fit
# of mnist_dsdc under the strategy's scope.
WORKER = textwrap.dedent(
    """
    import inspect, json, os, sys
    import numpy as np
    from kerasdil.distribute import is_chief, make_strategy

    out, sync = sys.argv[1], sys.argv[2] == "sync"
    strategy = make_strategy("multiworker", communication="ring")
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    import keras

    from kerasdil.train import train

    result = train("mnist_dsdc", out_dir=os.path.join(out, "run"), epochs=1, batch_size=64, data="sample",
                   limit=256, seed=0, strategy="multiworker", sync_batchnorm=sync, model_kwargs={"width": 2},
                   verbose=0, log=lambda s: None)
    model, losses = result.model, [h["loss"] for h in result.history]
    digest = float(sum(float(np.abs(w.numpy()).sum()) for w in model.trainable_weights))
    # BatchNormalization's moving statistics: per worker unless synchronized.
    moving = float(sum(float(np.abs(w.numpy()).sum()) for w in model.non_trainable_weights))
    with open(os.path.join(out, f"worker{index}.json"), "w") as f:
        json.dump({"digest": digest, "moving": moving, "losses": losses, "chief": is_chief(),
                   "replicas": strategy.num_replicas_in_sync}, f)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("sync", [False, True],
                         ids=["own-batchnorm", "sync-batchnorm"])
def test_two_workers_train_together_on_localhost(tmp_path, sync):
    from kerasdil.tune.distributed import free_port

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    procs, logs = [], []
    try:
        for i in range(2):
            logs.append(open(tmp_path / f"worker{i}.log", "w"))
            procs.append(subprocess.Popen(
                [sys.executable, str(script), str(tmp_path), "sync" if sync else "plain"], cwd=REPO,
                env=dict(env, TF_CONFIG=tf_config(workers, i)), stdout=logs[i], stderr=subprocess.STDOUT,
                start_new_session=True,
            ))
        deadline = time.monotonic() + 300
        for i, p in enumerate(procs):
            code = p.wait(timeout=max(10, deadline - time.monotonic()))
            logs[i].flush()
            assert code == 0, open(tmp_path / f"worker{i}.log").read()[-4000:]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
        for f in logs:
            f.close()
    results = [json.loads((tmp_path / f"worker{i}.json").read_text()) for i in range(2)]
    assert [r["replicas"] for r in results] == [2, 2]
    assert [r["chief"] for r in results] == [True, False]
    # Synchronous data parallelism: both workers end with the same trainable weights and the same loss curve.
    assert results[0]["digest"] == pytest.approx(results[1]["digest"], rel=1e-6)
    assert results[0]["losses"] == pytest.approx(results[1]["losses"], rel=1e-5)
    if sync:
        # Synchronized BatchNormalization: both workers normalised with the global batch's statistics.
        assert results[0]["moving"] == pytest.approx(results[1]["moving"], rel=1e-6)
    else:
        # Each worker's moving statistics follow its own half of the batch.
        assert results[0]["moving"] != pytest.approx(results[1]["moving"], rel=1e-4)


def test_sync_batchnorm_reaches_every_batchnorm_layer_and_needs_a_strategy(tmp_path):
    import keras

    from kerasdil.distribute import synchronize_batchnorm
    from kerasdil.train import train
    from kerasdil.zoo import deeplab_aspp

    model = deeplab_aspp(input_shape=(32, 32, 1), num_classes=3, width=4)
    bns = [l for l in model._flatten_layers(recursive=True) if isinstance(l, keras.layers.BatchNormalization)]
    assert len(bns) > 10 and not any(l.synchronized for l in bns)  # inside DSDC blocks and the ASPP
    assert synchronize_batchnorm(model) == len(bns)
    assert all(l.synchronized for l in bns)
    assert synchronize_batchnorm(model, False) == len(bns) and not any(l.synchronized for l in bns)
    with pytest.raises(ValueError, match="strategy"):
        train("mnist_dsdc", out_dir=str(tmp_path / "run"), sync_batchnorm=True, data="sample")
    assert not (tmp_path / "run").exists()
