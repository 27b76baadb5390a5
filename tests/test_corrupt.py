"""Tests for kerasdil.data.corrupt: the corruption benchmark's image corruptions."""

import importlib
import warnings

import numpy as np
import pytest

from kerasdil.data import (
    CORRUPTION_PARAMETERS,
    CORRUPTIONS,
    SEVERITIES,
    corrupt,
    describe_corruption,
    iter_corruptions,
    load_mnist_arrays,
    resolve_corruptions,
    resolve_severities,
)

# kerasdil.data.corrupt is the function; the module behind it is reached this way.
corrupt_module = importlib.import_module("kerasdil.data.corrupt")

# Corruptions whose output does not depend on the seed.
DETERMINISTIC = {"gaussian_blur", "pixelate", "contrast", "brightness", "thick", "thin"}
RANDOM = [n for n in CORRUPTIONS if n not in DETERMINISTIC]


@pytest.fixture(scope="module")
def digits():
    """16 real MNIST digits (uint8, (16, 28, 28)) from the embedded sample."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arrays = load_mnist_arrays("sample")
    return arrays.x_test[:16]


def test_the_benchmark_covers_the_required_families():
    required = {"gaussian_noise", "shot_noise", "impulse_noise", "gaussian_blur", "motion_blur", "contrast",
                "brightness", "fog", "shift", "rotation", "scale", "shear", "elastic", "lines"}
    assert required <= set(CORRUPTIONS)
    assert all(len(values) == len(SEVERITIES) for _, values in CORRUPTION_PARAMETERS.values())


def test_docstring_table_shows_the_parameters_in_use():
    doc = corrupt_module.__doc__
    for name, (label, values) in CORRUPTION_PARAMETERS.items():
        row = next((line for line in doc.splitlines() if line.startswith(name + " ")), None)
        assert row is not None, name
        assert row.rstrip().endswith(f"{label} " + ", ".join(f"{v:g}" for v in values)), row


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_shape_dtype_and_range_are_kept(name, digits):
    x = digits[:6].astype(np.float32) / 255
    for severity in SEVERITIES:
        out = corrupt(x, name, severity)
        assert out.shape == x.shape and out.dtype == np.float32
        assert 0.0 <= out.min() and out.max() <= 1.0
    with_channel = corrupt(x[..., None], name, 3)
    np.testing.assert_allclose(with_channel[..., 0], corrupt(x, name, 3), atol=1e-6)


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_any_size_and_channel_count(name):
    rgb = np.random.default_rng(1).random((3, 21, 34, 3), dtype=np.float32)
    out = corrupt(rgb, name, 4, seed=2)
    assert out.shape == rgb.shape and out.dtype == np.float32
    assert np.isfinite(out).all() and 0.0 <= out.min() and out.max() <= 1.0


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_same_seed_same_output(name, digits):
    np.testing.assert_array_equal(corrupt(digits, name, 3, seed=7), corrupt(digits, name, 3, seed=7))


@pytest.mark.parametrize("name", RANDOM)
def test_other_seed_and_other_image_get_other_draws(name, digits):
    x = np.repeat(digits[:1], 16, axis=0)  # the same digit 16 times in one batch
    a = corrupt(x, name, 3, seed=0)
    assert not np.array_equal(a, corrupt(x, name, 3, seed=1))
    # Some draws are a coin flip (the sign of a rotation), so compare all 16 copies.
    assert any(not np.array_equal(a[0], other) for other in a[1:]), "each image of a batch needs its own draws"


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_distance_from_clean_grows_with_severity(name, digits):
    x = digits.astype(np.float32) / 255
    distance = [np.abs(corrupt(x, name, s, seed=3) - x).mean() for s in SEVERITIES]
    assert distance[0] > 0.003, distance
    assert all(b > a for a, b in zip(distance, distance[1:])), distance


def test_uint8_is_read_as_pixels_over_255(digits):
    from_uint8 = corrupt(digits, "rotation", 2, seed=1)
    from_float = corrupt(digits.astype(np.float32) / 255, "rotation", 2, seed=1)
    np.testing.assert_allclose(from_uint8, from_float, atol=1e-6)
    assert from_uint8.dtype == np.float32


def test_input_is_not_modified(digits):
    x = digits.astype(np.float32) / 255
    before = x.copy()
    for name in CORRUPTIONS:
        corrupt(x, name, 5)
    np.testing.assert_array_equal(x, before)


def test_empty_batch():
    assert corrupt(np.zeros((0, 28, 28), np.float32), "elastic", 2).shape == (0, 28, 28)


# ------------------------------------------------------------- the table's values are what happens


def test_gaussian_noise_sigma_is_the_tabled_value():
    grey = np.full((64, 32, 32, 1), 0.5, np.float32)  # far from the clip at 0 and 1 for sigma <= 0.18
    for severity in (1, 2, 3):
        sigma = CORRUPTION_PARAMETERS["gaussian_noise"][1][severity - 1]
        assert np.std(corrupt(grey, "gaussian_noise", severity) - grey) == pytest.approx(sigma, rel=0.03)


def test_impulse_noise_hits_the_tabled_fraction():
    grey = np.full((32, 32, 32), 0.5, np.float32)
    p = CORRUPTION_PARAMETERS["impulse_noise"][1][4]
    assert np.mean(corrupt(grey, "impulse_noise", 5) != 0.5) == pytest.approx(p, rel=0.05)


def test_brightness_and_contrast_follow_the_table(digits):
    x = digits.astype(np.float32) / 255
    offset = CORRUPTION_PARAMETERS["brightness"][1][1]
    np.testing.assert_allclose(corrupt(x, "brightness", 2), np.clip(x + offset, 0, 1), atol=1e-6)
    factor = CORRUPTION_PARAMETERS["contrast"][1][2]
    out = corrupt(x, "contrast", 3)
    np.testing.assert_allclose(out.std(axis=(1, 2)), factor * x.std(axis=(1, 2)), rtol=1e-4)


def _centroid(images):
    yy, xx = np.mgrid[: images.shape[1], : images.shape[2]]
    mass = images.sum(axis=(1, 2))
    return np.stack([(images * yy).sum(axis=(1, 2)) / mass, (images * xx).sum(axis=(1, 2)) / mass], 1)


def test_shift_moves_by_the_tabled_fraction():
    dot = np.zeros((8, 40, 40), np.float32)
    dot[:, 18:22, 18:22] = 1.0
    fraction = CORRUPTION_PARAMETERS["shift"][1][2]
    moved = np.linalg.norm(_centroid(corrupt(dot, "shift", 3)) - _centroid(dot), axis=1)
    np.testing.assert_allclose(moved, fraction * 40, atol=0.05)


def test_rotation_turns_by_the_tabled_angle():
    dot = np.zeros((8, 41, 41), np.float32)
    dot[:, 19:22, 29:32] = 1.0  # 10 px right of the centre (20, 20)
    degrees = CORRUPTION_PARAMETERS["rotation"][1][1]
    cy, cx = (_centroid(corrupt(dot, "rotation", 2)) - 20.0).T
    np.testing.assert_allclose(np.abs(np.degrees(np.arctan2(cy, cx))), degrees, atol=0.5)


def test_lines_draws_the_tabled_number_of_strokes():
    from scipy import ndimage

    blank = np.zeros((6, 64, 64), np.float32)
    for severity in (1, 2):
        count = CORRUPTION_PARAMETERS["lines"][1][severity - 1]
        out = corrupt(blank, "lines", severity, seed=4)
        # Strokes may cross, so count at most `count` pieces and at least one.
        pieces = [ndimage.label(img > 0.5)[1] for img in out]
        assert all(1 <= p <= count for p in pieces), pieces
        assert (out > 0.5).mean() > 0.01 * count


# ----------------------------------------------------------------------------- errors


def test_unknown_name_is_one_sentence_listing_the_choices(digits):
    with pytest.raises(ValueError, match=r"unknown corruption 'gausian_noise'; choose from: gaussian_noise, shot_noise"):
        corrupt(digits, "gausian_noise", 1)


@pytest.mark.parametrize("severity", [0, 6, 2.5, True, "3", None])
def test_bad_severity_is_one_sentence(severity, digits):
    with pytest.raises(ValueError, match="severity must be an integer from 1 to 5"):
        corrupt(digits, "shift", severity)


def test_bad_seed_and_bad_images_are_one_sentence(digits):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        corrupt(digits, "shift", 1, seed=-1)
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, H, W, C\); got shape \(28, 28\)"):
        corrupt(digits[0], "shift", 1)
    with pytest.raises(ValueError, match="look like 0..255"):
        corrupt(digits.astype(np.float32), "shift", 1)
    with pytest.raises(ValueError, match="pixels 0..255; got -1..3"):
        corrupt(np.array([[[-1, 3]]]), "shift", 1)
    with pytest.raises(ValueError, match="NaN"):
        corrupt(np.full((1, 4, 4), np.nan), "shift", 1)


def test_selections_are_parsed_and_checked():
    assert resolve_corruptions("all") == CORRUPTIONS
    assert resolve_corruptions(" shift,gaussian_noise , shift") == ("shift", "gaussian_noise")
    assert resolve_corruptions(["fog"]) == ("fog",)
    assert resolve_severities("5, 1") == (1, 5)
    assert resolve_severities(3) == (3,)
    with pytest.raises(ValueError, match="unknown corruption 'blurr'"):
        resolve_corruptions("shift,blurr")
    with pytest.raises(ValueError, match="no corruption named"):
        resolve_corruptions(",")
    with pytest.raises(ValueError, match="integers from 1 to 5 separated by commas"):
        resolve_severities("1,x")
    with pytest.raises(ValueError, match="got 7"):
        resolve_severities("1,7")
    assert describe_corruption("gaussian_noise", 4) == "gaussian_noise sigma=0.26"


def test_iter_corruptions_checks_everything_before_the_first_image(digits):
    with pytest.raises(ValueError, match="unknown corruption"):
        iter_corruptions(digits, "shift,nope")
    with pytest.raises(ValueError, match="severity"):
        iter_corruptions(digits, "shift", "1,9")
    cells = [(name, s) for name, s, _ in iter_corruptions(digits[:2], "fog,shift", (5, 1))]
    assert cells == [("fog", 1), ("fog", 5), ("shift", 1), ("shift", 5)]
