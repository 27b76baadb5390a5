"""Tests for the segmenters (deeplab_aspp, unet_baseline) and the segmentation task."""

import json
import os

import numpy as np
import pytest

import keras

from kerasdil.data import MnistArrays
from kerasdil.data.scenes import mnist_scenes
from kerasdil.receptive import receptive_field_of_model
from kerasdil.tasks import get_task
from kerasdil.zoo import create_model, deeplab_aspp, list_models, mnist_dsdc, model_info, unet_baseline
from kerasdil.zoo.weights_io import save_weights

SMALL = (32, 48, 1)  # divisible by 16


@pytest.fixture(scope="module")
def digits():
    """Tiny synthetic MNIST: bars whose position depends on the class."""
    rng = np.random.default_rng(0)

    def make(n):
        x = np.zeros((n, 28, 28), np.uint8)
        y = (np.arange(n) % 10).astype(np.uint8)
        for i, c in enumerate(y):
            x[i, 4 + c : 8 + c, 4:24] = rng.integers(180, 256)
            x[i, 4:24, 4 + 2 * (c % 5) : 7 + 2 * (c % 5)] = 255
        return x, y

    (xt, yt), (xs, ys) = make(200), make(50)
    return MnistArrays(x_train=xt, y_train=yt, x_test=xs, y_test=ys, source="synthetic bars")


@pytest.mark.parametrize("output_stride", [4, 8, 16])
@pytest.mark.parametrize("decoder", [True, False])
def test_output_is_per_pixel_logits_at_input_size(output_stride, decoder):
    model = deeplab_aspp(input_shape=SMALL, num_classes=5, output_stride=output_stride, decoder=decoder)
    out = model(np.zeros((2, *SMALL), "float32"))
    assert out.shape == (2, 32, 48, 5)
    aspp_input = model.get_layer("aspp").input.shape
    assert aspp_input[1:3] == (32 // output_stride, 48 // output_stride)


def test_output_stride_mismatch_is_clear_error():
    with pytest.raises(ValueError, match=r"input size 64x84 is not divisible by the output stride 8"):
        deeplab_aspp(input_shape=(64, 84, 1), output_stride=8)
    with pytest.raises(ValueError, match="output_stride"):
        deeplab_aspp(output_stride=32)
    with pytest.raises(ValueError, match="backbone"):
        deeplab_aspp(backbone="resnet50")
    with pytest.raises(ValueError, match="not divisible by the output stride 16"):
        unet_baseline(input_shape=(64, 84, 1))


def test_m2nist_canvas_runs_at_output_stride_4():
    model = deeplab_aspp(input_shape=(64, 84, 1), output_stride=4)
    assert model.output_shape == (None, 64, 84, 11)


def test_stride_is_traded_for_dilation():
    rates = {}
    for os_ in (4, 8, 16):
        model = deeplab_aspp(input_shape=SMALL, output_stride=os_)
        names = [layer.name for layer in model.layers]
        assert sum(n.startswith("pool") for n in names) == {4: 2, 8: 3, 16: 4}[os_]
        rates[os_] = model.get_layer("stage4").dilation_schedule
        assert model.get_layer("aspp").rates == {4: (4, 8, 12), 8: (2, 4, 6), 16: (1, 2, 3)}[os_]
    assert rates == {4: (4, 8, 12), 8: (2, 4, 6), 16: (1, 2, 3)}
    # The ASPP features see the whole canvas at every output stride.
    for os_ in (8, 16):
        model = deeplab_aspp(input_shape=SMALL, output_stride=os_, decoder=False)
        assert min(receptive_field_of_model(model).size) > 64


def test_params_do_not_depend_on_output_stride_and_weights_move_between_them(tmp_path):
    a = deeplab_aspp(input_shape=SMALL, output_stride=8)
    b = deeplab_aspp(input_shape=SMALL, output_stride=16)
    assert a.count_params() == b.count_params()
    path = str(tmp_path / "seg.npz")
    save_weights(a, path)
    c = deeplab_aspp(input_shape=(64, 80, 1), output_stride=16, weights=path)
    for va, vc in zip(a.weights, c.weights):
        np.testing.assert_array_equal(va.numpy(), vc.numpy())


def test_backbone_has_mnist_dsdc_names_and_shapes():
    seg = deeplab_aspp()
    cls = mnist_dsdc(width=18, stem="pool", stage_filters=None, dilation_schedule=((1, 2, 5), (1, 2, 3)))  # mnist_w18's layout
    for name in ("stem", "stage1", "stage2"):
        assert [(v.path, v.shape) for v in seg.get_layer(name).weights] == [
            (v.path, v.shape) for v in cls.get_layer(name).weights
        ]


def test_fewer_params_than_unet_baseline():
    assert deeplab_aspp().count_params() < unet_baseline().count_params() / 10


def test_unet_baseline_is_keras_io_model():
    # keras.io's "Image segmentation with a U-Net-like architecture": 2,058,979 params.
    model = unet_baseline(input_shape=(160, 160, 3), num_classes=3)
    assert model.count_params() == 2_058_979
    assert unet_baseline(input_shape=SMALL, filters=(8, 16)).output_shape == (None, 32, 48, 11)


def test_lraspp_mobilenetv3_peer_segments_at_input_size():
    model = create_model("lraspp_mobilenetv3", input_shape=SMALL)
    assert model.output_shape == (None, 32, 48, 11)
    assert model.get_layer("lraspp_gate").output.shape[1:3] == (1, 1)  # the global-pooling gate of LR-ASPP
    assert deeplab_aspp().count_params() < model.count_params()  # the zoo's segmenter is the smaller one
    x = np.random.default_rng(0).random((2, 32, 48, 1), dtype=np.float32)
    assert np.isfinite(np.asarray(model(x))).all()
    with pytest.raises(ValueError, match="lraspp_mobilenetv3"):
        create_model("lraspp_mobilenetv3", input_shape=(30, 48, 1))


def test_mobile_configuration_runs_only_a_1x1_conv_at_full_size():
    from kerasdil.zoo.deeplab_aspp.plan import MOBILE_CONFIG

    model = deeplab_aspp(**MOBILE_CONFIG)
    assert model.output_shape == (None, 64, 80, 11)
    assert model.count_params() < deeplab_aspp().count_params() / 2
    assert model.get_layer("stem").output.shape[1:3] == (32, 40)  # the strided stem
    assert model.get_layer("decoder_logits").output.shape[1:3] == (16, 20)  # the head works at 1/4
    full_size = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
                 and layer.output.shape[1:3] == (64, 80)]
    assert full_size == ["logits"]
    assert model.get_layer("logits").kernel.shape == (1, 1, 12, 11)  # logits and the image
    for layer in model.layers:  # channel counts are multiples of 8 (XNNPACK)
        if layer.name.startswith("stage"):
            assert layer.output.shape[-1] % 8 == 0
    # The fusion starts as the identity on the upsampled logits; the background prior sits before it.
    x = np.random.default_rng(0).random((2, 64, 80, 1), dtype=np.float32)
    inner = keras.Model(model.inputs, model.get_layer("upsample").output)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(inner(x)), atol=1e-5)
    assert np.argmax(np.asarray(model(x)), -1).mean() < 0.5  # mostly background at the start


def test_mobile_options_refuse_bad_values_in_one_sentence():
    for kwargs, match in [
        (dict(stem="pool"), "`stem` must be one of 'full', 'strided'"),
        (dict(decoder="heavy"), "`decoder` must be True, False or \"light\""),
        (dict(stage_filters=(8, 16)), "`stage_filters` needs 4 channel counts"),
        (dict(stage_filters=(8, 16, 0, 8)), "stage_filters"),
        (dict(dilation_schedule=((), (1,), (1,), (1,))), "the full decoder reads stage1"),
        (dict(decoder="light", output_stride=4, stem="strided", input_shape=(64, 80, 1)), None),
    ]:
        if match is None:
            assert deeplab_aspp(**kwargs).output_shape == (None, 64, 80, 11)
            continue
        with pytest.raises(ValueError, match=match):
            deeplab_aspp(**kwargs)


def test_mobile_configuration_weights_do_not_load_into_the_default():
    from kerasdil.zoo.deeplab_aspp.plan import MOBILE_CONFIG

    with pytest.raises(ValueError):
        deeplab_aspp(weights="scenes", **MOBILE_CONFIG)


def test_registered_as_segmentation_models():
    assert list_models(task="segmentation") == ["deeplab_aspp", "lraspp_mobilenetv3", "unet_baseline"]
    assert model_info("deeplab_aspp").task == "segmentation"
    assert get_task("segmentation").name == "segmentation"
    assert create_model("deeplab_aspp", input_shape=SMALL).name == "deeplab_aspp"


def test_short_training_learns(digits):
    keras.utils.set_random_seed(0)
    task = get_task("segmentation")
    ds = mnist_scenes("train", num_scenes=96, batch_size=8, source=digits, canvas_size=(32, 48),
                      digits_per_image=(1, 1))
    model = deeplab_aspp(input_shape=SMALL, width=8, aspp_filters=16, decoder_filters=16)
    model.compile(keras.optimizers.Adam(1e-2), loss=task.loss(), metrics=task.metrics())
    history = model.fit(ds, epochs=3, verbose=0).history
    assert history["loss"][-1] < 0.6 * history["loss"][0]
    assert history["mean_iou"][-1] > history["mean_iou"][0]
    assert history["pixel_accuracy"][-1] > 0.9


def test_evaluate_reports_miou_and_writes_overlays(digits, tmp_path):
    task = get_task("segmentation")
    ds = mnist_scenes("test", num_scenes=6, batch_size=4, source=digits, canvas_size=(32, 48))
    model = deeplab_aspp(input_shape=SMALL, width=8, aspp_filters=16, decoder_filters=16)
    result = task.evaluate(model, ds, out_dir=str(tmp_path))
    assert result["samples"] == 6
    for key in ("miou", "miou_no_background", "pixel_accuracy", "loss"):
        assert 0 <= result[key] or np.isnan(result[key])
    assert set(result["per_class_iou"]) >= {"background", "digit 0"}
    assert os.path.getsize(result["overlays_png"]) > 1000
    json.dumps(result)  # JSON-friendly


def test_evaluate_refuses_masks_of_another_size(digits):
    task = get_task("segmentation")
    ds = mnist_scenes("test", num_scenes=2, batch_size=2, source=digits, canvas_size=(48, 48))
    with pytest.raises(ValueError, match="images of 48x48 do not fit model 'deeplab_aspp', built for 32x48"):
        task.evaluate(deeplab_aspp(input_shape=SMALL, width=8, aspp_filters=16, decoder_filters=16), ds)


@pytest.mark.slow
def test_train_and_evaluate_commands_work_for_segmenters(tmp_path, monkeypatch, digits):
    from kerasdil.cli import main

    mnist_file = tmp_path / "mnist.npz"
    np.savez(mnist_file, x_train=digits.x_train, y_train=digits.y_train, x_test=digits.x_test, y_test=digits.y_test)
    out = tmp_path / "run"
    argv = ["train", "deeplab_aspp", "--out", str(out), "--epochs", "1", "--batch-size", "8", "--limit", "16",
            "--data", str(mnist_file), "--quiet"]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "segmentation" and "miou_no_background" in metrics
    assert (out / "overlays.png").exists()
    assert main(["evaluate", str(out / "model.keras"), "--data", str(mnist_file), "--limit", "4"]) == 0
    assert json.loads((out / "eval_metrics.json").read_text())["samples"] == 4
    assert (out / "eval_overlays.png").exists()
    # A segmenter built at another size is scored on scenes of its own size.
    other = tmp_path / "small"
    other.mkdir()
    deeplab_aspp(input_shape=(32, 48, 1)).save(other / "model.keras")
    assert main(["evaluate", str(other / "model.keras"), "--data", str(mnist_file), "--limit", "4"]) == 0
    assert json.loads((other / "eval_metrics.json").read_text())["samples"] == 4


@pytest.mark.skipif(not model_info("deeplab_aspp").pretrained, reason="no shipped deeplab_aspp weights")
def test_shipped_weights_load_and_carry_their_card():
    info = model_info("deeplab_aspp")
    for tag, entry in info.pretrained.items():
        model = create_model(f"deeplab_aspp:{tag}")  # built with the configuration its weights carry
        assert model.output_shape[-1] == entry.config["num_classes"]
        # Each card scores its own training run's test scenes: standard, varied, or (scenes, scenes_mobile_mixed)
        # a mixture of the five scene generators, the hardest of them.
        assert entry.metrics["miou"] > 0.8 and entry.recipe


@pytest.mark.skipif("scenes" not in model_info("deeplab_aspp").pretrained, reason="no shipped deeplab_aspp:scenes")
def test_shipped_weights_segment_default_scenes():
    import warnings

    from kerasdil.data import SampleDataWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleDataWarning)
        ds = mnist_scenes("test", num_scenes=48, batch_size=16, source="sample")  # the default canvas
    images, _ = next(iter(ds))
    assert tuple(images.shape[1:]) == model_info("deeplab_aspp").input_shape
    result = get_task("segmentation").evaluate(deeplab_aspp(weights="scenes"), ds)
    assert result["miou"] > 0.9 and result["pixel_accuracy"] > 0.99



def test_new_scenes_follow_the_keras_epoch_index(digits, monkeypatch):
    import kerasdil.data.scenes as scenes

    common = dict(num_scenes=8, batch_size=8, source=digits, canvas_size=(28, 32), validation_digits=20)
    ds = mnist_scenes("train", new_scenes_every_epoch=True, **common)
    assert scenes.scene_epoch_callback(mnist_scenes("test", **common)) is None  # fixed scenes: nothing to tie
    real, seen = scenes.make_scenes, []

    def spy(*args, **kw):
        seen.append(kw.get("epoch"))
        return real(*args, **kw)

    monkeypatch.setattr(scenes, "make_scenes", spy)
    model = keras.Sequential([keras.Input((28, 32, 1)), keras.layers.Conv2D(11, 1)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    # Each pass composes the scenes of the epoch Keras is at: a fit resumed at epoch 2
    # (kerasdil.train.fit passes the backup's epoch as initial_epoch) composes epoch 2's scenes, not epoch 0's;
    # a later fit placed at epoch 5 of a run (fine-tuning's second phase) epoch 5's.
    model.fit(ds, epochs=4, initial_epoch=2, verbose=0, callbacks=[scenes.scene_epoch_callback(ds)])
    model.fit(ds, epochs=2, verbose=0, callbacks=[scenes.scene_epoch_callback(ds, first_epoch=5)])
    assert seen == [2, 3, 5, 6]
    # Without the callback, passes are counted from `first_epoch`.
    by_hand = mnist_scenes("train", new_scenes_every_epoch=True, first_epoch=3, **common)
    _, masks = next(iter(by_hand))
    expected = real(digits.x_train[:180], digits.y_train[:180], 8, canvas_size=(28, 32), epoch=3)[1]
    np.testing.assert_array_equal(np.asarray(masks), expected)


def _bench_tool():
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "bench_segmentation.py")
    spec = importlib.util.spec_from_file_location("bench_segmentation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_segmentation_benchmark_defaults_are_the_recipes():
    from kerasdil.finetune import finetune_recipe
    from kerasdil.train import recipe

    args = _bench_tool().build_parser().parse_args([])
    tuned = finetune_recipe("deeplab_aspp")
    assert args.finetune_lr == tuned["finetune_learning_rate"] == 2e-3
    assert (args.lr, args.head_epochs, args.batch_size, args.weight_decay) == (
        tuned["learning_rate"], tuned["head_epochs"], tuned["batch_size"], tuned["weight_decay"])
    assert args.epochs == recipe("deeplab_aspp")["epochs"]


@pytest.mark.slow
def test_segmentation_benchmark_times_batch_1_latency_and_compares_with_the_peer():
    bench = _bench_tool()
    images = np.random.default_rng(0).random((64, 16, 16, 1)).astype("float32")
    masks = np.zeros((64, 16, 16), "int32")
    models = {
        "unet_baseline": unet_baseline(input_shape=(16, 16, 1), filters=(8,)),
        "deeplab_aspp": deeplab_aspp(input_shape=(16, 16, 1), width=4, aspp_filters=8, decoder_filters=8),
    }
    timing = bench.interleaved_timing(models, images, masks, batch_size=8, rounds=1, steps=1, latency_calls=3)
    for t in timing.values():
        assert t["latency_batch1_ms"] > 0 and t["inference_images_per_second"] > 0 and t["train_images_per_second"] > 0
    results = {arm: {**t, "seconds_per_epoch": 64 / t["train_images_per_second"]} for arm, t in timing.items()}
    ratios = bench.ratios_over_peer(results)
    assert ratios["unet_baseline"] == {"seconds_per_epoch": 1.0, "inference_images_per_second": 1.0,
                                       "latency_batch1_ms": 1.0}
    assert ratios["deeplab_aspp"]["latency_batch1_ms"] == pytest.approx(
        timing["deeplab_aspp"]["latency_batch1_ms"] / timing["unet_baseline"]["latency_batch1_ms"])
    assert bench.ratios_over_peer({"deeplab_aspp": results["deeplab_aspp"]}) == {}  # no peer, no ratios


@pytest.mark.slow
def test_segmentation_benchmark_exports_and_times_litert_for_every_arm(tmp_path):
    import argparse

    bench = _bench_tool()
    rng = np.random.default_rng(0)
    images = (rng.random((16, 32, 48, 1)) < 0.2).astype("float32")
    masks = rng.integers(0, 11, (16, 32, 48)).astype("int32")
    models = {"deeplab_aspp_mobile": deeplab_aspp(input_shape=(32, 48, 1), stem="strided", decoder="light", width=8,
                                                  stage_filters=(8, 8, 16, 16), aspp_filters=8, decoder_filters=8),
              "lraspp_mobilenetv3": create_model("lraspp_mobilenetv3", input_shape=(32, 48, 1), alpha=0.75,
                                                 head_filters=16)}
    args = argparse.Namespace(out=str(tmp_path), litert_threads=[1], timing_rounds=1)
    columns = bench.litert_columns(models, images, masks, args, log=lambda _msg: None)
    for arm, c in columns.items():
        assert c["int8_audit_ok"], arm
        assert 0 <= c["int8_miou"] <= 1
        assert c["litert_float32_1t_ms"] > 0 and c["litert_int8_1t_ms"] > 0
    assert columns["deeplab_aspp_mobile"]["int8_dilated_native"].split("/")[0] != "0"


@pytest.mark.skipif("scenes" not in model_info("deeplab_aspp").pretrained, reason="no shipped deeplab_aspp:scenes")
def test_evaluate_reports_miou_per_scale_bucket_on_varied_scenes(tmp_path, digits, capsys):
    from kerasdil.cli import main

    mnist_file = tmp_path / "mnist.npz"
    np.savez(mnist_file, x_train=digits.x_train, y_train=digits.y_train, x_test=digits.x_test, y_test=digits.y_test)
    out = tmp_path / "eval"
    argv = ["evaluate", "deeplab_aspp:scenes", "--data", str(mnist_file), "--limit", "6", "--out", str(out),
            "--canvas", "48,64", "--scene-scale", "0.5,1.5", "--scene-digits", "1,3", "--scale-buckets", "0.5,1.0,1.5"]
    assert main(argv) == 0
    metrics = json.loads((out / "eval_metrics.json").read_text())
    assert metrics["samples"] == 6 and metrics["scenes"]["canvas_size"] == [48, 64]
    rows = metrics["scale_buckets"]
    assert [(r["low"], r["high"]) for r in rows] == [(0.5, 1.0), (1.0, 1.5)]
    assert sum(r["digits"] for r in rows) >= 6 and all(0 <= r["miou"] <= 1 for r in rows if r["pixels"])
    assert "digit scale" in capsys.readouterr().out  # the printed table
    # Another scene seed composes other test scenes from the same digits (with and without buckets).
    for buckets in ([], ["--scale-buckets", "0.5,1.0,1.5"]):
        other = tmp_path / f"eval_seed1_{len(buckets)}"
        assert main(argv[:argv.index("--scale-buckets")] + buckets + ["--scene-seed", "1", "--out", str(other)]) == 0
        again = json.loads((other / "eval_metrics.json").read_text())
        assert again["samples"] == 6 and again["miou"] != metrics["miou"]


def test_scene_flags_errors_are_one_sentence(tmp_path, capsys):
    from kerasdil.cli import main

    cases = [
        (["evaluate", "deeplab_aspp:scenes", "--data", "sample", "--scale-buckets", "1.0,0.5"], "scale buckets must be"),
        (["evaluate", "mnist_dsdc:mnist", "--data", "sample", "--canvas", "96,96"], "apply to segmenters"),
        (["evaluate", "mnist_dsdc:mnist", "--data", "sample", "--scene-seed", "1"], "apply to segmenters"),
        (["evaluate", "deeplab_aspp:scenes", "--data", "sample", "--scene-seed", "-1"], "--scene-seed must be"),
        (["train", "mnist_dsdc", "--data", "sample", "--scene-scale", "0.5,2", "--out", str(tmp_path / "a")],
         "apply to segmenters"),
        (["train", "deeplab_aspp", "--data", "sample", "--canvas", "40,40", "--scene-scale", "0.5,2.0",
          "--out", str(tmp_path / "b")], "canvas_size"),  # 2.0-scale digits (56 px) do not fit
        (["train", "deeplab_aspp", "--data", "sample", "--canvas", "64,64", "--model-kwargs",
          '{"input_shape": [96, 96, 1]}', "--out", str(tmp_path / "c")], "differ"),
    ]
    for argv, words in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    with pytest.raises(SystemExit):
        main(["evaluate", "deeplab_aspp:scenes", "--canvas", "96"])
    assert "the canvas must be two ints" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "deeplab_aspp", "--scene-unit-share", "1.5", "--out", str(tmp_path / "c")])
    assert "the share of unit-scale digits must be a number from 0 to 1" in capsys.readouterr().err
