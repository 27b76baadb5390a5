import warnings
import json
import os

import keras
import numpy as np
import pytest

from kerasdil.layers import fold_batchnorm
from kerasdil.zoo import create_model, keras_io_convnet, list_models, mnist_conv, mnist_dsdc, model_info
from kerasdil.zoo.stats import count_macs
from kerasdil.zoo.weights_io import read_weights, save_weights


def test_registry_lists_mnist_models_with_patterns():
    assert list_models("mnist_*") == ["mnist_conv", "mnist_dsdc"]
    assert "keras_io_convnet" in list_models(task="classification")
    assert list_models("nothing*") == []


def test_unknown_model_is_clear_error():
    with pytest.raises(ValueError, match="unknown zoo model 'mnist_dscd'; registered models: .*mnist_dsdc"):
        create_model("mnist_dscd")


def test_peer_baseline_matches_keras_io_param_count():
    assert keras_io_convnet().count_params() == 34826


def test_mnist_dsdc_has_at_most_half_the_peer_params():
    assert mnist_dsdc().count_params() <= 34826 // 2


def test_count_macs_of_peer_by_hand():
    # conv1 26*26*9*32 + conv2 11*11*9*32*64 + dense 1600*10
    assert count_macs(keras_io_convnet()) == 26 * 26 * 9 * 32 + 11 * 11 * 9 * 32 * 64 + 1600 * 10


# The width-18 six-block topology (mnist_conv's default, and mnist_dsdc:mnist_w18's).
W18 = dict(width=18, stem="pool", stage_filters=None, dilation_schedule=((1, 2, 5), (1, 2, 3)))


def test_mnist_conv_is_same_topology_with_plain_convs():
    dsdc, conv = mnist_dsdc(**W18), mnist_conv()
    assert [l.name for l in dsdc.layers] == [l.name for l in conv.layers]
    assert conv.count_params() > dsdc.count_params()


def test_schedule_argument_changes_blocks_and_flat_schedule_applies_to_both_stages():
    model = mnist_dsdc(dilation_schedule=(1, 3))
    assert model.get_layer("stage1").dilation_schedule == (1, 3)
    assert model.get_layer("stage2").dilation_schedule == (1, 3)
    with pytest.raises(ValueError, match="dilation_schedule"):
        mnist_dsdc(dilation_schedule=((1, 2), (1, 0)))


def test_include_top_false_returns_feature_map():
    model = mnist_dsdc(include_top=False)
    assert model.output.shape == (None, 7, 7, 64)


def test_weights_round_trip_through_npz(tmp_path):
    model = mnist_dsdc(width=4)
    path = str(tmp_path / "w.npz")
    save_weights(model, path, config={"width": 4})
    clone = mnist_dsdc(width=4, weights=path)
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(clone(x), model(x), atol=1e-6)
    header, arrays = read_weights(path)
    assert header["config"] == {"width": 4} and len(arrays) == len(model.weights)


def test_weights_for_another_schedule_are_refused_with_clear_error(tmp_path):
    old = dict(W18, width=4)
    model = mnist_dsdc(**old)
    path = str(tmp_path / "w.npz")
    save_weights(model, path, config={"width": 4})
    with pytest.raises(ValueError, match="do not fit model 'mnist_dsdc'.*width=4 in the file but 8 in the model"):
        mnist_dsdc(**dict(old, width=8), weights=path)
    with pytest.raises(ValueError, match="variables the model lacks|missing from the file"):
        mnist_dsdc(**dict(old, dilation_schedule=((1, 2), (1, 2))), weights=path)


def test_weights_for_another_class_count_are_refused(tmp_path):
    path = str(tmp_path / "w.npz")
    save_weights(mnist_dsdc(width=4), path)
    with pytest.raises(ValueError, match="classifier/kernel has shape"):
        mnist_dsdc(width=4, num_classes=5, weights=path)


def test_corrupt_weights_file_is_clear_error(tmp_path):
    path = str(tmp_path / "w.npz")
    save_weights(mnist_dsdc(width=4), path)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(ValueError, match="corrupt or truncated"):
        mnist_dsdc(width=4, weights=path)


def test_missing_weights_path_or_tag_is_clear_error():
    with pytest.raises(FileNotFoundError, match="neither a pretrained tag of mnist_dsdc"):
        mnist_dsdc(weights="no_such_tag")


def test_failed_load_leaves_model_untouched(tmp_path):
    path = str(tmp_path / "w.npz")
    save_weights(mnist_dsdc(width=4), path)
    model = mnist_dsdc(width=4, num_classes=5)
    before = [w.copy() for w in model.get_weights()]
    from kerasdil.zoo.weights_io import assign_weights

    with pytest.raises(ValueError):
        assign_weights(model, read_weights(path)[1], source=path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_zoo_model_saves_and_loads_as_keras_file(tmp_path):
    model = mnist_dsdc(width=4)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = np.random.default_rng(1).random((3, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


def test_shipped_weights_cards_are_consistent():
    from kerasdil.zoo.weights_io import sha256_of

    for name in list_models():
        for tag, w in model_info(name).pretrained.items():
            assert sha256_of(w.path) == w.sha256, f"{name}:{tag}"


@pytest.mark.skipif(not model_info("mnist_dsdc").pretrained, reason="no pretrained weights shipped yet")
def test_pretrained_mnist_dsdc_classifies_sample_digits():
    from kerasdil import data

    arrays = data.load_mnist_arrays("sample")
    model = mnist_dsdc(weights="mnist")
    pred = np.asarray(model(data.normalize(arrays.x_test), training=False)).argmax(-1)
    assert (pred == arrays.y_test).mean() > 0.98


@pytest.mark.skipif("mnist_w18" not in model_info("mnist_dsdc").pretrained, reason="no shipped mnist_dsdc:mnist_w18")
def test_mnist_w18_weights_build_their_own_architecture_and_classify_sample_digits():
    from kerasdil import data
    from kerasdil.zoo import create_model

    arrays = data.load_mnist_arrays("sample")
    model = create_model("mnist_dsdc:mnist_w18")
    assert model.get_layer("stem").output.shape[1:] == (28, 28, 18)  # the full-size stem of its card
    assert model.get_layer("stage1").output.shape[-1] == 36 and model.count_params() == 14986
    pred = np.asarray(model(data.normalize(arrays.x_test), training=False)).argmax(-1)
    assert (pred == arrays.y_test).mean() > 0.98
    # The plain builder keeps its own defaults; the refusal says how to get the right architecture.
    with pytest.raises(ValueError, match=r"create_model\('mnist_dsdc:mnist_w18'\) builds the architecture"):
        mnist_dsdc(weights="mnist_w18")


def test_default_classifier_is_the_shipped_architecture_with_16_multiple_channels():
    model = mnist_dsdc()
    assert model.get_layer("stem").output.shape[1:] == (14, 14, 32)
    assert "stage1" not in [layer.name for layer in model.layers]
    assert model.get_layer("stage2").output.shape[1:] == (7, 7, 64)
    assert model.count_params() <= 20_000
    if "mnist" in model_info("mnist_dsdc").pretrained:
        assert create_model("mnist_dsdc:mnist").count_params() == model.count_params()


def test_mnist_dsdc_half_size_stems_replace_the_first_pool():
    from kerasdil.zoo import mnist_dsdc

    for stem in ("strided", "space_to_depth"):
        model = mnist_dsdc(width=8, stem=stem, dilation_schedule=((1, 3), (1, 2, 3)))
        names = [layer.name for layer in model.layers]
        assert "pool1" not in names and "pool2" in names
        assert model.get_layer("stem").output.shape[1:3] == (14, 14)
        assert model.output_shape == (None, 10)
    assert model.get_layer("stem").conv.kernel.shape == (3, 3, 4, 8)  # the 2x2 patches became channels
    with pytest.raises(ValueError, match="stem"):
        mnist_dsdc(stem="big")


def test_weights_for_another_stem_load_with_a_warning_naming_the_difference():
    from kerasdil.zoo import create_model, model_info

    if "mnist" not in model_info("mnist_dsdc").pretrained:
        pytest.skip("no shipped mnist_dsdc:mnist")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shipped architecture loads silently
        create_model("mnist_dsdc:mnist")
    with pytest.warns(UserWarning, match="stem='strided' in the file but 'pool' in the model"):
        create_model("mnist_dsdc:mnist", stem="pool")


def test_stage_filters_set_each_stage_width_and_are_checked():
    model = mnist_dsdc(width=8, stage_filters=(16, 32), dilation_schedule=((1, 2), (1, 2)))
    assert model.get_layer("stage1").output.shape[-1] == 16
    assert model.get_layer("stage2").output.shape[-1] == 32
    default = mnist_dsdc(width=8, stage_filters=None, dilation_schedule=((1, 2), (1, 2)))
    assert default.get_layer("stage2").output.shape[-1] == 24  # None: 3 x width
    for bad in ((16,), (16, 0), "16,32", 16):
        with pytest.raises(ValueError, match="stage_filters"):
            mnist_dsdc(width=8, stage_filters=bad)


def test_weights_refused_for_other_stage_filters(tmp_path):
    path = str(tmp_path / "w.weights.npz")
    model = mnist_dsdc(width=8, stage_filters=(16, 32), dilation_schedule=((1, 2), (1, 2)))
    save_weights(model, path, config={"width": 8, "stage_filters": [16, 32]})
    with pytest.raises(ValueError):
        mnist_dsdc(width=8, stage_filters=(16, 48), dilation_schedule=((1, 2), (1, 2)), weights=path)
    mnist_dsdc(width=8, stage_filters=(16, 32), dilation_schedule=((1, 2), (1, 2)), weights=path)


def test_batchnorm_false_builds_the_nets_without_bn_and_biased_convs(tmp_path):
    kwargs = dict(width=8, dilation_schedule=((1, 2), (1, 2)))
    for builder in (mnist_dsdc, mnist_conv):
        with_bn, without = builder(**kwargs), builder(batchnorm=False, **kwargs)
        bns = [l for l in without._flatten_layers() if isinstance(l, keras.layers.BatchNormalization)]
        assert not bns
        assert any(isinstance(l, keras.layers.BatchNormalization) for l in with_bn._flatten_layers())
        convs = [l for l in without._flatten_layers() if isinstance(l, keras.layers.Conv2D)]
        assert convs and all(l.use_bias for l in convs)
        assert without.output_shape == with_bn.output_shape == (None, 10)
        assert without.count_params() < with_bn.count_params()
        x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
        np.testing.assert_allclose(fold_batchnorm(without)(x, training=False), without(x, training=False), atol=1e-6)
    with pytest.raises(ValueError, match="batchnorm"):
        mnist_dsdc(batchnorm="no")
    # Weights made with BN do not load into the net without it.
    path = str(tmp_path / "w.weights.npz")
    save_weights(with_bn, path, config={"width": 8})
    with pytest.raises(ValueError):
        mnist_conv(batchnorm=False, weights=path, **kwargs)


def test_the_mnist_benchmark_runs_and_pairs_each_epoch_with_the_peers(tmp_path):
    import importlib.util
    import statistics

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "bench_mnist.py")
    spec = importlib.util.spec_from_file_location("bench_mnist", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(["--data", "sample", "--epochs", "3", "--models", "keras_io_convnet",
                      "--variant", 'mnist_dsdc/small={"width": 4}', "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "bench_mnist.json").read_text())
    peer, small = result["rows"]
    assert peer["model"] == "keras_io_convnet" and small["model"] == "mnist_dsdc/small"
    assert len(small["epoch_seconds"]) == 3 and peer["epoch_ratios_to_peer"] == [1.0, 1.0]
    # Epochs 2 and 3, each over the peer's epoch of the same round.
    expected = [a / b for a, b in zip(small["epoch_seconds"][1:], peer["epoch_seconds"][1:])]
    assert small["epoch_ratios_to_peer"] == pytest.approx(expected)
    assert small["ratio_seconds_per_epoch_paired"] == pytest.approx(statistics.median(expected))
    assert "| x peer by round |" in (tmp_path / "bench_mnist.md").read_text()


def test_a_stage_without_blocks_sends_the_stem_straight_to_the_next_pool():
    model = mnist_dsdc(width=32, stem="strided", stage_filters=(32, 64), dilation_schedule=((), (1, 2, 3)))
    names = [layer.name for layer in model.layers]
    assert "stage1" not in names and "stage2" in names
    assert model.get_layer("stage2").output.shape[1:] == (7, 7, 64)
    with pytest.raises(ValueError, match="at least one block"):
        mnist_dsdc(dilation_schedule=((), ()))
