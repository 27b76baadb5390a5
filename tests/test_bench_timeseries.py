"""tools/bench_timeseries.py: one small set, one seed, tiny budgets, every model; resume; resampling."""

import importlib.util
import json
import os

import numpy as np
import pytest

TOOL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "bench_timeseries.py")


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_timeseries", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_resample_keeps_the_ends_and_the_channels(bench):
    series = np.array([[0.0, 1.0, 4.0], [2.0, 2.0, 2.0]])
    out = bench.resample(series, 5)
    assert out.shape == (2, 5)
    np.testing.assert_allclose(out[:, [0, -1]], [[0.0, 4.0], [2.0, 2.0]])
    np.testing.assert_allclose(out[0, 2], 1.0)


def test_unequal_length_set_is_resampled_to_one_length_and_says_so(bench):
    data = bench.load_set("JapaneseVowels")
    assert data["x"].shape[1:] == data["x_test"].shape[1:] == (26, 12)
    assert "resampled to 26 steps" in data["note"]


def test_unknown_set_or_model_exits_2(bench):
    for argv in (["--sets", "Nope"], ["--models", "rocket9000"], ["--seeds", "0"]):
        with pytest.raises(SystemExit) as stop:
            bench.parse_args(argv)
        assert stop.value.code == 2


def test_latency_only_takes_unfitted_keras_models_and_tcn_widths_only_there(bench):
    for argv in (["--latency-only", "--models", "minirocket"], ["--tcn-filters", "24,32"],
                 ["--tcn-filters", "0"], ["--latency-only", "--latency-rounds", "0"],
                 ["--latency-only", "--models", "tcn", "--tcn-filters", "24,24"],
                 ["--latency-only", "--table-only", "--models", "tcn"]):
        with pytest.raises(SystemExit) as stop:
            bench.parse_args(argv)
        assert stop.value.code == 2, argv
    assert bench.parse_args(["--latency-only", "--models", "tcn", "--tcn-filters", "24,32"]).tcn_filters == [24, 32]


def test_latency_only_times_the_entrys_architecture_on_the_sets_shape(bench, tmp_path):
    from kerasdil.zoo import create_model

    bench.main(["--latency-only", "--models", "zoo:series_dsdc", "--sets", "ItalyPowerDemand", "--latency-rounds", "1",
                "--out", str(tmp_path)])
    with open(tmp_path / "latency.json") as f:
        row = json.load(f)["ItalyPowerDemand"]["zoo:series_dsdc"]
    assert row["params"] == create_model("series_dsdc", input_shape=(24, 1), num_classes=2).count_params()
    assert row["int8_batch1_ms"] > 0 and row["float32_batch1_ms"] > 0
    assert "| ItalyPowerDemand | zoo:series_dsdc |" in (tmp_path / "latency.md").read_text()


def test_tcn_dilations_cover_the_series(bench):
    dilations = bench.tcn_dilations(150)
    assert 1 + 4 * sum(dilations) >= 150 > 1 + 4 * sum(dilations[:-1])


@pytest.mark.slow
def test_one_set_one_seed_runs_every_model_and_resumes(bench, tmp_path, capsys):
    # The peers that need a long budget or keras-tcn (installed by hand, --no-deps) are left to the benchmark.
    models = ["minirocket", "minirocket_clip", "aeon_minirocket"]
    argv = ["--sets", "ItalyPowerDemand", "--seeds", "1", "--epochs", "2", "--models", ",".join(models),
            "--out", str(tmp_path)]
    bench.main(argv)
    with open(tmp_path / "bench_timeseries.json") as f:
        runs = json.load(f)["runs"]
    assert sorted(runs) == sorted(f"ItalyPowerDemand/{m}/0" for m in models)
    for key, run in runs.items():
        assert 0.0 <= run["accuracy"] <= 1.0 and run["params"] > 0, key
    assert runs["ItalyPowerDemand/minirocket/0"]["accuracy"] > 0.8  # MiniRocket needs no training budget
    run = runs["ItalyPowerDemand/minirocket/0"]
    assert run["int8_batch1_ms"] > 0 and run["float32_forbidden_ops"] == [] and run["float32_dilated_convs"] > 0
    clip = runs["ItalyPowerDemand/minirocket_clip/0"]  # the int8 form: int8 TFLite holds float32's accuracy
    assert abs(clip["int8_accuracy"] - clip["float32_accuracy"]) <= 0.02
    table = (tmp_path / "bench_timeseries.md").read_text()
    assert "| ItalyPowerDemand | minirocket | 1 |" in table
    capsys.readouterr()
    bench.main(argv)  # everything is in the JSON already: nothing is fitted again
    assert "fitting" not in capsys.readouterr().out


@pytest.mark.slow
def test_zoo_entry_without_its_own_fit_trains_as_the_cli_does(bench, tmp_path):
    # series_dsdc has no fit_series_dsdc: the bench trains it with kerasdil.train.train on aeon:NAME,
    # so its accuracy is the one the run engine reports for the test split.
    bench.main(["--sets", "ItalyPowerDemand", "--seeds", "1", "--models", "zoo:series_dsdc", "--no-litert",
                "--out", str(tmp_path)])
    with open(tmp_path / "bench_timeseries.json") as f:
        run = json.load(f)["runs"]["ItalyPowerDemand/zoo:series_dsdc/0"]
    assert run["fit"]["recipe"] == "kerasdil.train.train"
    assert run["fit"]["batch_size"] == 16  # sized by the data: a tenth of 67 series, at least 16
    assert run["accuracy"] == pytest.approx(run["engine_test_accuracy"], abs=1e-6)
    assert run["accuracy"] > 0.8
