"""Tests for kerasdil.export and the `kerasdil export` command.

Real converters and runtimes throughout (TFLiteConverter, LiteRT, tf2onnx,
onnxruntime); tiny models and the embedded MNIST sample keep it short.
"""

import glob
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers, ops  # noqa: E402

from kerasdil.data import SampleDataWarning, load_mnist_arrays, normalize  # noqa: E402
from kerasdil.export import ExportError, _flatbuffer, audit, export, mean_iou, accuracy  # noqa: E402
from kerasdil.export.parity import compare, judge, softmax  # noqa: E402
from kerasdil.export.tflite import compact, interpreter  # noqa: E402
from kerasdil.zoo import mnist_conv, mnist_dsdc  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = dict(data="sample", max_samples=120, latency_repeats=2, batch_size=16, num_representative=64)

warnings.filterwarnings("ignore", category=SampleDataWarning)


def _leftovers(folder):
    """Temporary or staging names left under ``folder``."""
    return [p for p in glob.glob(os.path.join(folder, "**", "*"), recursive=True) if ".tmp" in os.path.basename(p)] + [
        p for p in glob.glob(os.path.join(folder, ".*"))
    ]


@pytest.fixture(scope="module")
def sample():
    arrays = load_mnist_arrays("sample")
    return normalize(arrays.x_train), arrays.y_train.astype("int32"), normalize(arrays.x_test), arrays.y_test


@pytest.fixture(scope="module")
def trained_dsdc(sample):
    """A width-4 mnist_dsdc trained one short epoch on the sample (enough for a metric)."""
    keras.utils.set_random_seed(0)
    model = mnist_dsdc(width=4, dropout=0.0, stem="pool", stage_filters=None, dilation_schedule=((1, 2, 5), (1, 2, 3)))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y, _, _ = sample
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    return model


@pytest.fixture(scope="module")
def full_export(trained_dsdc, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "dsdc"
    report = export(trained_dsdc, out, quantize=("float32", "float16", "dynamic", "int8"), **FAST)
    return trained_dsdc, str(out), report


def test_export_writes_every_format_and_report(full_export):
    _, out, report = full_export
    names = sorted(os.listdir(out))
    assert names == sorted([
        "saved_model", "model_float32.tflite", "model_float16.tflite", "model_dynamic.tflite",
        "model_int8.tflite", "model.onnx", "export_report.json", "export_report.md",
    ])
    assert _leftovers(out) == []
    saved = json.load(open(os.path.join(out, "export_report.json")))
    assert saved["passed"] == report.passed
    assert [a["path"] for a in saved["artifacts"]] == [a.path for a in report.artifacts]
    for a in saved["artifacts"]:
        assert a["bytes"] > 0
        assert a["ops"] if "ops" in a else a["audit"]["ops"]
        assert a["parity"]["samples"] == 120
        assert a["latency"]["batch1_ms"] > 0 and a["latency"]["throughput_ips"] > 0
    assert saved["keras"]["latency"]["call"]["batch1_ms"] > 0
    assert saved["keras"]["latency"]["predict_on_batch"]["batch1_ms"] > 0
    md = open(os.path.join(out, "export_report.md")).read()
    assert "| model_int8.tflite |" in md and "Ops per artifact" in md


def test_float_exports_match_keras_within_thresholds(full_export):
    _, _, report = full_export
    for fmt, q, limit in [("savedmodel", "float32", 1e-4), ("tflite", "float32", 1e-4), ("onnx", "float32", 1e-4),
                          ("tflite", "float16", 1e-2)]:
        a = report.artifact(fmt, q)
        assert a.parity["max_abs_diff"] <= limit, (fmt, q, a.parity)
        assert a.parity["passed"] and a.parity["top1_agreement"] == 1.0
        assert a.audit["forbidden"] == []


def test_classifier_parity_is_on_its_probabilities_without_softmax(full_export):
    _, _, report = full_export
    for a in report.artifacts:
        assert a.parity["compared"] == "probabilities", a.path
        assert "logit_max_abs_diff" not in a.parity
    assert "probabilities" in report.artifact("tflite", "float32").parity["criterion"]


def _run_tflite(model_bytes_or_path, x, xnnpack=True):
    it = interpreter(model_bytes_or_path, xnnpack=xnnpack)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it, it.get_tensor(it.get_output_details()[0]["index"]).copy()


def test_tflite_is_compacted_by_default_without_changing_any_output(full_export, tmp_path, sample):
    model, out, report = full_export
    raw = export(model, tmp_path / "raw", formats="tflite", quantize="float32,int8", strip_names=False,
                 share_zero_points=False, **{**FAST, "latency_repeats": 0})
    x = sample[2][:1]
    for q in ("float32", "int8"):
        small_path, raw_path = os.path.join(out, f"model_{q}.tflite"), str(tmp_path / "raw" / f"model_{q}.tflite")
        small_it, _ = _run_tflite(small_path, x)
        raw_it, _ = _run_tflite(raw_path, x)
        # Input and output keep their names; internal tensors lose theirs.
        assert small_it.get_input_details()[0]["name"] == "image"
        assert small_it.get_output_details()[0]["name"] == raw_it.get_output_details()[0]["name"]
        io = {d["index"] for d in small_it.get_input_details() + small_it.get_output_details()}
        internal = [t["name"] for t in small_it.get_tensor_details() if t["index"] not in io]
        assert len(internal) > 10 and all(name == "" for name in internal), internal
        assert any("conv" in t["name"] for t in raw_it.get_tensor_details())
        # Compacting the converter's file gives the same outputs bit for bit, with and without XNNPACK;
        # the object-API round trip it rests on rewrites the converter's file byte for byte.
        raw_bytes = open(raw_path, "rb").read()
        assert _flatbuffer.write(_flatbuffer.read(raw_bytes), share_zero_points=False) == raw_bytes
        compacted = compact(raw_bytes)
        assert compacted == open(small_path, "rb").read()
        for xnnpack in (True, False):
            np.testing.assert_array_equal(_run_tflite(raw_path, x, xnnpack)[1], _run_tflite(compacted, x, xnnpack)[1])
        small, big = report.artifact("tflite", q), raw.artifact("tflite", q)
        assert small.bytes < big.bytes
        assert small.audit["size_breakdown"]["tensor_names"] < 0.1 * big.audit["size_breakdown"]["tensor_names"]
        assert small.audit["ops"] == big.audit["ops"] and small.audit["dilations"] == big.audit["dilations"]
        assert small.details["tensor names"].startswith("stripped") and big.details["tensor names"] == "kept"
        for a in (small, big):
            parts = a.audit["size_breakdown"]
            assert sum(v for k, v in parts.items() if k != "total") == parts["total"] == a.bytes
            assert min(parts.values()) >= 0 and parts["constants"] > 0 and parts["graph"] > 0
    # Per-channel int8 stores a zero point per output channel; shared, those vectors are stored once.
    small, big = report.artifact("tflite", "int8"), raw.artifact("tflite", "int8")
    assert small.details["zero points"] == "identical vectors shared"
    assert small.audit["size_breakdown"]["quantization_params"] < 0.8 * big.audit["size_breakdown"]["quantization_params"]
    assert big.audit["size_breakdown"]["constants"] == small.audit["size_breakdown"]["constants"]


def test_logits_are_compared_as_softmax_probabilities_and_raw_diff_reported():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=12.0, size=(6, 5, 7, 4)).astype(np.float32)
    # float16 rounding of large logits: raw differences over 1e-2, probabilities far closer.
    rounded = logits.astype(np.float16).astype(np.float32)
    parity = compare(logits, rounded)
    assert parity["compared"] == "softmax of logits"
    assert parity["logit_max_abs_diff"] == pytest.approx(np.abs(logits - rounded).max())
    assert parity["logit_max_abs_diff"] > 1e-3
    assert parity["max_abs_diff"] == pytest.approx(np.abs(softmax(logits) - softmax(rounded)).max(), rel=1e-6)
    assert parity["max_abs_diff"] < parity["logit_max_abs_diff"]
    criterion, ok, failure = judge("float16", parity, None, "segmentation", {"float16_max_abs_diff": 1e-2})
    assert ok and "softmax probabilities" in criterion and failure is None
    _, ok, failure = judge("float32", parity, None, "segmentation")
    assert not ok and "max abs diff of softmax probabilities" in failure
    # Probabilities are compared as they are.
    probs = softmax(logits).astype(np.float32)
    parity = compare(probs, probs + 1e-5)
    assert parity["compared"] == "probabilities" and "logit_max_abs_diff" not in parity
    assert parity["max_abs_diff"] == pytest.approx(1e-5, rel=1e-2)


def test_savedmodel_signature_loads_and_serves_keras_outputs(full_export, sample):
    model, out, _ = full_export
    x = sample[2][:5]
    serve = tf.saved_model.load(os.path.join(out, "saved_model")).signatures["serving_default"]
    got = serve(image=tf.constant(x))["output"].numpy()
    np.testing.assert_allclose(got, model(x, training=False).numpy(), atol=1e-5)


def test_tflite_dilated_depthwise_is_native_without_space_to_batch(full_export):
    model, out, _ = full_export
    expected = len(audit.dilated_conv_layers(model))
    assert expected == 4  # schedule ((1, 2, 5), (1, 2, 3))
    for q in ("float32", "float16", "dynamic", "int8"):
        path = os.path.join(out, f"model_{q}.tflite")
        # The interpreter without default delegates shows the real op list...
        it = interpreter(path, xnnpack=False)
        it.allocate_tensors()
        op_names = {o["op_name"] for o in it._get_ops_details()}
        assert not op_names & {"SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "DELEGATE"}, (q, op_names)
        assert "DEPTHWISE_CONV_2D" in op_names
        # ...and the flatbuffer's options carry the dilation factors.
        operators = audit.tflite_operators(open(path, "rb").read())
        dilations = sorted(max(o["dilation"]) for o in operators if o["op"] == "DEPTHWISE_CONV_2D")
        assert dilations.count(1) == 2 and sorted(d for d in dilations if d > 1) == [2, 2, 3, 5], (q, dilations)


def test_onnx_runs_dynamic_batch_in_onnxruntime(full_export, sample):
    import onnxruntime as ort

    model, out, report = full_export
    session = ort.InferenceSession(os.path.join(out, "model.onnx"), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == "image" and inp.shape[0] == "batch"
    for n in (1, 3):
        x = sample[2][:n]
        (got,) = session.run(None, {"image": x})
        np.testing.assert_allclose(got, model(x, training=False).numpy(), atol=1e-4)
    a = report.artifact("onnx")
    assert a.audit["dilated_native"] == 4 and not a.audit["forbidden"]
    assert not {"SpaceToDepth", "DepthToSpace"} & set(a.audit["ops"])


def test_quantized_exports_run_and_int8_metric_drop_is_measured(full_export):
    _, _, report = full_export
    keras_accuracy = report.keras["metric"]["value"]
    assert keras_accuracy > 0.3  # the short training learned something
    # (size targets are for real models, in tools/bench_export.py: a width-4 model's
    # int8 file is no smaller, its per-channel scales outweigh its few weights)
    for q in ("float16", "dynamic", "int8"):
        a = report.artifact("tflite", q)
        assert a.metric["name"] == "accuracy"
        assert a.metric["drop"] == pytest.approx(100 * (keras_accuracy - a.metric["value"]))
        assert 0.0 <= a.parity["top1_agreement"] <= 1.0
    int8 = report.artifact("tflite", "int8")
    assert "metric drop" in int8.parity["criterion"]
    assert abs(int8.metric["drop"]) < 10  # a sane int8 model, whatever the pass verdict


def test_plain_dilated_conv2d_becomes_native_in_tflite_and_onnx(tmp_path):
    # DilatedConvBN's Conv2D goes through SpaceToBatch in TF; the static-shape
    # converter must fuse it back.
    model = mnist_conv(width=2)
    report = export(model, tmp_path / "conv", formats="tflite,onnx", quantize="float32,int8", **FAST)
    for a in report.artifacts:
        assert a.audit["dilated_native"] == a.audit["dilated_expected"] == 4, a.path
        assert not a.audit["forbidden"], a.path
    ops = report.artifact("tflite", "int8").audit["dilations"]
    assert ops == {"CONV_2D 2x2": 2, "CONV_2D 3x3": 1, "CONV_2D 5x5": 1}


def test_int8_io_gives_int8_input_and_output(tmp_path, sample):
    model = mnist_dsdc(width=2)
    report = export(model, tmp_path / "io", formats="tflite", quantize="int8", int8_io=True, **FAST)
    it = interpreter(str(tmp_path / "io" / "model_int8.tflite"))
    it.allocate_tensors()
    assert it.get_input_details()[0]["dtype"] == np.int8
    assert it.get_output_details()[0]["dtype"] == np.int8
    assert report.artifact("tflite", "int8").parity["max_abs_diff"] < 0.1  # compared after dequantization


def test_segmenter_gets_per_pixel_agreement_and_miou(tmp_path):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((16, 20, 1), name="image")
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(4, 3, padding="same", dilation_rate=2, activation="relu")(x)
    logits = layers.Conv2D(3, 1, name="logits")(x)
    model = keras.Model(inputs, logits, name="tiny_segmenter")
    rng = np.random.default_rng(0)
    xs = rng.random((24, 16, 20, 1), dtype=np.float32)
    ys = rng.integers(0, 3, size=(24, 16, 20))
    report = export(model, tmp_path / "seg", formats="tflite,onnx", quantize="float32,int8",
                    representative_data=xs, test_data=(xs, ys), latency_repeats=2, batch_size=8)
    assert report.task == "segmentation"
    a = report.artifact("onnx")
    assert a.metric["name"] == "mIoU" and a.parity["top1_agreement"] == 1.0 and a.audit["dilated_native"] == 1
    assert a.parity["compared"] == "softmax of logits" and a.parity["logit_max_abs_diff"] <= 1e-4
    assert "raw logits vs Keras" in report.to_markdown()
    assert report.artifact("tflite", "int8").audit["dilated_native"] == 1


def test_mean_iou_and_accuracy_on_known_values():
    labels = np.array([[0, 0, 1, 1]])
    outputs = np.eye(3)[[[0, 1, 1, 1]]]  # one 0 predicted as 1
    assert mean_iou(labels, outputs) == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert accuracy(labels, outputs) == pytest.approx(0.75)
    assert accuracy([2, 0], np.eye(3)[[2, 1]]) == pytest.approx(0.5)


def test_existing_artifact_is_refused_without_force(tmp_path):
    model = mnist_dsdc(width=2)
    out = tmp_path / "again"
    export(model, out, formats="tflite", **{**FAST, "latency_repeats": 0})
    before = os.path.getmtime(out / "model_float32.tflite")
    with pytest.raises(FileExistsError, match=r"model_float32\.tflite already exists; pass --force"):
        export(model, out, formats="tflite", **{**FAST, "latency_repeats": 0})
    report = export(model, out, formats="tflite", force=True, **{**FAST, "latency_repeats": 0})
    assert report.passed and os.path.getmtime(out / "model_float32.tflite") >= before
    assert _leftovers(str(out)) == []


def test_unwritable_output_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match="is a file, not a folder"):
        export(mnist_dsdc(width=2), blocker / "out", formats="tflite", **FAST)
    with pytest.raises(FileExistsError, match="is a file, not a folder"):
        export(mnist_dsdc(width=2), blocker, formats="tflite", **FAST)


def test_representative_data_of_wrong_shape_is_refused(tmp_path):
    bad = np.zeros((8, 32, 32, 3), np.float32)
    with pytest.raises(ValueError, match=r"shape \(32, 32, 3\), but the model takes inputs of shape \(28, 28, 1\)"):
        export(mnist_dsdc(width=2), tmp_path / "bad", formats="tflite", quantize="int8", representative_data=bad, **FAST)
    assert not (tmp_path / "bad").exists()


@keras.saving.register_keras_serializable(package="test_export")
class PythonCallback(layers.Layer):
    """Calls back into numpy: no export format can carry it."""

    def call(self, x):
        y = tf.numpy_function(lambda a: a * 2, [x], tf.float32, stateful=False)
        y.set_shape(x.shape)
        return y


@keras.saving.register_keras_serializable(package="test_export")
class CumulativeProduct(layers.Layer):
    """keras.ops.cumprod: a TF op with no TFLite builtin kernel (Flex only)."""

    def call(self, x):
        return ops.cumprod(x, axis=1)


def _tiny(layer):
    inputs = keras.Input((8, 8, 1), name="image")
    x = layer(layers.Conv2D(2, 3, padding="same", name="conv")(inputs))
    return keras.Model(inputs, layers.Dense(3)(layers.Flatten()(x)), name="tiny")


def test_python_callback_layer_is_refused_naming_the_layer(tmp_path):
    model = _tiny(PythonCallback(name="py_callback"))
    x = np.zeros((4, 8, 8, 1), np.float32)
    with pytest.raises(ExportError, match=r"layer 'py_callback' \(op PyFuncStateless\) calls Python"):
        export(model, tmp_path / "py", test_data=(x, None), latency_repeats=0)
    assert not (tmp_path / "py").exists()


def test_unconvertible_layer_after_savedmodel_leaves_nothing_half_written(tmp_path):
    model = _tiny(CumulativeProduct(name="cumulative"))
    x = np.random.default_rng(0).random((4, 8, 8, 1), dtype=np.float32)
    out = tmp_path / "flex"
    out.mkdir()
    (out / "keep.txt").write_text("unrelated file")
    # The SavedModel is written first; the TFLite converter then fails.
    with pytest.raises(ExportError, match=r"layer 'cumulative' \(op Cumprod\) has no TFLite builtin kernel"):
        export(model, out, formats="savedmodel,tflite", test_data=(x, None), latency_repeats=0)
    assert sorted(os.listdir(out)) == ["keep.txt"]  # no saved_model, no *.tmp, no staging folder


def test_export_interrupted_while_proving_leaves_nothing(tmp_path):
    calls = []

    def interrupting_metric(labels, outputs):
        calls.append(1)
        if len(calls) > 1:  # after the Keras reference, during the artifacts
            raise KeyboardInterrupt
        return accuracy(labels, outputs)

    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        export(mnist_dsdc(width=2), out, formats="savedmodel,tflite,onnx", metric=interrupting_metric, **FAST)
    assert len(calls) == 2
    assert not out.exists()  # created by the export, removed again with everything in it


def test_dynamic_range_file_that_quantized_nothing_says_so(full_export, tmp_path):
    _, _, report = full_export  # width 4: every weight tensor is under the converter's 1,024 elements
    note = report.artifact("tflite", "dynamic").details.get("note", "")
    assert "this file is float32" in note
    wide = export(mnist_dsdc(width=16), tmp_path / "wide", formats="tflite", quantize="dynamic",
                  **{**FAST, "latency_repeats": 0})
    assert "note" not in wide.artifact("tflite", "dynamic").details  # its 1x1 convs hold int8 weights


def test_a_full_disk_while_writing_the_report_leaves_no_artifact(tmp_path, monkeypatch):
    import errno

    from kerasdil.export import _files

    real = _files.write_text

    def full_disk_for_reports(path, text):
        if os.path.basename(path).startswith("export_report"):
            raise OSError(errno.ENOSPC, "No space left on device", path)
        return real(path, text)

    monkeypatch.setattr(_files, "write_text", full_disk_for_reports)
    out = tmp_path / "full"
    out.mkdir()
    with pytest.raises(OSError, match="No space left"):
        export(mnist_dsdc(width=2), out, formats="tflite", **{**FAST, "latency_repeats": 0})
    assert os.listdir(out) == []  # the .tflite was staged with the reports, and went with them


def test_failed_check_is_reported_not_raised(tmp_path):
    report = export(mnist_dsdc(width=2), tmp_path / "strict", formats="tflite",
                    thresholds={"float32_max_abs_diff": -1.0}, **{**FAST, "latency_repeats": 0})
    assert not report.passed and "max abs diff" in report.failures[0]
    assert json.load(open(tmp_path / "strict" / "export_report.json"))["passed"] == report.passed


def test_lambda_model_file_is_refused_by_safe_mode(tmp_path):
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, layers.Lambda(lambda t: t * 2)(inputs))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="safe mode"):
        export(str(path), tmp_path / "out", formats="tflite", latency_repeats=0)


@pytest.mark.slow
def test_cli_exports_tflite_and_refuses_existing_path(tmp_path):
    model_path = tmp_path / "m.keras"
    mnist_dsdc(width=2).save(model_path)
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "kerasdil.cli", "export", str(model_path), "--out", str(out), "--format", "tflite",
           "--data", "sample", "--samples", "50", "--repeats", "2", "--batch-size", "8", "--keep-names"]
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| model_float32.tflite | litert_xnnpack |" in done.stdout
    assert (out / "model_float32.tflite").exists() and (out / "export_report.json").exists()
    assert "tensor names: kept" in done.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert again.returncode == 2
    assert "already exists; pass --force" in again.stderr
    assert "Traceback" not in again.stderr


def test_int8_conversion_calibrates_a_static_batch_larger_than_one():
    from kerasdil.export.errors import ExportError
    from kerasdil.export.tflite import convert, interpreter

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    spec = tf.TensorSpec((4, 8, 8, 1), tf.float32)
    concrete = tf.function(lambda x: {"output": model(x, training=False)}, input_signature=[spec]).get_concrete_function()
    samples = np.random.default_rng(0).random((16, 8, 8, 1), dtype=np.float32)
    it = interpreter(convert(concrete, "int8", representative=samples), num_threads=1)
    it.allocate_tensors()
    assert tuple(it.get_input_details()[0]["shape"]) == (4, 8, 8, 1)
    with pytest.raises(ExportError, match="at least 4 representative inputs"):
        convert(concrete, "int8", representative=samples[:3])
