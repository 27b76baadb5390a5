"""kerasdil.tune.reevaluation: the top candidates and the zoo default retrained over seeds, mean and
range, the verdict, resume; the ``kerasdil tune --tuner hyperband ... --reevaluate-top`` path end to
end on the embedded sample at tiny budgets (it measures nothing; it checks the plumbing)."""

import json
import os

import numpy as np
import pytest

from test_tune_report import fake_search

pytest.importorskip("keras_tuner")


def _record(runs, seeds=(0, 1, 2)):
    entries = [{"label": "trial_0", "trial_id": "0", "candidate": "s1=1,2;s2=1,3;w=4", "search_score": 0.9,
                "params": 100, "macs": 1000, "schedule": "1,2 / 1,3", "width": 4},
               {"label": "zoo default", "trial_id": None, "candidate": None, "search_score": None,
                "params": 200, "macs": 2000, "schedule": "1,2,5 / 1,2,3", "width": 18}]
    return {"project_dir": "p", "settings": {"top": 1, "seeds": list(seeds), "epochs": 1,
                                             "objective": "val_accuracy", "search": {}},
            "entries": entries,
            "runs": {label: {str(s): v for s, v in zip(seeds, scores)} for label, scores in runs.items()}}


def test_winner_beats_default_only_with_non_overlapping_ranges():
    from kerasdil.tune.reevaluation import summarize

    apart = summarize(_record({"trial_0": [0.95, 0.96, 0.97], "zoo default": [0.90, 0.92, 0.94]}))
    assert apart.beats_default and "do not overlap; the winner beats the default." in apart.verdict
    winner = apart.rows[0]
    assert (winner["mean"], winner["min"], winner["max"]) == (pytest.approx(0.96), 0.95, 0.97)
    touching = summarize(_record({"trial_0": [0.94, 0.96, 0.97], "zoo default": [0.90, 0.92, 0.945]}))
    assert not touching.beats_default and "overlap" in touching.verdict
    worse = summarize(_record({"trial_0": [0.80, 0.81, 0.82], "zoo default": [0.90, 0.92, 0.94]}))
    assert not worse.beats_default and "the default beats the winner" in worse.verdict
    partial = summarize(_record({"trial_0": [0.95], "zoo default": [0.90]}))
    assert not partial.beats_default and "so far" in partial.verdict


def test_bad_arguments_name_the_python_argument(tmp_path):
    from kerasdil.tune.reevaluation import reevaluate

    with pytest.raises(ValueError, match="top="):
        reevaluate(str(tmp_path), top=0)
    with pytest.raises(ValueError, match="seeds="):
        reevaluate(str(tmp_path), seeds=(1, 1))
    with pytest.raises(FileNotFoundError, match="no kerasdil search"):
        reevaluate(str(tmp_path), top=1)


@pytest.mark.slow
def test_reevaluate_trains_each_candidate_per_seed_and_resumes(tmp_path):
    from kerasdil.tune.reevaluation import REEVALUATION_FILE, reevaluate
    from kerasdil.zoo import create_model

    project = fake_search(tmp_path, [0.5, 0.7, 0.6])
    lines = []
    result = reevaluate(str(tmp_path), top=1, seeds=(0, 1), epochs=1, log=lines.append)
    assert [r["label"] for r in result.rows] == ["trial_1", "zoo default"]  # the best trial, then the default
    for r in result.rows:
        assert r["n"] == 2 and r["min"] <= r["mean"] <= r["max"] and 0.0 <= r["min"] <= 1.0
    assert result.rows[-1]["params"] == create_model("mnist_dsdc").count_params()
    runs = [line for line in lines if " seed " in line]
    assert len(runs) == 4
    path = os.path.join(project, REEVALUATION_FILE)
    record = json.load(open(path))
    # Resume: a run lost to an interruption is the only one trained again.
    del record["runs"]["zoo default"]["1"]
    json.dump(record, open(path, "w"))
    lines.clear()
    again = reevaluate(str(tmp_path), top=1, seeds=(0, 1), epochs=1, log=lines.append)
    runs = [line.strip() for line in lines if " seed " in line]
    assert len(runs) == 1 and runs[0].startswith("zoo default seed 1:")
    assert again.rows[0]["scores"] == result.rows[0]["scores"]
    with pytest.raises(ValueError, match="other settings"):
        reevaluate(str(tmp_path), top=1, seeds=(0, 1, 2), epochs=1)


@pytest.mark.slow
def test_cli_hyperband_search_then_reevaluation(tmp_path, capsys):
    from kerasdil.cli import main

    directory = str(tmp_path / "search")
    code = main(["tune", "mnist_dsdc", "--tuner", "hyperband", "--max-epochs", "2", "--factor", "2",
                 "--max-trials", "2", "--depths", "2", "--rates", "1,2,3", "--widths", "2", "--data", "sample",
                 "--limit", "128", "--validation-size", "64", "--batch-size", "64", "--verbose", "0",
                 "--dir", directory, "--reevaluate-top", "1", "--seeds", "0,1", "--reevaluate-epochs", "1"])
    assert code == 0
    out = capsys.readouterr().out
    best = next(line for line in out.splitlines() if line.startswith("best: "))
    name = best.split()[1]
    assert os.path.isdir(os.path.join(directory, "mnist_dsdc", name))
    assert "## Re-evaluation over seeds 0,1" in out
    assert f"| {name} |" in out and "| zoo default |" in out
    assert "overlap" in out or "not enough runs" in out
    settings = json.load(open(os.path.join(directory, "mnist_dsdc", "kerasdil_search.json")))["settings"]
    assert settings["tuner"] == "hyperband" and settings["hyperband_factor"] == 2 and settings["epochs"] == 2


def test_cli_rejects_bad_reevaluation_flags(capsys):
    from kerasdil.cli import main

    assert main(["tune", "mnist_dsdc", "--dir", "x", "--reevaluate-top", "0"]) == 2
    assert "--reevaluate-top" in capsys.readouterr().err
    assert main(["tune", "mnist_dsdc", "--dir", "x", "--reevaluate-top", "1", "--seeds", "a,b"]) == 2
    assert "--seeds" in capsys.readouterr().err


def test_the_package_name_reevaluate_is_the_function_whatever_was_imported_first():
    import kerasdil.tune.reevaluation  # noqa: F401  (a submodule of that name would shadow the function)
    from kerasdil.tune import reevaluate

    assert callable(reevaluate) and reevaluate.__name__ == "reevaluate"


def test_search_data_takes_a_segmenters_input_size_and_leaves_series_at_their_length(tmp_path):
    from test_data_masks import _pair

    from kerasdil.tune._search_data import _user_data
    from kerasdil.tune.hypermodels import get_family
    from kerasdil.zoo import model_info

    for i in range(6):
        mask = np.zeros((40, 40), np.uint8)
        mask[10:30, 10:30] = 1 + i % 2
        _pair(str(tmp_path / "seg"), f"s{i}", mask)
    family, info = get_family("deeplab_aspp"), model_info("deeplab_aspp")
    for size in ((32, 32), (32, 32, 1)):  # the CLI's --input-size gives (H, W); a search file (H, W, C)
        plan = _user_data(str(tmp_path / "seg"), {"validation_split": 0.34}, family, info, size, 0)
        assert tuple(plan.spec.input_shape)[:2] == (32, 32), size
    x = np.random.default_rng(0).normal(size=(12, 30)).astype("float32")
    np.savez(tmp_path / "s.npz", x=x, y=np.arange(12) % 2)
    plan = _user_data(str(tmp_path / "s.npz"), {}, get_family("series_dsdc"), model_info("series_dsdc"), (30, 1), 0)
    assert tuple(plan.spec.input_shape) == (30, 1)
