"""Schedule search under corrupt state files, and the chief's exposure on the network."""

import os
import re
import shutil
import warnings

import pytest

from kerasdil.tune.constraints import Constraints, ScheduleSpace
from kerasdil.tune.distributed import is_loopback, parse_address, tuner_environment

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_SPACE = ScheduleSpace(depths=(2,), rates=(1, 2, 3, 4), widths=(2,))
SEARCH = dict(tuner="random", max_trials=2, epochs=1, space=TINY_SPACE, constraints=Constraints(gridding_free=True),
              data="sample", limit=192, validation_size=128, batch_size=64, seed=3, verbose=0, log=lambda s: None)


# ---------------------------------------------------------------- the chief's address


def test_chief_without_host_listens_on_loopback():
    assert parse_address("8000") == ("127.0.0.1", 8000)
    assert parse_address(":8000") == ("127.0.0.1", 8000)
    assert parse_address("[::1]:8000") == ("::1", 8000)
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "localhost", "::1"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "10.0.0.1", "::", "chief.example.org"))
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address("10.0.0.1")


def test_chief_on_another_interface_is_warned_about_what_it_exposes():
    with pytest.warns(UserWarning, match="without authentication.*made-up scores.*--chief 8000 listens on loopback"):
        with tuner_environment("chief", "0.0.0.0:8000"):
            assert os.environ["KERASTUNER_ORACLE_IP"] == "0.0.0.0"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with tuner_environment("chief", "8000"):
            assert os.environ["KERASTUNER_ORACLE_IP"] == "127.0.0.1"
        with tuner_environment("worker", "127.0.0.1:8000", 0):  # workers dial; they expose nothing
            pass


def test_readme_examples_keep_the_chief_on_loopback():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    chiefs = re.findall(r"--chief\s+(\S+)", text)
    assert chiefs, "the README shows a distributed search"
    for address in chiefs:
        host = address.rpartition(":")[0].strip("[]") or "127.0.0.1"
        assert is_loopback(host), f"README example --chief {address} listens beyond this machine"
    assert "authentication" in text


# ---------------------------------------------------------------- corrupt state files


@pytest.fixture(scope="module")
def finished_search(tmp_path_factory):
    pytest.importorskip("keras_tuner")
    pytest.importorskip("tensorboard")
    from kerasdil.tune.tuners import search

    directory = str(tmp_path_factory.mktemp("tune") / "search")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = search("mnist_dsdc", directory=directory, **SEARCH)
    assert sorted(result.trials.values()) == ["COMPLETED", "COMPLETED"]
    return directory, result


def _copy(finished_search, tmp_path):
    directory, result = finished_search
    copy = str(tmp_path / "search")
    shutil.copytree(directory, copy)
    return copy, os.path.join(copy, os.path.basename(result.project_dir))


def _truncate(path):
    with open(path, "r+") as f:
        size = len(f.read())
        f.truncate(size // 2)


def test_report_names_a_truncated_trial_and_exits_1(finished_search, tmp_path, capsys):
    from kerasdil.cli import main

    directory, project = _copy(finished_search, tmp_path)
    trials = sorted(d for d in os.listdir(project) if d.startswith("trial_"))
    broken = os.path.join(project, trials[0], "trial.json")
    _truncate(broken)
    code = main(["tune-report", directory, "--no-export"])
    captured = capsys.readouterr()
    assert code == 1
    assert f"{trials[0]} was skipped: {broken} is unreadable" in captured.err and "Traceback" not in captured.err
    assert "INCOMPLETE" in captured.out  # the leaderboard says so too
    with open(os.path.join(project, "leaderboard.md")) as f:
        assert trials[0] in f.read().split("INCOMPLETE", 1)[1]

    from kerasdil.tune.report import load_trials

    with pytest.warns(UserWarning, match=f"{trials[0]} was skipped"):
        assert len(load_trials(project)) == 1  # the library never drops one silently either


@pytest.mark.parametrize("name", ["oracle.json", "trial", "kerasdil_search.json"])
def test_resuming_over_a_truncated_state_file_names_it_and_the_way_out(finished_search, tmp_path, name):
    from kerasdil.tune.tuners import search

    directory, project = _copy(finished_search, tmp_path)
    if name == "trial":
        name = os.path.join(sorted(d for d in os.listdir(project) if d.startswith("trial_"))[1], "trial.json")
    broken = os.path.join(project, name)
    _truncate(broken)
    with pytest.raises(ValueError, match="is truncated or corrupt") as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search("mnist_dsdc", directory=directory, **SEARCH)
    assert broken in str(info.value) and "--overwrite" in str(info.value)
    if name != "oracle.json":
        return
    with warnings.catch_warnings():  # the way out works
        warnings.simplefilter("ignore")
        result = search("mnist_dsdc", directory=directory, overwrite=True, **{**SEARCH, "max_trials": 1})
    assert list(result.trials.values()) == ["COMPLETED"]
