"""kerasdil.tune for deeplab_aspp: the segmenter space, its constraints, exact costs, a tiny search, errors.

Bounded: 32x32 scenes from the embedded MNIST sample, width 4, 32 training
scenes, 1 epoch per trial, 2 trials.
"""

import json
import os
import warnings

import pytest

from kerasdil.tune.constraints import (
    DEEPLAB_ASPP,
    MNIST_DSDC,
    Constraints,
    ScheduleSpace,
    SegmenterSpace,
    decode_candidate,
    decode_options,
    encode_candidate,
    prune,
)

DEFAULT_SCHEDULE = ((1, 2, 5), (1, 2, 3), (1, 2, 3), (1, 2, 3))
TINY_INPUT = (32, 32, 1)
# 3 stage-1/2 schedules each, 1 later-stage schedule, 2 ASPP tuples (3 and 2 branches), 2 output strides.
TINY_SPACE = SegmenterSpace(depths=(2,), rates=(1, 2, 3), widths=(4,), later_stage_schedules=((1, 2),),
                            aspp_rates=((1, 2, 3), (2, 4)), output_strides=(8, 16))


def _tiny_budget():
    """The parameters of the tiny space's candidates with two ASPP branches (those with three have more)."""
    return DEEPLAB_ASPP.measure(((1, 2), (1, 2), (1, 2), (1, 2)), 4, TINY_INPUT, 11,
                                {"aspp_rates": (2, 4), "output_stride": 16}).params


# ---------------------------------------------------------------- pure Python


def test_segmenter_space_enumerates_its_size_and_holds_the_default():
    space = SegmenterSpace()
    candidates = DEEPLAB_ASPP.candidates(space)
    assert len(candidates) == space.size(stages=4) == 10 * 10 * 2 * 2 * 2 * 4 * 3
    assert DEEPLAB_ASPP.default_key in {c.key for c in candidates}
    assert len({c.key for c in candidates}) == len(candidates)
    assert SegmenterSpace.from_dict(space.to_dict()) == space
    # A plain ScheduleSpace given for the segmenter takes the default menus.
    assert DEEPLAB_ASPP.check_space(ScheduleSpace(depths=(2,), widths=(8,))).aspp_rates == space.aspp_rates
    with pytest.raises(ValueError, match="SegmenterSpace"):
        MNIST_DSDC.check_space(SegmenterSpace())


def test_candidate_key_carries_aspp_rates_and_output_stride():
    options = {"aspp_rates": (2, 4, 6), "output_stride": 8}
    key = encode_candidate(DEFAULT_SCHEDULE, 18, options)
    assert key == "s1=1,2,5;s2=1,2,3;s3=1,2,3;s4=1,2,3;w=18;aspp=2,4,6;os=8" == DEEPLAB_ASPP.default_key
    assert decode_candidate(key) == (DEFAULT_SCHEDULE, 18)
    assert decode_options(key) == options
    assert decode_options("s1=1,2;s2=1,3;w=8") == {}
    with pytest.raises(ValueError, match="unknown option"):
        decode_options("s1=1,2;w=8;zz=3")
    with pytest.raises(ValueError, match="has no option"):
        MNIST_DSDC.measure(((1, 2), (1, 2)), 8, options={"output_stride": 8})


def test_gridding_verdict_judges_stages_at_their_natural_stride_and_the_whole_chain():
    at = {os_: DEEPLAB_ASPP.measure(DEFAULT_SCHEDULE, 18, options={"output_stride": os_}) for os_ in (4, 8, 16)}
    assert at[16].stage_rates == DEFAULT_SCHEDULE
    assert at[8].stage_rates[3] == (2, 4, 6)
    assert at[4].stage_rates[2:] == ((2, 4, 6), (4, 8, 12))
    # A multiplied stage's taps alone sit on even offsets, but earlier stages fill those
    # holes: every stage passes at its natural stride and the whole chain is hole-free.
    assert all(c.gridding_free and c.model_gridding_free and c.gridding_verdict == "free" for c in at.values())
    # A stage that grids at its own stride is caught at every output stride.
    # A chain whose stages pass but whose whole coverage has holes is caught too.
    wide = DEEPLAB_ASPP.measure(DEFAULT_SCHEDULE, 18, options={"aspp_rates": (40,), "output_stride": 16})
    assert all(wide.stage_gridding_free) and not wide.model_gridding_free
    assert not wide.gridding_free and wide.gridding_verdict == "grids (whole chain)"
    gridded = ((2, 4),) + DEFAULT_SCHEDULE[1:]
    for os_ in (8, 16):
        c = DEEPLAB_ASPP.measure(gridded, 18, options={"output_stride": os_})
        assert not c.gridding_free and c.gridding_verdict == "grids in s1"


def test_receptive_field_is_the_backbone_plus_the_widest_aspp_branch():
    def rf(aspp, os_):
        return DEEPLAB_ASPP.measure(DEFAULT_SCHEDULE, 18, options={"aspp_rates": aspp, "output_stride": os_}) \
            .receptive_field[0]

    # A 3x3 branch at rate r on a map of stride s adds 2 * r * s input pixels.
    assert rf((2, 4, 8), 8) - rf((1, 2, 3), 8) == 2 * (8 - 3) * 8
    assert rf((3, 1), 16) == rf((1, 2, 3), 16)  # only the widest branch counts, in any order
    # Trading stride for dilation keeps the backbone's field less the pool it drops (8 pixels at
    # 1/8); the ASPP rates are used as given, so at 1/8 a branch reaches half as far.
    assert rf((1,), 16) - rf((1,), 8) == 8 + 2 * 1 * (16 - 8)


def test_prune_reports_what_each_constraint_removed():
    budget = 100_000  # the default has 104,672 params, the largest candidate of the space
    constraints = Constraints(gridding_free=True, min_receptive_field=300, max_params=budget)
    result = prune(DEEPLAB_ASPP, None, constraints)
    assert result.raw == 9600
    assert list(result.removed_sequential) == ["gridding_free", "min_receptive_field", "max_params"]
    assert all(result.removed_individual[name] > 0 for name in result.removed_individual)
    assert result.raw - sum(result.removed_sequential.values()) == len(result.survivors) > 0
    for c in result.survivors:
        assert c.gridding_free and min(c.receptive_field) >= 300 and c.params <= budget
    assert {c.option_values["output_stride"] for c in result.survivors} == {4, 8, 16}
    text = result.summary()
    assert "gridding_free" in text and "max_params" in text and "searchable" in text


def test_output_stride_that_does_not_divide_the_input_is_refused():
    with pytest.raises(ValueError, match="output stride 8 does not divide the input size 64x84"):
        prune(DEEPLAB_ASPP, SegmenterSpace(output_strides=(4, 8)), Constraints(), input_shape=(64, 84, 1))
    assert prune(DEEPLAB_ASPP, SegmenterSpace(output_strides=(4,)), Constraints(), input_shape=(64, 84, 1)).raw
    with pytest.raises(ValueError, match="output_strides must come from"):
        SegmenterSpace(output_strides=(2,))
    with pytest.raises(ValueError, match="aspp_rates"):
        SegmenterSpace(aspp_rates=((0, 2),))


def test_budget_that_removes_everything_says_how_far_off_it_is():
    result = prune(DEEPLAB_ASPP, TINY_SPACE, Constraints(max_params=1000), input_shape=TINY_INPUT)
    assert not result.survivors
    message = result.empty_message(Constraints(max_params=1000))
    assert "max_params removed 36" in message
    assert f"the smallest candidate has {result.extremes['params']:,} parameters" in message


# ---------------------------------------------------------------- against the built model


@pytest.mark.parametrize("input_shape, schedule, width, aspp, os_", [
    ((64, 80, 1), DEFAULT_SCHEDULE, 18, (2, 4, 6), 8),
    ((32, 32, 1), ((1, 3), (1, 2, 5), (1, 2), (1, 2, 3)), 4, (2, 4), 16),
    ((32, 48, 1), ((2, 3), (1, 2), (1, 2, 3), (1, 2)), 6, (1, 2, 3, 5), 4),
])
def test_params_macs_and_field_match_the_built_model(input_shape, schedule, width, aspp, os_):
    import keras

    from kerasdil.receptive import layers_from_model
    from kerasdil.zoo import deeplab_aspp
    from kerasdil.zoo.stats import count_macs

    model = deeplab_aspp(input_shape=input_shape, **DEEPLAB_ASPP.builder_kwargs(schedule, width, aspp, os_))
    measured = DEEPLAB_ASPP.measure(schedule, width, input_shape, 11, {"aspp_rates": aspp, "output_stride": os_})
    assert measured.params == model.count_params()
    assert measured.macs == count_macs(model)
    # The field is measured on the chain up to the ASPP output, as the model itself reads it.
    features = keras.Model(model.input, model.get_layer("aspp").output)
    assert DEEPLAB_ASPP.layer_specs(schedule, input_shape, aspp, os_) == layers_from_model(features)


@pytest.mark.parametrize("input_shape, schedule, aspp, os_", [
    ((64, 80, 1), ((1, 2), (1, 2, 3), (1, 2)), (2, 4, 6), 8),
    ((96, 96, 1), ((1, 3), (1, 2, 4), (1,)), (1, 2, 3), 16),
    ((32, 48, 1), ((2,), (1, 2), (1, 2, 3)), (1, 2), 4),
])
def test_mobile_family_params_macs_and_field_match_the_built_model(input_shape, schedule, aspp, os_):
    import keras

    from kerasdil.receptive import layers_from_model
    from kerasdil.tune.constraints import DEEPLAB_ASPP_MOBILE
    from kerasdil.zoo import create_model
    from kerasdil.zoo.stats import count_macs

    kwargs = DEEPLAB_ASPP_MOBILE.builder_kwargs(schedule, 16, aspp, os_)
    assert kwargs["stem"] == "strided" and kwargs["decoder"] == "light" and kwargs["dilation_schedule"][0] == ()
    model = create_model("deeplab_aspp", input_shape=input_shape, **kwargs)
    measured = DEEPLAB_ASPP_MOBILE.measure(schedule, 16, input_shape, 11, {"aspp_rates": aspp, "output_stride": os_})
    assert measured.params == model.count_params()
    assert measured.macs == count_macs(model)
    features = keras.Model(model.input, model.get_layer("aspp").output)
    assert DEEPLAB_ASPP_MOBILE.layer_specs(schedule, input_shape, aspp, os_) == layers_from_model(features)


def test_mobile_family_default_is_the_shipped_mobile_configuration():
    from kerasdil.tune.constraints import DEEPLAB_ASPP_MOBILE
    from kerasdil.tune.tuners import zoo_default
    from kerasdil.zoo import create_model
    from kerasdil.zoo.deeplab_aspp.plan import MOBILE_CONFIG

    built = create_model("deeplab_aspp", **DEEPLAB_ASPP_MOBILE.default_builder_kwargs())
    reference = create_model("deeplab_aspp", **MOBILE_CONFIG)
    assert built.get_config() == reference.get_config()
    d = zoo_default("deeplab_aspp_mobile")
    assert d["params"] == reference.count_params() == 47_950 and d["differs"] == {}
    space = DEEPLAB_ASPP_MOBILE.default_space()
    assert space.widths == (16,) and space.output_strides == (8,)
    assert DEEPLAB_ASPP_MOBILE.default_key in [c.key for c in DEEPLAB_ASPP_MOBILE.candidates(space)]


def test_family_mirrors_the_zoo_builder():
    from kerasdil.zoo.deeplab_aspp import plan

    assert tuple(m for _, _, m in plan.BACKBONE_STAGES) == (2, 3, 4, 4)
    assert tuple(s for _, s, _ in plan.BACKBONE_STAGES) == DEEPLAB_ASPP.default_schedule
    assert plan.OUTPUT_STRIDES == SegmenterSpace().output_strides
    assert plan.BACKBONE_WIDTH == DEEPLAB_ASPP.default_width
    assert tuple(plan.SEGMENTATION_INPUT_SHAPE) == DEEPLAB_ASPP.input_shape


# ---------------------------------------------------------------- CLI errors


def test_cli_refuses_bad_segmenter_arguments_in_one_sentence(tmp_path, capsys):
    from kerasdil.cli import main

    d = str(tmp_path / "s")
    assert main(["tune", "deeplab_aspp", "--dir", d, "--input-size", "64x84", "--output-strides", "4,8"]) == 2
    err = capsys.readouterr().err
    assert "output stride 8 does not divide the input size 64x84" in err and "Traceback" not in err
    assert main(["tune", "deeplab_aspp", "--dir", d, "--input-size", "32x32", "--widths", "4", "--depths", "2",
                 "--max-params", "1k", "--data", "sample"]) == 2
    err = capsys.readouterr().err
    assert "no candidate is left" in err and "smallest candidate has" in err and "Traceback" not in err
    assert main(["tune", "mnist_dsdc", "--dir", d, "--aspp-rates", "1,2,3"]) == 2
    assert "segmenters (deeplab_aspp) only" in capsys.readouterr().err
    assert main(["tune", "mnist_dsdc", "--dir", d, "--scene-scale", "0.5,2"]) == 2
    assert "--scene-scale applies to segmenters (deeplab_aspp) only" in capsys.readouterr().err
    assert main(["tune", "mnist_dsdc", "--dir", d, "--scene-unit-share", "0.5"]) == 2
    assert "--scene-unit-share applies to segmenters (deeplab_aspp) only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tune", "deeplab_aspp", "--dir", d, "--scene-digits", "1"])
    assert "digits per scene must be two ints" in capsys.readouterr().err
    assert main(["tune", "deeplab_aspp", "--dir", d, "--aspp-rates", "1,x"]) == 2
    assert "--aspp-rates" in capsys.readouterr().err
    assert not os.path.exists(d)


def test_search_scenes_argument_is_checked_and_reaches_the_scene_generator():
    import numpy as np

    from kerasdil.tune.tuners import _check_scenes, _load_scenes
    from kerasdil.zoo import model_info

    with pytest.raises(ValueError, match="segmenters .deeplab_aspp. only, not mnist_dsdc"):
        _check_scenes({"scale_range": (0.5, 2.0)}, MNIST_DSDC, (28, 28, 1))
    with pytest.raises(ValueError, match="scenes= must be a dict of digits_per_image, .*the canvas is input_shape"):
        _check_scenes({"canvas": (96, 96)}, DEEPLAB_ASPP, (96, 96, 1))
    with pytest.raises(ValueError, match="`scale_range` must satisfy 0 < low <= high"):
        _check_scenes({"scale_range": (2.0, 0.5)}, DEEPLAB_ASPP, (96, 96, 1))
    with pytest.raises(ValueError, match="smaller than the largest digit"):  # 2x digits (56 px) on a 32 px canvas
        _check_scenes({"scale_range": (0.5, 2.0)}, DEEPLAB_ASPP, (32, 32, 1))
    assert _check_scenes({"digits_per_image": (1, 5), "unit_scale_share": 0.5}, DEEPLAB_ASPP, (96, 96, 1)) == \
        {"digits_per_image": [1, 5], "unit_scale_share": 0.5}

    def digit_pixels(scenes):
        _, val = _load_scenes(model_info("deeplab_aspp"), (64, 64, 1), "sample", 16, 16, 16, 0, False,
                              lambda _: None, scenes)
        return sum(int(np.count_nonzero(np.asarray(y))) for _, y in val)

    # Digits at half size cover about a quarter of the pixels: the setting reaches the scenes.
    assert digit_pixels({"scale_range": [0.5, 0.5], "digits_per_image": [2, 2]}) < \
        0.5 * digit_pixels({"scale_range": [1.0, 1.0], "digits_per_image": [2, 2]})


# ---------------------------------------------------------------- a real tiny search


@pytest.fixture(scope="module")
def tiny_search(tmp_path_factory):
    pytest.importorskip("keras_tuner")
    pytest.importorskip("tensorboard")
    from kerasdil.cli import main

    directory = str(tmp_path_factory.mktemp("tune_deeplab"))
    budget = _tiny_budget()
    argv = ["tune", "deeplab_aspp", "--tuner", "random", "--max-trials", "2", "--epochs", "1", "--dir", directory,
            "--input-size", "32x32", "--depths", "2", "--rates", "1,2,3", "--widths", "4",
            "--later-stage-schedules", "1,2", "--aspp-rates", "1,2,3/2,4", "--output-strides", "8,16",
            "--gridding-free", "--min-receptive-field", "32", "--max-params", str(budget),
            "--data", "sample", "--limit", "32", "--validation-size", "16", "--batch-size", "16", "--seed", "1",
            "--scene-scale", "0.6,1.0", "--scene-digits", "1,2", "--verbose", "0"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(argv)
    assert code == 0
    return directory, os.path.join(directory, "deeplab_aspp"), Constraints(gridding_free=True,
                                                                           min_receptive_field=32, max_params=budget)


def test_tiny_search_finishes_and_its_best_candidate_satisfies_the_constraints(tiny_search, capsys):
    directory, project, constraints = tiny_search
    with open(os.path.join(project, "kerasdil_search.json")) as f:
        info = json.load(f)
    assert info["settings"]["objective"] == "val_mean_iou"
    assert info["settings"]["input_shape"] == [32, 32, 1]
    assert info["settings"]["scenes"] == {"scale_range": [0.6, 1.0], "digits_per_image": [1, 2]}
    pruning = info["pruning"]
    assert pruning["raw"] == 36 and pruning["survivors"] == 8
    assert pruning["removed_sequential"] == {"gridding_free": 20, "min_receptive_field": 0, "max_params": 8}
    trials = []
    for d in sorted(os.listdir(project)):
        if d.startswith("trial_"):
            with open(os.path.join(project, d, "trial.json")) as f:
                trials.append(json.load(f))
    assert [t["status"] for t in trials] == ["COMPLETED", "COMPLETED"]
    assert all("val_mean_iou" in t["metrics"]["metrics"] for t in trials)
    best = max(trials, key=lambda t: t["score"])
    key = best["hyperparameters"]["values"]["candidate"]
    c = DEEPLAB_ASPP.measure_key(key, TINY_INPUT)
    assert c.gridding_free and min(c.receptive_field) >= constraints.min_receptive_field
    assert c.params <= constraints.max_params
    assert c.option_values["aspp_rates"] == (2, 4) and c.option_values["output_stride"] in (8, 16)
    assert 0.0 <= best["score"] <= 1.0


def test_tune_report_lists_aspp_rates_and_output_stride_and_exports_the_best(tiny_search, capsys):
    import keras
    import numpy as np

    from kerasdil.cli import main

    directory, project, _ = tiny_search
    assert main(["tune-report", directory]) == 0
    out = capsys.readouterr().out
    assert "| rank | trial | schedule | width | ASPP rates | output stride | receptive field |" in out
    assert "val_mean_iou" in out and "| 2,4 | 16 |" in out
    with open(os.path.join(project, "leaderboard.csv")) as f:
        header = f.readline().strip().split(",")
    assert header[3:6] == ["width", "aspp_rates", "output_stride"]
    model = keras.models.load_model(os.path.join(project, "best.keras"), safe_mode=True)
    assert model.predict(np.zeros((1, 32, 32, 1), "float32"), verbose=0).shape == (1, 32, 32, 11)
    assert os.path.getsize(os.path.join(project, "pareto.png")) > 0


def test_mobile_search_on_varied_scenes_reevaluates_against_the_mobile_configuration(tmp_path, capsys):
    pytest.importorskip("keras_tuner")
    pytest.importorskip("tensorboard")
    from kerasdil.cli import main
    from kerasdil.zoo.deeplab_aspp.plan import MOBILE_CONFIG

    directory = str(tmp_path / "mobile")
    argv = ["tune", "deeplab_aspp_mobile", "--tuner", "random", "--max-trials", "1", "--epochs", "1",
            "--dir", directory, "--input-size", "32x32", "--depths", "1", "--rates", "1,2",
            "--later-stage-schedules", "1", "--aspp-rates", "1,2", "--data", "sample", "--limit", "16",
            "--validation-size", "8", "--batch-size", "8", "--scene-scale", "0.5,1.0", "--verbose", "0",
            "--reevaluate-top", "1", "--seeds", "0,1", "--reevaluate-epochs", "1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| zoo default | 1,2 / 1,2,3 / 1,2, ASPP 2,4,6, OS 8 |" in out and "## Re-evaluation over seeds 0,1" in out
    assert " / 1, ASPP 1,2, OS 8 |" in out  # the searched candidate's full description
    project = os.path.join(directory, "deeplab_aspp_mobile")
    info = json.load(open(os.path.join(project, "kerasdil_search.json")))
    assert info["default"]["schedule"] == [list(r) for r in MOBILE_CONFIG["dilation_schedule"][1:]]
    assert info["settings"]["scenes"] == {"scale_range": [0.5, 1.0]}
    trial = next(d for d in sorted(os.listdir(project)) if d.startswith("trial_"))
    key = json.load(open(os.path.join(project, trial, "trial.json")))["hyperparameters"]["values"]["candidate"]
    assert key.startswith("s1=") and ";s3=1;" in key
    assert main(["tune-report", directory, "--no-export"]) == 0
    report = open(os.path.join(project, "leaderboard.md")).read()
    assert "deeplab_aspp(**MOBILE_CONFIG)" in report and "stage 2 / stage 3 / stage 4" in report
    assert "32x32, digit scale 0.5-1" in report
