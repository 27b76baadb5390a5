"""kerasdil.tune: constrained schedule spaces, the three tuners, a small search, resume after SIGKILL, reports.

Small and bounded: widths 2-4, the embedded 2,000-image MNIST sample cut to a
few hundred images, 1 epoch per trial, 2-3 trials.
"""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import pytest

from kerasdil.tune.constraints import (
    MNIST_DSDC,
    Constraints,
    ScheduleSpace,
    decode_candidate,
    encode_candidate,
    pareto_front,
    prune,
    stage_schedules,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_SPACE = ScheduleSpace(depths=(2,), rates=(1, 2, 3, 4), widths=(2,))


# ---------------------------------------------------------------- pure Python


def test_stage_schedules_orders():
    assert stage_schedules((2,), (1, 2, 3)) == [(1, 2), (1, 3), (2, 3)]
    assert (1, 1) in stage_schedules((2,), (1, 2), "nondecreasing")
    assert (2, 1) in stage_schedules((2,), (1, 2), "any")
    assert ScheduleSpace().size(stages=2) == 25 * 25 * 3


def test_candidate_key_round_trip_and_rejects_junk():
    key = encode_candidate(((1, 2, 5), (1, 2, 3)), 16)
    assert key == "s1=1,2,5;s2=1,2,3;w=16"
    assert decode_candidate(key) == (((1, 2, 5), (1, 2, 3)), 16)
    with pytest.raises(ValueError, match="candidate key"):
        decode_candidate("1,2,5")


def test_space_and_constraints_reject_bad_values():
    with pytest.raises(ValueError, match="order"):
        ScheduleSpace(order="sideways")
    with pytest.raises(ValueError, match="rates"):
        ScheduleSpace(rates=(0, 1))
    with pytest.raises(ValueError, match="max_params"):
        Constraints(max_params=-5)


def test_gridding_detected_for_2_4_stage_and_default_is_free():
    default = MNIST_DSDC.measure(((1, 2, 5), (1, 2, 3)), 16)
    assert default.gridding_free and default.model_gridding_free
    assert default.receptive_field == (86, 86)
    grids = MNIST_DSDC.measure(((2, 4), (1, 2)), 16)
    assert not grids.gridding_free
    assert grids.gridding_verdict == "grids in s1"
    assert grids.stage_hdc_gridding_free[0] is False and grids.stage_gridding_free[0] is False


def test_prune_counts_sequential_and_individual():
    default = MNIST_DSDC.measure(MNIST_DSDC.default_schedule, MNIST_DSDC.default_width)
    constraints = Constraints(gridding_free=True, min_receptive_field=60, max_params=default.params)
    result = prune(MNIST_DSDC, ScheduleSpace(), constraints)
    assert result.raw == 1875
    assert list(result.removed_sequential) == ["gridding_free", "min_receptive_field", "max_params"]
    assert result.raw - sum(result.removed_sequential.values()) == len(result.survivors)
    for name in result.removed_sequential:
        assert result.removed_sequential[name] <= result.removed_individual[name]
    for c in result.survivors:
        assert c.gridding_free and min(c.receptive_field) >= 60 and c.params <= default.params
    assert default.key in {c.key for c in result.survivors}
    assert "searchable" in result.summary()


def test_params_and_macs_match_the_built_model():
    from kerasdil.zoo import mnist_dsdc

    for schedule, width in [(((1, 2, 5), (1, 2, 3)), 16), (((1, 3), (1, 2, 3, 4)), 4)]:
        model = mnist_dsdc(dilation_schedule=schedule, width=width, stem="pool", stage_filters=None)  # the family's layout
        measured = MNIST_DSDC.measure(schedule, width)
        assert measured.params == model.count_params()
        try:
            from kerasdil.zoo.stats import count_macs
        except ImportError:
            continue
        assert measured.macs == count_macs(model)


def test_pareto_front():
    assert pareto_front([(10, 0.9), (20, 0.8), (30, 0.95), (30, 0.5)]) == [0, 2]
    assert pareto_front([]) == []


def test_get_family_knows_both_models_and_names_them_for_others():
    from kerasdil.tune.hypermodels import get_family

    assert get_family("deeplab_aspp").name == "deeplab_aspp"  # tests/test_tune_deeplab.py covers it
    with pytest.raises(ValueError, match="searchable models: deeplab_aspp, deeplab_aspp_mobile, mnist_dsdc"):
        get_family("resnet")


# ---------------------------------------------------------------- keras-tuner, no training


@pytest.mark.parametrize("tuner_name", ["random", "bayesian", "hyperband"])
def test_every_tuner_proposes_only_pruned_candidates(tuner_name, tmp_path):
    """Drive each oracle with made-up scores: proposals come from the pruned list, totals stop at max_trials."""
    pytest.importorskip("keras_tuner")
    if tuner_name == "bayesian":
        pytest.importorskip("sklearn")
    from kerasdil.tune.hypermodels import ScheduleHyperModel
    from kerasdil.tune.tuners import make_oracle, make_tuner

    space = ScheduleSpace(depths=(2, 3), rates=(1, 2, 3, 4), widths=(2,))
    result = prune(MNIST_DSDC, space, Constraints(gridding_free=True))
    keys = [c.key for c in result.survivors]
    assert 6 < len(keys) < space.size(2)
    max_trials = 6
    oracle = make_oracle(tuner_name, max_trials=max_trials, epochs=3, seed=1, space_size=len(keys))
    tuner = make_tuner(ScheduleHyperModel(MNIST_DSDC, keys), oracle, tuner_name, directory=str(tmp_path),
                       project_name="p")
    oracle = tuner.oracle
    seen = []
    for _ in range(50):
        trial = oracle.create_trial("tuner0")
        if trial.status == "STOPPED":
            break
        assert trial.status == "RUNNING"
        key = trial.hyperparameters.get("candidate")
        assert key in keys
        seen.append(key)
        score = 0.1 + 0.1 * keys.index(key) / len(keys) + 0.01 * trial.hyperparameters.values.get("tuner/epochs", 1)
        oracle.update_trial(trial.trial_id, {"val_accuracy": score})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    assert len(seen) == max_trials
    assert all(t.status == "COMPLETED" for t in oracle.trials.values())
    if tuner_name != "hyperband":  # Hyperband reruns its best candidates with more epochs, by design
        assert len(set(seen)) == len(seen)


def test_random_search_stops_when_the_pruned_space_is_exhausted(tmp_path):
    pytest.importorskip("keras_tuner")
    from kerasdil.tune.hypermodels import ScheduleHyperModel
    from kerasdil.tune.tuners import make_oracle, make_tuner

    keys = [c.key for c in prune(MNIST_DSDC, TINY_SPACE, Constraints(gridding_free=True)).survivors]
    assert len(keys) == 4  # (1,2) and (1,3) per stage
    oracle = make_oracle("random", max_trials=10, epochs=1, seed=0, space_size=len(keys))
    oracle = make_tuner(ScheduleHyperModel(MNIST_DSDC, keys), oracle, "random", directory=str(tmp_path),
                        project_name="p").oracle
    seen = []
    while True:
        trial = oracle.create_trial("tuner0")
        if trial.status == "STOPPED":
            break
        seen.append(trial.hyperparameters.get("candidate"))
        oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    assert sorted(seen) == sorted(keys)


def test_state_files_are_replaced_whole_never_written_in_place(tmp_path):
    """A kill during a write must leave the previous file: every save renames a new
    file over the old one (a link to the old file keeps the old content)."""
    pytest.importorskip("keras_tuner")
    from kerasdil.tune.hypermodels import ScheduleHyperModel
    from kerasdil.tune.tuners import make_oracle, make_tuner

    keys = [c.key for c in prune(MNIST_DSDC, TINY_SPACE, Constraints(gridding_free=True)).survivors]
    tuner = make_tuner(ScheduleHyperModel(MNIST_DSDC, keys), make_oracle("random", max_trials=3, epochs=1, seed=0),
                       "random", directory=str(tmp_path), project_name="p")
    oracle = tuner.oracle
    trial = oracle.create_trial("tuner0")
    project = os.path.join(str(tmp_path), "p")
    files = [os.path.join(project, "oracle.json"), os.path.join(project, f"trial_{trial.trial_id}", "trial.json"),
             os.path.join(project, "tuner0.json")]
    tuner.save()
    before = {}
    for path in files:
        os.link(path, path + ".old")
        before[path] = open(path).read()
    oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    tuner.save()
    for path in files:
        assert open(path + ".old").read() == before[path], path  # untouched: the new one was renamed over it
        assert os.stat(path).st_ino != os.stat(path + ".old").st_ino, path
        json.load(open(path))
    assert json.load(open(files[1]))["status"] == "COMPLETED"
    assert not [f for f in os.listdir(project) if ".tmp" in f]


# ---------------------------------------------------------------- a real small search


@pytest.fixture(scope="module")
def small_search(tmp_path_factory):
    pytest.importorskip("keras_tuner")
    pytest.importorskip("tensorboard")
    from kerasdil.tune.tuners import search

    directory = str(tmp_path_factory.mktemp("tune"))
    budget = MNIST_DSDC.measure(((1, 2), (1, 2)), 2).params
    constraints = Constraints(gridding_free=True, min_receptive_field=28, max_params=budget + 200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = search(
            "mnist_dsdc", directory=directory, tuner="random", max_trials=2, epochs=1, space=TINY_SPACE,
            constraints=constraints, data="sample", limit=192, validation_size=128, batch_size=64, seed=3,
            verbose=0, log=lambda s: None,
        )
    return directory, result, constraints


def test_small_search_finishes_and_best_satisfies_constraints(small_search):
    directory, result, constraints = small_search
    assert result.role == "local"
    assert sorted(result.trials.values()) == ["COMPLETED", "COMPLETED"]
    best = MNIST_DSDC.measure(*decode_candidate(result.best["candidate"]))
    assert best.gridding_free
    assert min(best.receptive_field) >= constraints.min_receptive_field
    assert best.params <= constraints.max_params
    assert 0.0 <= result.best["score"] <= 1.0
    with open(os.path.join(result.project_dir, "kerasdil_search.json")) as f:
        info = json.load(f)
    assert info["pruning"]["removed_sequential"]["gridding_free"] > 0


def test_report_writes_leaderboard_plot_and_a_loadable_best_model(small_search):
    import keras
    import numpy as np

    from kerasdil.tune.report import make_report

    directory, result, _ = small_search
    out = make_report(directory)
    assert len(out["rows"]) == 2
    assert out["rows"][0]["score"] >= out["rows"][1]["score"]
    for key in ("leaderboard_md", "leaderboard_csv", "pareto_png", "best_keras"):
        assert os.path.getsize(out[key]) > 0
    assert "| rank | trial | schedule" in out["markdown"]
    with open(out["pareto_png"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    model = keras.models.load_model(out["best_keras"], safe_mode=True)
    assert model.predict(np.zeros((1, 28, 28, 1), "float32"), verbose=0).shape == (1, 10)
    assert not [p for p in os.listdir(result.project_dir) if ".tmp-" in p]


def test_resume_with_other_settings_is_refused_in_one_sentence(small_search, capsys):
    from kerasdil.cli import main

    directory, _, _ = small_search
    code = main(["tune", "mnist_dsdc", "--tuner", "random", "--dir", directory, "--max-trials", "2",
                 "--epochs", "1", "--widths", "2", "--depths", "2", "--rates", "1,2,3,4", "--data", "sample"])
    assert code == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "Traceback" not in err


def test_cli_rejects_bad_arguments(capsys):
    from kerasdil.cli import main

    assert main(["tune", "mnist_dsdc", "--dir", "x", "--widths", "a,b"]) == 2
    assert "--widths" in capsys.readouterr().err
    assert main(["tune", "mnist_dsdc", "--dir", "x", "--worker", "127.0.0.1:1"]) == 2
    assert "--worker-id" in capsys.readouterr().err
    assert main(["tune-report", "/nonexistent/search"]) == 2
    assert "does not exist" in capsys.readouterr().err


# ---------------------------------------------------------------- resume after SIGKILL


def _statuses(project):
    out = {}
    if not os.path.isdir(project):
        return out
    for d in sorted(os.listdir(project)):
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
        return 0
    with open(path) as f:
        return sum(1 for line in f if line.strip())


def _tune_command(directory, max_trials):
    return [sys.executable, "-m", "kerasdil.cli", "tune", "mnist_dsdc", "--tuner", "random", "--dir", directory,
            "--max-trials", str(max_trials), "--epochs", "1", "--depths", "2", "--rates", "1,2,3,4",
            "--widths", "2", "--gridding-free", "--data", "sample", "--limit", "192", "--validation-size", "128",
            "--batch-size", "64", "--seed", "5", "--verbose", "0"]


def _env():
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    for k in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "TF_CONFIG"):
        env.pop(k, None)
    return env


@pytest.mark.slow
def test_resume_after_sigkill_keeps_completed_trials_and_reruns_the_killed_one(tmp_path):
    pytest.importorskip("keras_tuner")
    pytest.importorskip("tensorboard")
    directory = str(tmp_path / "search")
    project = os.path.join(directory, "mnist_dsdc")
    log = open(tmp_path / "first.log", "w")
    proc = subprocess.Popen(_tune_command(directory, 3), cwd=REPO, env=_env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    killed_at = None
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            s = _statuses(project)
            # Kill while trial 1 trains and trial 0 is done: the worst moment for a resume.
            if s.get("0", {}).get("status") == "COMPLETED" and s.get("1", {}).get("status") == "RUNNING" \
                    and _runs(project, "1") == 1:
                os.killpg(proc.pid, signal.SIGKILL)
                killed_at = s
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None and killed_at is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        log.close()
    assert killed_at is not None, open(tmp_path / "first.log").read()[-3000:]
    before = _statuses(project)
    assert before["0"]["status"] == "COMPLETED" and before["1"]["status"] == "RUNNING"

    done = subprocess.run(_tune_command(directory, 3), cwd=REPO, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    after = _statuses(project)
    assert sorted(after) == ["0", "1", "2"]  # the total ends at max_trials
    assert all(t["status"] == "COMPLETED" for t in after.values())
    # The completed trial was neither lost nor rerun; the killed one ran again, once.
    assert after["0"]["score"] == before["0"]["score"]
    assert _runs(project, "0") == 1 and _runs(project, "1") == 2 and _runs(project, "2") == 1
    candidates = [t["hyperparameters"]["values"]["candidate"] for t in after.values()]
    assert len(set(candidates)) == 3
    assert after["1"]["hyperparameters"]["values"]["candidate"] == before["1"]["hyperparameters"]["values"]["candidate"]

    # Running it once more changes nothing.
    again = subprocess.run(_tune_command(directory, 3), cwd=REPO, env=_env(), capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0
    assert {k: v["score"] for k, v in _statuses(project).items()} == {k: v["score"] for k, v in after.items()}
    assert _runs(project, "2") == 1


def test_seed_zero_gives_reproducible_proposals(tmp_path):
    """keras-tuner reads seed 0 as "pick a random seed"; kerasdil's seeds are all reproducible."""
    pytest.importorskip("keras_tuner")
    from kerasdil.tune.hypermodels import ScheduleHyperModel
    from kerasdil.tune.tuners import make_oracle, make_tuner

    keys = [c.key for c in prune(MNIST_DSDC, ScheduleSpace(widths=(2,)), Constraints(gridding_free=True)).survivors]
    firsts = []
    for run in range(2):
        oracle = make_oracle("random", max_trials=3, epochs=1, seed=0, space_size=len(keys))
        oracle = make_tuner(ScheduleHyperModel(MNIST_DSDC, keys), oracle, "random", directory=str(tmp_path),
                            project_name=f"p{run}").oracle
        firsts.append([oracle.create_trial(f"tuner{i}").hyperparameters.get("candidate") for i in range(3)])
    assert firsts[0] == firsts[1]


def test_the_package_exports_the_search_function_not_a_module():
    # README: `from kerasdil.tune import search, make_report, Constraints`, then search(...).
    # A fresh process, because an earlier import of a submodule named like the function
    # would shadow it.
    code = ("from kerasdil.tune import search, make_report, Constraints\n"
            "import kerasdil.tune.report\n"
            "from kerasdil.tune import search as again\n"
            "assert callable(search) and again is search and callable(make_report), (search, again)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
