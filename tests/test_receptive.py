"""Tests for kerasdil.receptive and the `kerasdil rf` command."""

import itertools
import json
from fractions import Fraction
import os
import subprocess
import sys

import numpy as np
import pytest

from kerasdil.receptive import (
    LayerSpec,
    analyze_schedule,
    format_offsets,
    hdc_gridding_free,
    hdc_max_distance,
    is_gridding_free,
    layers_from_model,
    plot_coverage,
    receptive_field,
    receptive_field_of_model,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _brute_force_coverage_1d(layers):
    """Enumerate every path through the taps (rows axis) and count where it lands."""
    counts = {}
    per_layer = []
    jump = 1
    for spec in layers:
        k, s, d = spec.kernel[0], spec.stride[0], spec.dilation[0]
        per_layer.append([jump * (j * d - ((k - 1) * d) // 2) for j in range(k)])
        jump *= s
    for taps in itertools.product(*per_layer):
        offset = sum(taps)
        counts[offset] = counts.get(offset, 0) + 1
    return counts


# --- pinned examples from the issue --------------------------------------------------------


def test_single_3x3_with_dilation_2_touches_9_of_25_offsets():
    rf = receptive_field([LayerSpec(3, dilation=2)])
    assert rf.size == (5, 5)
    assert (rf.touched, rf.total, rf.holes) == (9, 25, 16)
    assert not rf.gridding_free
    assert rf.axis_hole_offsets(0) == (-1, 1)
    assert rf.coverage[rf.origin] == 1


def test_1_2_5_with_kernel_3_is_gridding_free_by_both_rules():
    report = analyze_schedule((1, 2, 5), kernel=3)
    assert report.receptive_field.size == (17, 17)
    assert report.hdc_gridding_free is True
    assert report.coverage_gridding_free is True
    assert report.agree is True
    assert report.receptive_field.holes == 0
    assert is_gridding_free((1, 2, 5)) and hdc_gridding_free((1, 2, 5))


def test_gridding_detected_for_2_4_8():
    report = analyze_schedule((2, 4, 8))
    assert report.hdc_gridding_free is False
    assert report.coverage_gridding_free is False
    assert report.agree is True
    # Every rate is even, so every odd offset is a hole.
    assert report.receptive_field.axis_hole_offsets(0) == tuple(range(-13, 14, 2))
    assert report.receptive_field.touched == 15 * 15


def test_gridding_detected_for_1_2_9_with_holes_at_4_and_5():
    report = analyze_schedule((1, 2, 9))
    assert report.hdc_gridding_free is False
    assert report.coverage_gridding_free is False
    assert report.receptive_field.axis_hole_offsets(1) == (-5, -4, 4, 5)


def test_hdc_max_distance_follows_the_paper_recursion():
    assert hdc_max_distance((1, 2, 5)) == [1, 2, 5]
    assert hdc_max_distance((1, 2, 9)) == [3, 5, 9]  # M_2 = 5 > K = 3
    assert hdc_max_distance((2, 4, 8)) == [2, 4, 8]
    assert hdc_max_distance((7,)) == [7]


def test_hdc_and_coverage_verdicts_agree_on_every_schedule_up_to_length_3():
    disagreements = []
    for length in (1, 2, 3):
        for schedule in itertools.product(range(1, 11), repeat=length):
            if hdc_gridding_free(schedule) != is_gridding_free(schedule, kernel=3):
                disagreements.append(schedule)
    assert disagreements == []


def test_analyze_schedule_reports_agreement_on_the_whole_range():
    for schedule in itertools.product(range(1, 11), repeat=2):
        assert analyze_schedule(schedule).agree is True


def test_hdc_verdict_does_not_depend_on_layer_order_like_coverage():
    # (2, 1) covers -3..3 without holes even though r_1 = 2.
    assert is_gridding_free((2, 1))
    assert hdc_gridding_free((2, 1))
    report = analyze_schedule((5, 2, 1))
    assert report.hdc_order == (1, 2, 5)
    assert report.agree is True
    assert any("ascending" in note for note in report.notes)


def test_single_layer_is_gridding_free_only_with_dilation_1():
    assert is_gridding_free((1,)) and hdc_gridding_free((1,))
    for rate in range(2, 6):
        assert not is_gridding_free((rate,)) and not hdc_gridding_free((rate,))


# --- receptive field size and stride -------------------------------------------------------


def test_three_3x3_layers_have_a_7x7_field():
    rf = receptive_field([LayerSpec(3)] * 3)
    assert rf.size == (7, 7)
    assert rf.stride == (1, 1)
    assert rf.gridding_free


def test_1_2_5_with_kernel_3_has_a_17x17_field():
    rf = receptive_field([LayerSpec(3, 1, r) for r in (1, 2, 5)])
    assert rf.size == (17, 17)


def test_stride_2_layer_then_3x3_has_a_7x7_field_and_stride_2():
    rf = receptive_field([LayerSpec(3, stride=2), LayerSpec(3)])
    assert rf.size == (7, 7)
    assert rf.stride == (2, 2)
    assert rf.gridding_free


def test_stride_spreads_later_taps_and_can_leave_holes():
    # A strided 1x1 layer skips every other pixel; the 3x3 above it reads offsets -2, 0, 2.
    rf = receptive_field([LayerSpec(1, stride=2), LayerSpec(3)])
    assert rf.size == (5, 5)
    assert rf.axis_hole_offsets(0) == (-1, 1)


def test_effective_stride_is_the_product_of_strides():
    rf = receptive_field([LayerSpec(3, 2), LayerSpec(3, (1, 3)), LayerSpec(2, 2)])
    assert rf.stride == (4, 12)


def test_1x1_layers_do_not_change_the_field():
    base = receptive_field([LayerSpec(3, dilation=2), LayerSpec(3)])
    padded = receptive_field([LayerSpec(1), LayerSpec(3, dilation=2), LayerSpec(1), LayerSpec(3), LayerSpec(1)])
    assert padded.size == base.size
    np.testing.assert_array_equal(padded.coverage, base.coverage)


def test_mixed_kernels_give_the_outer_product_of_axis_coverages():
    rf = receptive_field([LayerSpec((3, 1)), LayerSpec((1, 5), dilation=(1, 2))])
    assert rf.size == (3, 9)
    np.testing.assert_array_equal(rf.coverage, np.outer(*rf.axis_coverage))
    assert rf.axis_hole_offsets(0) == ()
    assert rf.axis_hole_offsets(1) == (-3, -1, 1, 3)
    assert rf.holes == 3 * 4


def test_even_kernel_puts_the_extra_tap_after_the_centre():
    rf = receptive_field([LayerSpec(2)])
    assert list(rf.offsets(0)) == [0, 1]
    rf = receptive_field([LayerSpec(4)])
    assert list(rf.offsets(0)) == [-1, 0, 1, 2]
    rf = receptive_field([LayerSpec(2, dilation=3)])
    assert list(rf.offsets(0)) == [-1, 0, 1, 2]
    assert rf.axis_hole_offsets(0) == (0, 1)


def test_coverage_matches_brute_force_path_enumeration():
    stacks = [
        [LayerSpec(3, 1, 2), LayerSpec(3, 2, 1), LayerSpec(3, 1, 3)],
        [LayerSpec(2, 2), LayerSpec(3, 1, 2), LayerSpec(4, 1, 1)],
        [LayerSpec(5, 1, 1), LayerSpec(1, 3), LayerSpec(3, 1, 2)],
        [LayerSpec(3, 1, 1), LayerSpec(3, 1, 2), LayerSpec(3, 1, 5), LayerSpec(3, 1, 9)],
    ]
    for stack in stacks:
        rf = receptive_field(stack)
        expected = _brute_force_coverage_1d(stack)
        got = {int(o): int(c) for o, c in zip(rf.offsets(0), rf.axis_coverage[0]) if c}
        assert got == expected, stack
        assert rf.size[0] == max(expected) - min(expected) + 1


def test_coverage_counts_every_path_once():
    rf = receptive_field([LayerSpec(3, 1, 2), LayerSpec((5, 3), 1, 1)])
    assert int(rf.coverage.sum()) == 9 * 15


def test_path_counts_stay_exact_beyond_int64():
    rf = receptive_field([LayerSpec(3)] * 45)
    assert rf.size == (91, 91)
    assert int(rf.coverage.sum()) == 9**45
    assert rf.coverage[rf.origin] == max(rf.axis_coverage[0]) ** 2


def test_empty_layer_list_is_the_identity():
    rf = receptive_field([])
    assert rf.size == (1, 1) and rf.stride == (1, 1) and rf.gridding_free


def test_layerspec_stores_ints_as_pairs():
    assert LayerSpec(3) == LayerSpec((3, 3), (1, 1), (1, 1))
    assert LayerSpec(3, dilation=2).dilation == (2, 2)
    assert receptive_field([(3, 1, 2)]).size == (5, 5)


# --- bad arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field, value",
    [
        ({"kernel": 3, "dilation": 0}, "dilation", "0"),
        ({"kernel": 3, "dilation": -2}, "dilation", "-2"),
        ({"kernel": 3, "dilation": 2.5}, "dilation", "2.5"),
        ({"kernel": 0}, "kernel", "0"),
        ({"kernel": "3"}, "kernel", "'3'"),
        ({"kernel": True}, "kernel", "True"),
        ({"kernel": (3, 3, 3)}, "kernel", "(3, 3, 3)"),
        ({"kernel": 3, "stride": 0}, "stride", "0"),
    ],
)
def test_bad_layerspec_raises_value_error_naming_field_and_value(kwargs, field, value):
    with pytest.raises(ValueError) as info:
        LayerSpec(**kwargs)
    assert field in str(info.value) and value in str(info.value)


@pytest.mark.parametrize(
    "schedule, shown",
    [((), "empty"), ((1, 0, 5), "0"), ((1, -2), "-2"), ((1, 2.0), "2.0"), ("125", "'125'"), (None, "None")],
)
def test_bad_dilation_schedule_raises_value_error(schedule, shown):
    for check in (is_gridding_free, hdc_max_distance, hdc_gridding_free, analyze_schedule):
        with pytest.raises(ValueError) as info:
            check(schedule)
        assert "dilation_schedule" in str(info.value) and shown in str(info.value)


def test_hdc_rule_is_refused_for_kernels_other_than_3():
    with pytest.raises(ValueError, match="kernel 3"):
        hdc_max_distance((1, 2, 5), kernel=5)
    report = analyze_schedule((1, 2, 5), kernel=5)
    assert report.hdc_gridding_free is None and report.agree is None
    assert report.coverage_gridding_free is True
    assert report.receptive_field.size == (33, 33)
    assert any("3x3" in note for note in report.notes)


def test_hdc_rule_is_not_applied_with_strides():
    report = analyze_schedule((1, 2), strides=(2, 1))
    assert report.hdc_gridding_free is None
    assert report.receptive_field.stride == (2, 2)
    assert report.receptive_field.axis_hole_offsets(0) == (-2, 2)
    with pytest.raises(ValueError, match="strides"):
        analyze_schedule((1, 2), strides=(2,))


def test_format_offsets_writes_symmetric_sets_with_plus_minus():
    assert format_offsets([-5, -4, 4, 5]) == "±4, ±5"
    assert format_offsets(list(range(-9, -1)) + list(range(2, 10))) == "±(2..9)"
    assert format_offsets([0, 1]) == "0, +1"
    assert format_offsets([]) == "none"


# --- plotting ------------------------------------------------------------------------------


def test_plot_coverage_writes_a_png_without_leftovers(tmp_path):
    out = tmp_path / "coverage.png"
    plot_coverage(receptive_field([LayerSpec(3, 1, r) for r in (1, 2, 9)]), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coverage.png"]


def test_plot_coverage_into_a_missing_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plot_coverage(receptive_field([LayerSpec(3)]), tmp_path / "nope" / "x.png")


# --- the CLI -------------------------------------------------------------------------------


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "kerasdil.cli", "rf", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_rf_1_2_5_kernel_3_reports_gridding_free():
    result = _cli("1,2,5", "--kernel", "3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "17 x 17" in out
    assert "effective stride   1 x 1" in out
    assert "gridding-free" in out and "GRIDDING" not in out
    assert "M_1=1, M_2=2, M_3=5" in out
    assert "HDC and coverage agree" in out


def test_cli_rf_2_4_8_reports_gridding_and_holes():
    result = _cli("2,4,8")
    assert result.returncode == 0, result.stderr
    assert "GRIDDING" in result.stdout
    assert "616 holes" in result.stdout
    assert "±1, ±3" in result.stdout
    assert "#.#.#" in result.stdout


def test_cli_rf_accepts_space_separated_schedule():
    result = _cli("1", "2", "9")
    assert result.returncode == 0, result.stderr
    assert "holes              at offsets ±4, ±5" in result.stdout


@pytest.mark.parametrize("schedule, words", [("1,0,5", "0 at position 2"), ("a,b", "whole numbers")])
def test_cli_rf_bad_schedule_exits_2_with_one_clear_sentence(schedule, words):
    result = _cli(schedule)
    assert result.returncode == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_rf_plot_writes_a_valid_png(tmp_path):
    out = tmp_path / "rf.png"
    result = _cli("1,2,9", "--plot", str(out))
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 100 and height > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rf.png"]


def test_cli_rf_json_is_machine_readable():
    result = _cli("1,2,9", "--json", "--stride-at", "3:1")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["receptive_field"] == [25, 25]
    assert report["hole_offsets"]["rows"] == [-5, -4, 4, 5]
    assert report["hdc"]["max_distance"] == [3, 5, 9]
    assert report["agree"] is True


def test_cli_rf_stride_at_outside_the_schedule_exits_2():
    result = _cli("1,2", "--stride-at", "4")
    assert result.returncode == 2
    assert "--stride-at" in result.stderr


def test_importing_receptive_and_the_rf_command_does_not_import_tensorflow():
    code = (
        "import sys, kerasdil.receptive, kerasdil._cli.rf; "
        "heavy = [m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- Keras models --------------------------------------------------------------------------


def test_layers_from_model_reads_conv_depthwise_and_pooling():
    keras = pytest.importorskip("keras")
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(4, 3, dilation_rate=2, padding="same"),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.DepthwiseConv2D(3, dilation_rate=3, padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10),
        ]
    )
    assert layers_from_model(model) == [
        LayerSpec(3, 1, 2),
        LayerSpec(3, 1, 3),
        LayerSpec(2, 2, 1),
    ]
    rf = receptive_field_of_model(model)
    assert rf.size == (12, 12)  # 1 + 2*2 + 2*3 = 11, plus the 2x2 pool
    assert rf.stride == (2, 2)


def test_layers_from_model_follows_the_longest_branch_and_custom_layers():
    keras = pytest.importorskip("keras")
    layers = keras.layers

    class Stack(layers.Layer):
        """Stands in for kerasdil's composite layers."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv = layers.Conv2D(2, 3, padding="same")

        def call(self, x):
            return self.conv(x)

        def receptive_field_layers(self):
            return [LayerSpec(3, 1, 2), LayerSpec(3, 1, 5)]

    inputs = keras.Input((32, 32, 3))
    x = Stack()(inputs)
    wide = layers.Conv2D(2, 3, dilation_rate=6, padding="same")(x)
    narrow = layers.Conv2D(2, 1)(x)
    x = layers.Add()([narrow, wide])
    gate = layers.Dense(2)(layers.GlobalAveragePooling2D(keepdims=True)(x))
    x = layers.Multiply()([x, gate])  # squeeze-and-excitation side branch must not end the chain
    x = layers.Conv2D(2, 3, strides=2, padding="same")(x)
    x = layers.UpSampling2D()(x)
    x = layers.Conv2D(2, 3, padding="same")(x)
    model = keras.Model(inputs, x)
    assert layers_from_model(model) == [
        LayerSpec(3, 1, 2),
        LayerSpec(3, 1, 5),
        LayerSpec(3, 1, 6),
        LayerSpec(3, 2, 1),
        LayerSpec(1, Fraction(1, 2)),  # nearest upsampling: one tap, stride 1/2
        LayerSpec(3, 1, 1),
    ]


# --- upsampling, merges and the zoo's segmenters -------------------------------------------


def _measured_rows(model, input_shape, rows):
    """Extent (in input rows) of the gradient of each output unit in ``rows`` (middle column):
    the receptive field as the model computes it. Layers are linear, so no path is cut."""
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    model.set_weights([rng.uniform(0.5, 1.0, w.shape).astype("float32") for w in model.get_weights()])
    x = tf.constant(rng.random((1, *input_shape)).astype("float32"))
    sizes = []
    for r in rows:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x, training=False)
            unit = tf.reduce_sum(y[0, r, input_shape[1] // 2, :])
        g = np.abs(tape.gradient(unit, x).numpy()[0]).sum(axis=(1, 2))
        touched = np.flatnonzero(g > 0)
        sizes.append(int(touched.max() - touched.min() + 1))
    return sizes


def test_upsampling_is_a_fractional_stride_with_interpolation_taps():
    # Bilinear x2 after a stride-2 layer, then a 3x3 conv at full resolution.
    rf = receptive_field([LayerSpec(3, 2), LayerSpec(2, Fraction(1, 2)), LayerSpec(3)])
    assert rf.stride == (1, 1)
    # The 3x3 reads 3 full-resolution pixels, one low-resolution step; bilinear reads one
    # more: 3 low-resolution pixels, whose stride-2 3x3 spans 2 * (3 - 1) + 3 = 7 inputs.
    assert rf.size == (7, 7)
    # Bilinear x4 after stride 4: the 3x3's three pixels lead to 2 or 3 low-resolution
    # pixels depending on the output unit's phase; the widest unit is reported.
    wide = receptive_field([LayerSpec(3, 4), LayerSpec(2, Fraction(1, 4)), LayerSpec(3)])
    assert wide.size == (4 * 2 + 3, 4 * 2 + 3) and wide.output_position != (0, 0)
    narrow = receptive_field([LayerSpec(3, 4), LayerSpec(2, Fraction(1, 4))] + [LayerSpec(3)] * 2)
    assert narrow.size == wide.size  # 5 pixels span one low-resolution step at every phase
    assert receptive_field([LayerSpec(3, 2), LayerSpec(1, Fraction(1, 2))]).size == (3, 3)  # nearest: 1 tap
    assert receptive_field([LayerSpec(1, Fraction(1, 4))]).stride == (Fraction(1, 4), Fraction(1, 4))
    # A bilinear x3 sample on a pixel reads that pixel only (the phase with 1 tap is not the widest).
    assert receptive_field([LayerSpec(2, Fraction(1, 3))]).size == (2, 2)
    json.dumps(rf.to_dict())


def test_backward_walk_agrees_with_the_forward_coverage_without_upsampling():
    from kerasdil.receptive import _backward_1d, _coverage_1d

    for stack in ([(3, 1, 2), (3, 2, 1), (3, 1, 3)], [(2, 2, 1), (3, 1, 2), (4, 1, 1)], [(5, 1, 1), (1, 3, 1), (3, 1, 2)]):
        kernels, strides, dilations = zip(*stack)
        forward, origin, _ = _coverage_1d(kernels, strides, dilations, np.int64)
        backward, low = _backward_1d(kernels, strides, dilations, 0, np.int64)
        np.testing.assert_array_equal(forward, backward)
        assert origin == -low


def test_layerspec_refuses_strides_that_are_not_int_or_one_over_u():
    for bad in (Fraction(2, 3), 0.5, Fraction(-1, 2)):
        with pytest.raises(ValueError, match="stride"):
            LayerSpec(2, bad)
    with pytest.raises(ValueError, match="dilation must be 1 on an upsampling axis"):
        LayerSpec(3, Fraction(1, 2), 2)
    assert LayerSpec(2, Fraction(2, 1)).stride == (2, 2)


def test_field_through_upsampling_and_merges_matches_the_gradient_of_the_model():
    keras = pytest.importorskip("keras")
    layers = keras.layers
    inputs = keras.Input((96, 8, 1))
    stem = layers.Conv2D(2, 3, padding="same")(inputs)
    x = layers.Conv2D(2, 3, strides=2, padding="same")(stem)
    x = layers.Conv2D(2, 3, dilation_rate=3, padding="same")(x)
    x = layers.AveragePooling2D(2)(x)  # max pooling would pass gradient to one pixel only
    x = layers.Conv2D(2, 3, dilation_rate=2, padding="same")(x)
    x = layers.UpSampling2D(4, interpolation="bilinear")(x)  # back to full resolution
    x = layers.Concatenate()([x, stem, inputs])  # the short paths must not win
    x = layers.Conv2DTranspose(2, 3, padding="same")(x)
    x = layers.Conv2D(2, 3, padding="same")(x)
    model = keras.Model(inputs, x)
    rf = receptive_field_of_model(model)
    measured = _measured_rows(model, (96, 8, 1), range(44, 48))  # one output row per phase
    assert rf.size[0] == max(measured)
    # stride-2 conv, dilated 3x3 at 2, 2x2 pool, dilated 3x3 at 4, bilinear taps at 4
    assert rf.size[0] > 40 and rf.stride == (1, 1)


def test_nearest_upsampling_and_add_match_the_gradient_of_the_model():
    keras = pytest.importorskip("keras")
    layers = keras.layers
    inputs = keras.Input((64, 8, 1))
    x = layers.Conv2D(2, 3, strides=2, padding="same")(inputs)
    skip = x
    x = layers.AveragePooling2D(3, strides=2, padding="same")(x)
    x = layers.Conv2D(2, 3, padding="same")(x)
    x = layers.UpSampling2D(2)(x)
    x = layers.Add()([x, layers.Conv2D(2, 1)(skip)])
    x = layers.UpSampling2D(2)(x)
    x = layers.Conv2D(2, 3, padding="same")(x)
    model = keras.Model(inputs, x)
    rf = receptive_field_of_model(model)
    assert rf.size[0] == max(_measured_rows(model, (64, 8, 1), range(28, 32)))


def test_segmenters_report_their_largest_field_not_the_skip_path():
    pytest.importorskip("keras")
    import keras

    from kerasdil.zoo import deeplab_aspp, mnist_dsdc, unet_baseline

    model = deeplab_aspp()
    # The ASPP features: stem 3, pools and stages at strides 2, 4, 8 (stage4's rates x2),
    # then ASPP's widest branch (rate 6 at stride 8): 1 + 2 + 1 + 32 + 2 + 48 + 4 + 96 + 192 + 96.
    aspp = keras.Model(model.input, model.get_layer("aspp").output)
    assert receptive_field_of_model(aspp).size == (474, 474)
    # Then bilinear x4, two 3x3 at stride 2, bilinear x2, the refinement 3x3: the widest
    # output unit sees 498 pixels (a unit at another phase 490), as its gradient shows.
    assert receptive_field_of_model(model).size == (498, 498)
    assert receptive_field_of_model(unet_baseline()).size == (215, 215)
    assert receptive_field_of_model(mnist_dsdc()).size == (53, 53)


def test_upsampling_1d_stretches_the_rows_axis_only():
    import keras

    from kerasdil.receptive import layers_from_model

    inp = keras.Input((16, 3))
    model = keras.Model(inp, keras.layers.Conv1D(4, 3, padding="same")(keras.layers.UpSampling1D(2)(inp)))
    up = [s for s in layers_from_model(model) if s.stride != (1, 1)]
    assert len(up) == 1 and up[0].stride[1] == 1 and up[0].stride[0] < 1
