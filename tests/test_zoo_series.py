"""series_dsdc, the time-series zoo entry: its schedule covers the series, its cost model
matches the built model, the recipe is sized by the data, and the verbs run on series."""

import json
import os

import numpy as np
import pytest

from kerasdil.receptive import covers_length, receptive_field_of_model
from kerasdil.zoo import create_model, model_info
from kerasdil.zoo.series_dsdc.model import default_schedule
from kerasdil.zoo.series_dsdc.record import series_dsdc_cost


@pytest.mark.parametrize("steps", [24, 150, 427])
def test_default_schedule_receptive_field_covers_the_series(steps):
    model = create_model("series_dsdc", input_shape=(steps, 2), num_classes=3)
    assert receptive_field_of_model(model).size[1] >= steps
    assert covers_length(default_schedule(steps), steps - 6, kernel=9)


def test_cost_model_matches_the_built_model():
    model = create_model("series_dsdc", input_shape=(60, 3), num_classes=4, dilation_schedule=(1, 2, 4), width=16)
    params, _ = series_dsdc_cost((1, 2, 4), 16, (60, 3), 4)
    assert params == model.count_params()


def test_recipe_is_sized_by_the_number_of_series():
    from kerasdil.run import size_schedule
    from kerasdil.zoo.registry import model_info

    sizing = model_info("series_dsdc").record.data_recipe
    schedules = []
    for n, batch in ((36, 16), (270, 32)):
        schedules.append(size_schedule(num_train=n, batch_size=batch, min_steps=sizing["min_steps"],
                                       passes=sizing["passes"], patience=sizing["patience"],
                                       min_patience=sizing["min_patience"], num_validation=n // 5))
    for schedule in schedules:
        assert 1500 <= schedule.epochs * schedule.steps_per_epoch < 1500 + schedule.steps_per_epoch
        assert schedule.patience == sizing["min_patience"]
    assert schedules[0].epochs > schedules[1].epochs  # fewer series: more epochs for the same steps


def test_bad_input_shape_names_the_argument():
    with pytest.raises(ValueError, match=r"series_dsdc: `input_shape` must be \(steps, channels\)"):
        create_model("series_dsdc", input_shape=(28, 28, 1))


def _separable_series(path, n=48, steps=32):
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    t = np.linspace(0, 1, steps)
    x = np.stack([np.sin(2 * np.pi * (2 + 3 * c) * t) for c in y]) + 0.3 * rng.normal(size=(n, steps))
    np.savez(path, x=x, y=y, x_test=x[:16], y_test=y[:16])
    return path


def test_train_on_a_series_npz_learns_and_records_the_data(tmp_path):
    from kerasdil.train import train

    data = _separable_series(str(tmp_path / "waves.npz"))
    out = str(tmp_path / "run")
    result = train("series_dsdc", out_dir=out, data=data, epochs=12, verbose=0, log=lambda *a: None,
                   model_kwargs={"width": 16})
    assert result.metrics["accuracy"] > 0.7
    with open(os.path.join(out, "data.json")) as f:
        record = json.load(f)
    assert record["kind"] == "series_npz" and record["input_shape"] == [32, 1]
    with open(os.path.join(out, "run.json")) as f:
        run = json.load(f)
    assert run["early_stopping_patience"] > 0 and run["batch_size"] == 16


@pytest.mark.slow
def test_export_of_a_series_model_keeps_1d_dilated_convs_native_in_tflite(tmp_path):
    from kerasdil.export import export

    model = create_model("series_dsdc", input_shape=(32, 1), num_classes=2, width=16)
    data = _separable_series(str(tmp_path / "waves.npz"))
    report = export(model, out_dir=str(tmp_path / "exp"), formats=("tflite", "onnx"), quantize=("float32", "int8"),
                    data=data)
    assert report.passed, report.failures
    dilated = len(default_schedule(32)) - 1  # every block but the rate-1 one
    for artifact in report.artifacts:
        assert "SPACE_TO_BATCH_ND" not in artifact.audit["ops"]
        assert artifact.audit["dilated_native"] == artifact.audit["dilated_expected"] == dilated, artifact.path


def test_record_lists_series_dsdc_as_a_classifier_of_series():
    info = model_info("series_dsdc")
    assert info.task == "classification" and len(info.input_shape) == 2


def test_search_family_measures_the_field_in_steps_and_matches_the_cost_model():
    from kerasdil.tune import Constraints, get_family, prune

    family = get_family("series_dsdc")
    default = family.measure(family.default_schedule, 64)
    assert default.receptive_field == (255, 255) and default.model_gridding_free
    model = create_model("series_dsdc", **family.builder_kwargs(((1, 2, 4),), 32))
    assert family.measure(((1, 2, 4),), 32).params == model.count_params()
    kept = prune(family, family.default_space(), Constraints(min_receptive_field=150)).survivors
    assert kept and all(min(c.receptive_field) >= 150 for c in kept)


def test_macs_of_the_built_model_match_the_cost_model():
    from kerasdil.zoo.stats import count_macs

    model = create_model("series_dsdc", input_shape=(60, 3), num_classes=4, dilation_schedule=(1, 2, 4), width=16)
    assert count_macs(model) == series_dsdc_cost((1, 2, 4), 16, (60, 3), 4)[1]


@pytest.mark.slow
def test_schedule_search_on_series_keeps_only_schedules_whose_field_covers_the_length(tmp_path):
    from kerasdil.tune import Constraints, ScheduleSpace, make_report, search

    data = _separable_series(str(tmp_path / "waves.npz"), steps=40)
    space = ScheduleSpace(depths=(2, 3), rates=(1, 2, 4), widths=(8,))
    result = search("series_dsdc", directory=str(tmp_path / "tune"), tuner="random", max_trials=2, epochs=1,
                    batch_size=8, space=space, constraints=Constraints(min_receptive_field=40), data=data,
                    verbose=0, log=lambda *a: None)
    assert result is not None
    report = make_report(str(tmp_path / "tune"), export=False)
    assert report["rows"]
    for row in report["rows"]:
        field = row["receptive_field"]
        assert (min(field) if isinstance(field, (list, tuple)) else int(str(field).split("x")[0])) >= 40


@pytest.mark.slow
def test_reevaluation_retrains_on_the_searchs_series_and_reports_their_test_split(tmp_path):
    from kerasdil.tune import ScheduleSpace, reevaluate, search
    from kerasdil.tune.reevaluation import format_reevaluation

    data = _separable_series(str(tmp_path / "waves.npz"), steps=40)
    search("series_dsdc", directory=str(tmp_path / "tune"), tuner="random", max_trials=1, epochs=1, batch_size=8,
           space=ScheduleSpace(depths=(2,), rates=(1, 2, 4), widths=(8,)), data=data, verbose=0,
           log=lambda *a: None)
    result = reevaluate(str(tmp_path / "tune"), top=1, seeds=(0, 1), epochs=2, log=lambda *a: None)
    assert [r["n"] for r in result.rows] == [2, 2] and [r["test_n"] for r in result.rows] == [2, 2]
    assert all(0.0 <= v <= 1.0 for r in result.rows for v in r["test_scores"].values())
    assert "On the test split (never used to choose)" in result.verdict
    assert "test mean | test range" in format_reevaluation(result)


def test_a_long_series_gets_a_strided_stem_and_still_a_covering_field():
    from kerasdil.zoo.series_dsdc.record import stem_stride

    model = create_model("series_dsdc", input_shape=(1460, 1), num_classes=10, width=8)
    assert stem_stride(1460) == 4 and model.get_layer("stem").strides == 4
    assert receptive_field_of_model(model).size[1] >= 1460
    assert series_dsdc_cost(default_schedule(1460), 8, (1460, 1), 10)[0] == model.count_params()


def _waves(n=48, steps=32, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    t = np.linspace(0, 1, steps)
    return np.stack([np.sin(2 * np.pi * (2 + 3 * c) * t) for c in y]) + 0.3 * rng.normal(size=(n, steps)), y


def test_plain_arrays_and_datasets_for_a_series_entry_are_read_as_series():
    import tensorflow as tf

    from kerasdil.data.pipeline import resolve_data
    from kerasdil.data.series import SeriesSpec

    x, y = _waves()
    info = model_info("series_dsdc")
    for data in ((x, y), (x[..., None], y), tf.data.Dataset.from_tensor_slices((x, y)).batch(8), {"train": (x, y)}):
        plan = resolve_data(data, info=info, data_options={"normalize": "none"})
        assert isinstance(plan.spec, SeriesSpec) and plan.spec.input_shape == (32, 1), type(data)
        assert plan.spec.record["normalize"] == "none" and plan.noun == "series"
    assert resolve_data((np.zeros((6, 8, 8, 1)), np.arange(6) % 2), info=model_info("mnist_dsdc")).noun == "images"


def test_train_and_finetune_take_plain_arrays_of_series(tmp_path):
    from kerasdil.finetune import finetune
    from kerasdil.train import train

    x, y = _waves()
    logs = []
    result = train("series_dsdc", out_dir=str(tmp_path / "run"), data=(x, y), epochs=2, verbose=0, log=logs.append,
                   model_kwargs={"width": 8})
    assert result.model.input_shape == (None, 32, 1)
    assert any("48 series" in line or "series ->" in line for line in logs) and not any("images" in line for line in logs)
    x3, y3 = _waves(n=36, classes=3, seed=1)
    tuned = finetune("series_dsdc", str(tmp_path / "run" / "model.keras"), out_dir=str(tmp_path / "ft"), data=(x3, y3),
                     epochs=2, head_epochs=1, verbose=0, log=lambda *a: None, model_kwargs={"width": 8})
    assert tuned.model.output_shape == (None, 3) and tuned.metrics["transferred_layers"] == ["stem", "stage1"]


def test_export_data_reads_arrays_for_a_series_model_as_series():
    from kerasdil.export import ExportOptions
    from kerasdil.export._data import resolve

    x, y = _waves(n=20, steps=40)
    found = resolve(ExportOptions(data=(x[:, :30], y), num_representative=8), model_name="series_dsdc",
                    task="classification", input_shape=(32, 1), need_representative=True, num_classes=2)
    assert found.x.shape[1:] == (32, 1) and found.representative.shape == (8, 32, 1)  # brought to the model's steps


def test_cli_series_flags_reach_the_data_and_data_json_and_the_lines_say_series(tmp_path, capsys):
    from kerasdil.cli import main

    x, y = _waves()
    path = str(tmp_path / "unequal")
    for i, (row, label) in enumerate(zip(x, y)):
        os.makedirs(os.path.join(path, f"class{label}"), exist_ok=True)
        np.savetxt(os.path.join(path, f"class{label}", f"{i}.csv"), row[: 24 + i % 9], delimiter=",")  # unequal
    run = str(tmp_path / "run")
    assert main(["train", "series_dsdc", "--data", path, "--out", run, "--epochs", "1", "--series-unequal", "pad",
                 "--series-normalize", "none", "--model-kwargs", '{"width": 8}', "--quiet"]) == 0
    out = capsys.readouterr().out
    with open(os.path.join(run, "data.json")) as f:
        record = json.load(f)
    assert record["unequal"] == "pad" and record["normalize"] == "none" and record["validity_channel"] is True
    assert record["input_shape"] == [32, 2] and "images" not in out and "series" in out
    assert main(["evaluate", os.path.join(run, "model.keras")]) == 0  # the run's options, read back
    assert "images" not in capsys.readouterr().out
    assert main(["evaluate", os.path.join(run, "model.keras"), "--data", path, "--out", str(tmp_path / "ev")]) == 0
    assert "validity channel" in capsys.readouterr().out  # padded for the masking model without being told


def test_cli_series_flags_are_refused_for_image_data(tmp_path, capsys):
    from kerasdil.cli import main
    from tests._image_folders import digits_folder

    folder = digits_folder(str(tmp_path / "digits"))
    code = main(["train", "mnist_dsdc", "--data", folder, "--out", str(tmp_path / "run"), "--epochs", "1",
                 "--series-normalize", "none"])
    assert code == 2 and not os.path.exists(str(tmp_path / "run"))
    assert "normalize (--series-normalize) applies to time series, and this data is images" in capsys.readouterr().err


def test_finetune_across_lengths_builds_the_target_with_the_sources_blocks(tmp_path):
    from kerasdil.finetune import finetune

    source = create_model("series_dsdc", input_shape=(24, 1), num_classes=2, width=8)  # schedule (1, 2)
    path = str(tmp_path / "short.keras")
    source.save(path)
    x, y = _waves(n=30, steps=64, classes=3)  # the default schedule for 64 steps has more blocks
    assert len(default_schedule(64)) > 2
    logs = []
    tuned = finetune("series_dsdc", path, out_dir=str(tmp_path / "ft"), data=(x, y), epochs=2, head_epochs=1,
                     verbose=0, log=logs.append)
    assert tuned.model.get_layer("stage1").dilation_schedule == (1, 2) and tuned.model.input_shape == (None, 64, 1)
    assert tuned.metrics["transferred_layers"] == ["stem", "stage1"]
    assert any("source's blocks (dilation schedule (1, 2), width 8)" in line for line in logs)
