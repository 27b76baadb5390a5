"""Tests for the named scene generators and their options (kerasdil.data._scene_generators, SceneConfig)
and the scene-generator benchmark (kerasdil.robustness.evaluate_scene_generators, evaluate --scene-generators)."""

import json

import numpy as np
import pytest

from kerasdil.data import MnistArrays
from kerasdil.data.scenes import (
    SCENE_GENERATORS,
    SceneConfig,
    load_scenes_arrays,
    make_mixed_scenes,
    make_scenes,
    mnist_scenes,
    resolve_scene_generators,
    scene_generator,
)


def bar_digits(n, seed):
    """n 28x28 'digits': a bright bar 4 px from the box's edge whose place depends on the class."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        c = i % 10
        x[i, 4 + c : 9 + c, 4:24] = rng.integers(200, 256)
    return x, (np.arange(n) % 10).astype(np.uint8)


@pytest.fixture(scope="module")
def arrays():
    (xt, yt), (xs, ys) = bar_digits(100, 1), bar_digits(40, 2)
    return MnistArrays(x_train=xt, y_train=yt, x_test=xs, y_test=ys, source="bars", is_sample=False)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(scale_law="normal"), "scale_law"),
        (dict(placement="grid"), "placement"),
        (dict(placement="cluster"), "overlap='max' or overlap='occlude'"),
        (dict(border_cut=0.6), "border_cut"),
        (dict(border_cut=True), "border_cut"),
        (dict(clutter=(3, 1)), "clutter"),
        (dict(clutter=(1.5, 2)), "clutter"),
    ],
)
def test_bad_generator_options_are_clear_errors(kwargs, words):
    with pytest.raises(ValueError, match=words):
        SceneConfig(**kwargs)


def test_new_options_are_recorded_only_when_set():
    assert set(SceneConfig().as_dict()) == {"canvas_size", "digits_per_image", "scale_range", "overlap", "threshold"}
    recorded = scene_generator("clutter").as_dict()
    assert recorded["scale_law"] == "log_uniform" and recorded["clutter"] == [1, 4] and recorded["border_cut"] == 0.25
    assert "placement" not in recorded


def test_log_uniform_law_draws_as_many_shrunk_digits_as_grown_ones(arrays):
    common = dict(num_scenes=150, source=arrays, scale_range=(0.5, 2.0), digits_per_image=(1, 2), canvas_size=(64, 64))
    medians = [float(np.nanmedian(load_scenes_arrays("test", scale_law=law, **common).scales))
               for law in ("uniform", "log_uniform")]
    assert 1.1 < medians[0] < 1.4 and 0.85 < medians[1] < 1.15


def test_cluster_placement_makes_digits_touch(arrays):
    common = dict(num_scenes=40, source=arrays, digits_per_image=(2, 2), canvas_size=(160, 160), overlap="occlude")
    near, overlapping = {}, {}
    for placement in ("uniform", "cluster"):
        scenes = load_scenes_arrays("test", placement=placement, **common)
        # The second digit's box covers part of the first's (the later digit owns the overlap) ...
        overlapping[placement] = float(np.mean([(inst == 1).sum() < 28 * 28 for inst in scenes.instances]))
        # ... and lies at most 0.9 of a box side from it (Chebyshev distance of the boxes' corners).
        corners = [[np.argwhere(inst == k).min(0) for k in (1, 2)] for inst in scenes.instances]
        near[placement] = float(np.mean([np.abs(a - b).max() <= 26 for a, b in corners]))
    assert overlapping["cluster"] > 0.9 and near["cluster"] > 0.9
    assert overlapping["uniform"] < 0.3 and near["uniform"] < 0.3


def test_border_cut_lets_digits_cross_the_canvas_border(arrays):
    def edge_ink(**kwargs):
        scenes = load_scenes_arrays("test", num_scenes=60, source=arrays, canvas_size=(40, 40), digits_per_image=(1, 1),
                                    **kwargs)
        edges = np.concatenate([scenes.images[:, 0], scenes.images[:, -1], scenes.images[:, :, 0],
                                scenes.images[:, :, -1]], axis=1)
        return float(np.mean(edges.max(1) > 0))

    assert edge_ink() == 0.0 and edge_ink(border_cut=0.5) > 0.2


def test_clutter_strokes_are_ink_labelled_background(arrays):
    scenes = load_scenes_arrays("test", num_scenes=20, source=arrays, canvas_size=(64, 64), clutter=(2, 2))
    stroke = scenes.images >= 128
    assert (stroke & (scenes.masks == 0)).sum() > 20 * 50  # each scene has long background strokes
    assert (scenes.masks[~stroke] == 0).all()
    plain = load_scenes_arrays("test", num_scenes=20, source=arrays, canvas_size=(64, 64))
    assert ((plain.images >= 128) == (plain.masks > 0)).all()


@pytest.mark.parametrize("name", list(SCENE_GENERATORS))
def test_every_named_generator_makes_its_scenes(arrays, name):
    config = scene_generator(name)
    scenes = load_scenes_arrays("test", num_scenes=8, source=arrays, config=config)
    assert scenes.images.shape == (8, *config.canvas_size) and scenes.masks.max() > 0
    assert scene_generator(name, canvas_size=(80, 80)).canvas_size == (80, 80)


def test_generator_names_resolve_with_clear_errors():
    assert resolve_scene_generators("all") == tuple(SCENE_GENERATORS)
    assert resolve_scene_generators(" touching,crowd") == ("touching", "crowd")
    for bad, words in (("touching,blobs", "unknown scene generator 'blobs'"), ("crowd,crowd", "named twice"),
                       ([], "at least one")):
        with pytest.raises(ValueError, match=words):
            resolve_scene_generators(bad)


def test_a_mixture_shares_out_the_scenes_and_is_deterministic(arrays):
    images, masks = make_mixed_scenes(arrays.x_train, arrays.y_train, 11, "standard,clutter", canvas_size=(64, 64),
                                      seed=3, epoch=2)
    again = make_mixed_scenes(arrays.x_train, arrays.y_train, 11, ["standard", "clutter"], canvas_size=(64, 64),
                              seed=3, epoch=2)
    np.testing.assert_array_equal(images, again[0])
    assert images.shape == masks.shape == (11, 64, 64)
    cluttered = ((images >= 128) & (masks == 0)).reshape(11, -1).any(1)
    assert cluttered.sum() == 5  # 6 standard scenes (clean), 5 cluttered ones, in shuffled order
    assert not cluttered[:6].all()
    # Generator k draws its own stream: the standard part is the same whatever follows it.
    alone = make_scenes(arrays.x_train, arrays.y_train, 6, config=scene_generator("standard", canvas_size=(64, 64)),
                        seed=3, epoch=2, stream=1)[0]
    assert sorted(a.tobytes() for a in alone) == sorted(a.tobytes() for a in images[~cluttered])


def test_mnist_scenes_trains_on_a_mixture_and_refuses_other_fields(arrays):
    train = mnist_scenes("train", batch_size=4, num_scenes=8, source=arrays, generators="touching,crowd",
                         canvas_size=(64, 64), new_scenes_every_epoch=True)
    x, y = next(iter(train))
    assert x.shape == (4, 64, 64, 1) and y.shape == (4, 64, 64)
    fixed = mnist_scenes("validation", batch_size=4, num_scenes=6, source=arrays, generators="all", canvas_size=(96, 96))
    assert sum(int(b[0].shape[0]) for b in fixed) == 6
    with pytest.raises(ValueError, match="takes only `canvas_size`"):
        mnist_scenes("train", source=arrays, generators="all", scale_range=(0.5, 2.0))


def _pixel_model():
    import keras

    inputs = keras.Input((None, None, 1))
    return keras.Model(inputs, keras.layers.Conv2D(11, 1)(inputs), name="pixels")


def test_scene_generator_benchmark_scores_each_generator(arrays, tmp_path):
    from kerasdil.robustness import evaluate_scene_generators, format_scene_generators

    result = evaluate_scene_generators(_pixel_model(), arrays, "standard,touching", num_scenes=5, out_dir=str(tmp_path),
                                       verbose=0)
    assert result["generators"] == ["standard", "touching"]
    assert all(0 <= r["miou"] <= 1 for r in result["scores"].values())
    assert result["scores"]["touching"]["scene"]["placement"] == "cluster"
    assert json.loads((tmp_path / "scene_generators.json").read_text())["mean_miou"] == result["mean_miou"]
    table = format_scene_generators(result)
    assert "touching" in table and "96x96" in table


def test_scene_generator_benchmark_needs_a_rebuild_for_a_fixed_size_model(arrays):
    import keras

    from kerasdil.robustness import evaluate_scene_generators

    inputs = keras.Input((64, 80, 1))
    fixed = keras.Model(inputs, keras.layers.Conv2D(11, 1)(inputs))
    with pytest.raises(ValueError, match="pass model_at"):
        evaluate_scene_generators(fixed, arrays, "varied", num_scenes=2, verbose=0)
    result = evaluate_scene_generators(fixed, arrays, "standard,varied", num_scenes=2, verbose=0,
                                       model_at=lambda canvas: _pixel_model())
    assert set(result["scores"]) == {"standard", "varied"}


def test_evaluate_command_scores_every_generator(arrays, tmp_path, capsys):
    from kerasdil.cli import main

    mnist_file = tmp_path / "mnist.npz"
    np.savez(mnist_file, x_train=arrays.x_train, y_train=arrays.y_train, x_test=arrays.x_test, y_test=arrays.y_test)
    out = tmp_path / "eval"
    assert main(["evaluate", "deeplab_aspp:scenes_mobile", "--data", str(mnist_file), "--limit", "3",
                 "--scene-generators", "standard,clutter", "--out", str(out)]) == 0
    result = json.loads((out / "scene_generators.json").read_text())
    assert result["generators"] == ["standard", "clutter"] and result["num_scenes"] == 3
    assert "mean mIoU over 2 generators" in capsys.readouterr().out
    for argv, words in ((["evaluate", "deeplab_aspp:scenes_mobile", "--scene-generators", "blobs"], "unknown scene"),
                        (["evaluate", "mnist_dsdc:mnist", "--scene-generators", "all"], "apply to segmenters")):
        assert main([*argv, "--data", "sample", "--out", str(tmp_path / "x")]) == 2
        assert words in capsys.readouterr().err


def test_train_command_refuses_a_mixture_with_scene_fields(tmp_path, capsys):
    from kerasdil.cli import main

    assert main(["train", "deeplab_aspp", "--data", "sample", "--scene-generators", "all", "--scene-scale", "0.5,2",
                 "--out", str(tmp_path / "a")]) == 2
    assert "leave out scale_range" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
