"""kerasdil.tune.report on tiny searches whose scores are made up: real keras-tuner oracle and trial
files written by the real oracle, no training. Chance and noise warnings, no Pareto front or stars
from noise, seed spread per row, one trial name everywhere, full schedules, the zoo's real default,
and Python argument names in library errors (CLI flags in the CLI's)."""

import dataclasses
import json
import os

import pytest

from kerasdil.tune.constraints import MNIST_DSDC, Constraints, ScheduleSpace, prune

pytest.importorskip("keras_tuner")

# Depths 2 and 3 over rates 1-4 at two widths: distinct parameter counts to rank.
SPACE = ScheduleSpace(depths=(2, 3), rates=(1, 2, 3, 4), widths=(2, 4))


def fake_search(directory, scores, *, verbose=0):
    """A finished random search whose trials scored ``scores``, in that order; returns the project folder.

    The oracle, trial and tuner files are keras-tuner's own, written by the oracle this package uses;
    the search file is the one :func:`kerasdil.tune.search` writes.
    """
    from kerasdil.tune.hypermodels import ScheduleHyperModel
    from kerasdil.tune.tuners import SEARCH_FILE, _settings, _write_json, make_oracle, make_tuner, zoo_default

    pruning = prune(MNIST_DSDC, SPACE, Constraints())
    keys = [c.key for c in pruning.survivors]
    oracle = make_oracle("random", max_trials=len(scores), epochs=1, seed=0, space_size=len(keys))
    oracle.verbose = verbose
    tuner = make_tuner(ScheduleHyperModel(MNIST_DSDC, keys), oracle, "random", directory=str(directory),
                       project_name="mnist_dsdc")
    oracle = tuner.oracle
    project = os.path.join(str(directory), "mnist_dsdc")
    settings = _settings("mnist_dsdc", "random", SPACE, Constraints(), (28, 28, 1), 10, 1, 64, 3e-3, None, "sample",
                         192, 128, 0, False, 3)
    _write_json(os.path.join(project, SEARCH_FILE), {
        "settings": settings, "pruning": pruning.to_dict(), "default": zoo_default("mnist_dsdc"),
        "candidates": [c.to_dict() for c in pruning.survivors], "validation_images": 128})
    for score in scores:
        trial = oracle.create_trial("tuner0")
        oracle.update_trial(trial.trial_id, {"val_accuracy": score})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    tuner.save()
    return project


def _report(directory, **kwargs):
    from kerasdil.tune.report import make_report

    return make_report(str(directory), export=False, **kwargs)


def _starred_ranks(markdown):
    return [line for line in markdown.splitlines() if line.startswith("| ") and line.split("|")[1].strip().endswith("*")]


def test_scores_at_chance_warn_and_draw_no_front_and_no_stars(tmp_path):
    fake_search(tmp_path, [0.107, 0.153, 0.151])
    out = _report(tmp_path)
    assert out["pareto"] == []
    assert any("at chance" in w for w in out["warnings"])
    assert "> **Warning:** every trial scored at chance" in out["markdown"]
    assert not _starred_ranks(out["markdown"])
    assert out["markdown"].count("(chance)") == 3


def test_scores_within_noise_of_each_other_warn_and_draw_no_front(tmp_path):
    fake_search(tmp_path, [0.900, 0.905, 0.902, 0.903])
    out = _report(tmp_path, noise=0.01)
    assert out["pareto"] == []
    assert any("within" in w and "noise band" in w for w in out["warnings"])
    assert not _starred_ranks(out["markdown"])
    # The same scores with no noise band are told apart: the check is not a blanket refusal.
    out = _report(tmp_path, noise=0.0)
    assert out["pareto"] and not out["warnings"]
    assert _starred_ranks(out["markdown"])


def test_unmeasured_noise_falls_back_to_the_validation_sampling_floor(tmp_path):
    fake_search(tmp_path, [0.90, 0.91, 0.92])
    out = _report(tmp_path)
    # 128 validation images: two binomial standard errors of 0.92 are about 0.048, wider than the 0.02 spread.
    assert out["noise"]["band"] == pytest.approx(2 * (0.92 * 0.08 / 128) ** 0.5, rel=1e-6)
    assert "binomial" in out["noise"]["band_source"]
    assert out["pareto"] == []


def test_front_steps_smaller_than_the_noise_band_are_not_starred(tmp_path):
    from kerasdil.tune.report import leaderboard, noise_check

    project = fake_search(tmp_path, [0.60, 0.80, 0.81, 0.95, 0.96, 0.70])
    rows = leaderboard(project)
    info = json.load(open(os.path.join(project, "kerasdil_search.json")))
    plain = noise_check(rows, info, noise=0.0)["front"]
    aware = noise_check(rows, info, noise=0.05)["front"]
    assert set(aware) < set(plain)
    scores = sorted((rows[i]["params"], rows[i]["score"]) for i in aware)
    assert all(b[1] - a[1] > 0.05 for a, b in zip(scores, scores[1:]))


def _reevaluation_file(project, entries_scores, seeds=(0, 1, 2)):
    """A re-evaluation record as kerasdil.tune.reevaluation writes it (the runs are made up)."""
    from kerasdil.tune.reevaluation import DEFAULT_LABEL, REEVALUATION_FILE
    from kerasdil.tune.report import leaderboard
    from kerasdil.tune.tuners import trial_name, zoo_default

    rows = leaderboard(project)
    entries, runs = [], {}
    for row, scores in zip(rows, entries_scores[:-1]):
        label = trial_name(row["trial_id"])
        entries.append({"label": label, "trial_id": row["trial_id"], "candidate": row["candidate"],
                        "search_score": row["score"], "params": row["params"], "macs": row["macs"],
                        "schedule": row["schedule"], "width": row["width"]})
        runs[label] = {str(s): v for s, v in zip(seeds, scores)}
    d = zoo_default("mnist_dsdc")
    entries.append({"label": DEFAULT_LABEL, "trial_id": None, "candidate": None, "search_score": None,
                    "params": d["params"], "macs": d["macs"], "schedule": "1,2,5 / 1,2,3", "width": d["width"]})
    runs[DEFAULT_LABEL] = {str(s): v for s, v in zip(seeds, entries_scores[-1])}
    record = {"project_dir": project, "settings": {"top": len(entries) - 1, "seeds": list(seeds), "epochs": 1,
                                                   "objective": "val_accuracy", "search": {}},
              "entries": entries, "runs": runs}
    with open(os.path.join(project, REEVALUATION_FILE), "w") as f:
        json.dump(record, f)


def test_rows_carry_their_seed_spread_and_the_band_is_the_widest_range(tmp_path):
    project = fake_search(tmp_path, [0.93, 0.80, 0.60])
    _reevaluation_file(project, [[0.90, 0.94, 0.92], [0.81, 0.79, 0.80], [0.91, 0.93, 0.95]])
    out = _report(tmp_path)
    assert out["noise"]["band"] == pytest.approx(0.04)
    assert "re-evaluation" in out["noise"]["band_source"]
    assert "0.9200 [0.9000, 0.9400] (3 seeds)" in out["markdown"]
    assert "0.8000 [0.7900, 0.8100] (3 seeds)" in out["markdown"]
    assert "| 1 seed |" in out["markdown"]  # the third trial was not re-evaluated
    assert "## Re-evaluation over seeds 0,1,2" in out["markdown"]
    assert "the ranges overlap" in out["markdown"]
    csv_text = open(out["leaderboard_csv"]).read()
    assert "(3 seeds)" in csv_text


def test_one_trial_name_in_log_report_csv_and_folder(tmp_path, capsys):
    project = fake_search(tmp_path, [0.5, 0.7, 0.6], verbose=1)
    log = capsys.readouterr().out
    out = _report(tmp_path)
    names = [line.split("|")[2].strip() for line in out["markdown"].splitlines() if line.startswith("| ")
             and line.split("|")[1].strip()[:1].isdigit()]
    assert sorted(names) == sorted(d for d in os.listdir(project) if d.startswith("trial_"))
    for name in names:
        assert f"running {name}" in log
    assert "Trial #" not in log
    csv_names = [line.split(",")[1] for line in open(out["leaderboard_csv"]).read().splitlines()[1:]]
    assert csv_names == names


def test_log_and_tables_print_whole_schedules(tmp_path, capsys):
    project = fake_search(tmp_path, [0.5, 0.6], verbose=1)
    log = capsys.readouterr().out
    trials = [json.load(open(os.path.join(project, d, "trial.json"))) for d in os.listdir(project)
              if d.startswith("trial_")]
    for t in trials:
        key = t["hyperparameters"]["values"]["candidate"]
        assert f"candidate = {key}" in log  # keras-tuner's table would cut it to 18 characters
    assert "..." not in log
    out = _report(tmp_path)
    for r in out["rows"]:
        assert f"| {r['schedule']} |" in out["markdown"] and "..." not in r["schedule"]


def test_the_report_default_is_the_zoo_default_and_follows_it(tmp_path, monkeypatch):
    from kerasdil.zoo import model_info, registry

    fake_search(tmp_path, [0.5, 0.6])
    config = model_info("mnist_dsdc").default_config
    out = _report(tmp_path)
    assert f"width {config['width']}:" in out["markdown"]
    # A changed zoo default shows up in the next report without touching the search or this package.
    info = model_info("mnist_dsdc")

    class Changed(type(info)):  # the same entry, with other builder defaults
        @property
        def default_config(self):
            return {**config, "width": 6, "dilation_schedule": ((1, 2), (1, 3)), "stem": "pool",
                    "stage_filters": None}

    changed = Changed(**{f.name: getattr(info, f.name) for f in dataclasses.fields(info)})
    monkeypatch.setitem(registry._REGISTRY, "mnist_dsdc", changed)
    out = _report(tmp_path)
    assert "1,2 / 1,3, width 6:" in out["markdown"]
    assert "width 18:" not in out["markdown"]


def test_python_errors_name_arguments_and_the_cli_names_flags(tmp_path, capsys):
    from kerasdil.cli import main
    from kerasdil.tune.tuners import find_project, search

    fake_search(tmp_path, [0.5])
    with pytest.raises(ValueError) as e:
        search("mnist_dsdc", directory=str(tmp_path), tuner="random", max_trials=3, epochs=1, space=SPACE,
               data="sample", limit=100, validation_size=128, batch_size=64, log=lambda s: None)
    assert "overwrite=True" in str(e.value) and "directory=" in str(e.value) and "--" not in str(e.value)
    assert main(["tune", "mnist_dsdc", "--tuner", "random", "--dir", str(tmp_path), "--max-trials", "3",
                 "--epochs", "1", "--depths", "2,3", "--rates", "1,2,3,4", "--widths", "2,4", "--data", "sample",
                 "--verbose", "0"]) == 2
    err = capsys.readouterr().err
    assert "--overwrite" in err and "--dir" in err and "overwrite=True" not in err and "Traceback" not in err

    os.makedirs(tmp_path / "two" / "a")
    os.makedirs(tmp_path / "two" / "b")
    for name in ("a", "b"):
        open(tmp_path / "two" / name / "kerasdil_search.json", "w").write("{}")
    with pytest.raises(ValueError, match="project_name="):
        find_project(str(tmp_path / "two"))
    assert main(["tune-report", str(tmp_path / "two")]) == 2
    assert "--project-name" in capsys.readouterr().err
    with pytest.raises(ValueError, match="max_trials="):
        search("mnist_dsdc", directory=str(tmp_path / "x"), max_trials=0)


@pytest.mark.parametrize("model", ["mnist_dsdc", "deeplab_aspp"])
def test_zoo_default_counts_the_model_the_zoo_builds(model):
    from kerasdil.tune.tuners import zoo_default
    from kerasdil.zoo import create_model

    default = zoo_default(model)
    if default["differs"]:
        pytest.skip(f"the zoo default sets {default['differs']}, outside the searched layout")
    assert default["params"] == create_model(model).count_params()


def test_segmenter_scores_without_a_seed_spread_get_no_front_and_hyperband_rows_compare_at_one_budget():
    from kerasdil.tune.report import noise_check

    info = {"settings": {"num_classes": 11, "objective": "val_mean_iou"}}

    def rows(*triples):
        return [{"trial_id": f"{i:02d}", "score": score, "params": params, "epochs": epochs}
                for i, (score, params, epochs) in enumerate(triples)]

    one_budget = rows((0.72, 40_000, 6), (0.70, 30_000, 6), (0.60, 20_000, 6))
    out = noise_check(one_budget, info)
    assert out["front"] == [] and any("no noise estimate for val_mean_iou" in w for w in out["warnings"])
    assert noise_check(one_budget, info, noise=0.01)["front"] == [2, 1, 0]
    # A 2-epoch trial scores lower than it would at 6: it is kept out of the front, with a warning.
    mixed = rows((0.72, 40_000, 6), (0.55, 10_000, 2), (0.60, 20_000, 6))
    out = noise_check(mixed, info, noise=0.01)
    assert out["front"] == [2, 0] and any("only the 2 trained for 6 epochs" in w for w in out["warnings"])
