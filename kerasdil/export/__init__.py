"""Export kerasdil models to SavedModel, TFLite and ONNX, with proof.

>>> from kerasdil.export import export
>>> from kerasdil.zoo import mnist_dsdc
>>> report = export(mnist_dsdc(weights="mnist"), "out/", quantize=("float32", "int8"))
>>> report.passed, report.artifact("tflite", "int8").metric
>>> print(report.to_markdown())

Every export writes, next to the artifacts, ``export_report.json`` and
``export_report.md``: per artifact its size, op audit (forbidden ops flagged,
dilated convs checked native), parity against the Keras model on real samples,
the task metric and latency / throughput in its runtime. See :func:`export`.

Parity compares class probabilities: a model that outputs logits (the zoo's
segmenters) is compared after a softmax over the last axis, with the raw logit
differences reported too; see :mod:`kerasdil.export.parity`.
"""

import os

import numpy as np

from kerasdil.export import _data, _files
from kerasdil.export import audit as _audit
from kerasdil.export.errors import ExportError
from kerasdil.export.parity import THRESHOLDS, accuracy, compare, default_metric, judge, mean_iou
from kerasdil.export.report import ArtifactReport, ExportReport
from kerasdil.export.tflite import QUANTIZATIONS

__all__ = [
    "FORMATS",
    "QUANTIZATIONS",
    "THRESHOLDS",
    "ArtifactReport",
    "ExportError",
    "ExportReport",
    "accuracy",
    "artifact_names",
    "export",
    "load_model",
    "mean_iou",
]

FORMATS = ("savedmodel", "tflite", "onnx")
REPORT_JSON = "export_report.json"
REPORT_MD = "export_report.md"
SAVEDMODEL_DIR = "saved_model"
ONNX_FILE = "model.onnx"
_RUNTIME = {"savedmodel": "tf_savedmodel", "tflite": "litert_xnnpack", "onnx": "onnxruntime"}


def tflite_name(quantization):
    """File name of a TFLite artifact: ``model_<quantization>.tflite``."""
    return f"model_{quantization}.tflite"


def _split(value, what, allowed):
    if value is None:
        return ()
    if isinstance(value, str):
        items = [v.strip().lower() for v in value.split(",") if v.strip()]
    else:
        try:
            items = [str(v).strip().lower() for v in value]
        except TypeError:
            raise ValueError(f"{what} must be a name or a list of names, got {value!r}.") from None
    unknown = [v for v in items if v not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(map(repr, unknown))}; choose from {', '.join(allowed)}.")
    return tuple(dict.fromkeys(items))


def normalize_formats(formats):
    """``"savedmodel,tflite"`` or a sequence -> validated tuple in canonical order."""
    items = _split(formats, "format", FORMATS)
    if not items:
        raise ValueError(f"choose at least one export format from {', '.join(FORMATS)}.")
    return tuple(f for f in FORMATS if f in items)


def normalize_quantize(quantize):
    """None -> ("float32",); "int8" or "float32,int8" or a sequence -> validated tuple."""
    if quantize is None:
        return ("float32",)
    items = _split(quantize, "quantization", QUANTIZATIONS)
    if not items:
        return ("float32",)
    return tuple(q for q in QUANTIZATIONS if q in items)


def artifact_names(formats=FORMATS, quantize=None):
    """Names an export with these arguments writes into its output folder."""
    formats, quants = normalize_formats(formats), normalize_quantize(quantize)
    names = []
    if "savedmodel" in formats:
        names.append(SAVEDMODEL_DIR)
    if "tflite" in formats:
        names += [tflite_name(q) for q in quants]
    if "onnx" in formats:
        names.append(ONNX_FILE)
    return names


def load_model(path):
    """Load a ``.keras`` file with Keras safe mode on (no Python code is run).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a ``.keras`` file, refused by safe mode (a Lambda layer or
            other serialized Python code), or not loadable.
    """
    import keras

    import kerasdil.layers  # noqa: F401  (registers the kerasdil layers)
    import kerasdil.zoo  # noqa: F401  (and the layers of every zoo family)

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file {path} does not exist.")
    if not path.endswith(".keras") or os.path.isdir(path):
        raise ValueError(f"{path} is not a .keras file; save the model with model.save('model.keras').")
    import zipfile

    if not zipfile.is_zipfile(path):  # Keras would answer "File not found" for a file that exists
        raise ValueError(f"{path} is not a .keras archive (a .keras file is a zip written by model.save); "
                         "it may be truncated or another kind of file.")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "safe_mode" in str(e) or "unsafe" in str(e).lower():
            raise ValueError(
                f"{path} was refused by Keras safe mode (it holds serialized Python code, such as a Lambda "
                f"layer), which export never runs: {text}"
            ) from None
        raise ValueError(f"cannot load {path} as a Keras model: {text}") from None


def _resolve_model(model):
    import keras

    if isinstance(model, keras.Model):
        return model, model.name
    if isinstance(model, (str, os.PathLike)):
        text = os.fspath(model)
        if text.endswith(".keras") or os.path.exists(text):
            return load_model(text), text
        from kerasdil.zoo import create_model, list_models

        if text.split(":", 1)[0] in list_models():
            from kerasdil.zoo.registry import warn_if_untrained

            warn_if_untrained(text)
            return create_model(text), text
        raise FileNotFoundError(f"{text} is neither a .keras file nor a zoo model (see `kerasdil zoo`).")
    raise ValueError(f"model must be a keras.Model, a .keras path or a zoo name, got {type(model).__name__}.")


def _has_int8_tensors(flatbuffer):
    """Whether a TFLite flatbuffer holds any int8 tensor (a quantized weight)."""
    import numpy as np

    from kerasdil.export import tflite

    details = tflite.interpreter(flatbuffer, xnnpack=False).get_tensor_details()
    return any(np.dtype(d["dtype"]) == np.int8 for d in details)


def _input_shape(model, input_shape):
    shape = tuple(model.inputs[0].shape[1:])
    if input_shape is not None:
        given = tuple(int(d) for d in input_shape)
        if len(given) != len(shape) or any(s is not None and s != g for s, g in zip(shape, given)):
            raise ValueError(f"input_shape {given} does not fit the model's input shape {shape}.")
        shape = given
    if any(d is None for d in shape):
        raise ValueError(
            f"the model's input shape {shape} is not fully known; pass input_shape (CLI: --input-shape H,W,C): "
            "TFLite needs a static shape to keep dilated convs native."
        )
    if any(d < 1 for d in shape):
        raise ValueError(f"input_shape must be positive, got {shape}.")
    return shape


def _task(model, name, task):
    if task is not None:
        if task not in ("classification", "segmentation"):
            raise ValueError(f"task must be 'classification' or 'segmentation', got {task!r}.")
        return task
    try:
        from kerasdil.zoo import model_info

        return model_info(model.name).task
    except ValueError:
        pass
    return "segmentation" if len(model.outputs[0].shape) == 4 else "classification"


def _serving_functions(model, input_name, shape, dtype):
    import tensorflow as tf

    def make(batch):
        spec = tf.TensorSpec((batch, *shape), dtype, name=input_name)

        @tf.function(input_signature=[spec], autograph=False)
        def serve(x):
            return {"output": model(x, training=False)}

        return serve, [spec]

    return make(None), make(1)


def _input_name(model):
    import re

    name = model.inputs[0].name.split(":")[0]
    return name if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) else "image"


def _predict_keras(model, x, batch_size):
    return np.concatenate(
        [np.asarray(model(x[i : i + batch_size], training=False), dtype=np.float32) for i in range(0, len(x), batch_size)]
    )


def _environment(num_threads):
    from importlib import metadata

    env = {}
    for pkg in ("tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert"):
        try:
            env[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            env[pkg] = "not installed"
    env["cpu_count"] = os.cpu_count()
    env["litert_threads"] = num_threads
    return env


def export(
    model,
    out_dir,
    formats=FORMATS,
    quantize=None,
    representative_data=None,
    input_shape=None,
    *,
    test_data=None,
    data=None,
    task=None,
    metric=None,
    int8_io=False,
    int8_per_channel=True,
    strip_names=True,
    share_zero_points=True,
    opset=17,
    force=False,
    num_representative=256,
    max_samples=None,
    batch_size=64,
    latency_repeats=30,
    num_threads=None,
    thresholds=None,
    data_options=None,
):
    """Export a model to SavedModel / TFLite / ONNX and prove each artifact right.

    Writes into ``out_dir``: ``saved_model/`` (signature ``serving_default``:
    ``{<input name>: (batch, H, W, C)}`` -> ``{"output": ...}``),
    ``model_<quantization>.tflite`` (static batch 1, builtin ops only, dilated
    convs native, compacted losslessly: internal tensor names stripped, identical
    zero-point vectors shared) and ``model.onnx`` (dynamic batch), then
    ``export_report.json`` and ``export_report.md``. Parity is measured on class
    probabilities (a softmax over the last axis of logits; raw logit differences
    are reported beside them). Artifacts are staged under a temporary name and
    renamed into place only when every conversion succeeded.

    Args:
        model: a ``keras.Model``, a ``.keras`` path (loaded in safe mode) or a zoo
            name such as ``"mnist_dsdc:mnist"``. One input, one output.
        out_dir: output folder (created if missing).
        formats: any of "savedmodel", "tflite", "onnx" (sequence or comma string).
        quantize: TFLite variants: None (float32), "float16", "dynamic", "int8",
            or several, e.g. ``("float32", "int8")``. SavedModel and ONNX stay float32.
        representative_data: int8 calibration inputs (array ``(N, H, W, C)``,
            dataset, or generator); default: ``num_representative`` training
            images of the model's own data set.
        input_shape: (H, W, C) for models built with unknown spatial size.
        test_data: ``(x, y)`` arrays or a dataset of ``(x, y)`` for parity and the
            task metric; default: the test split of the model's own data set.
        data: where the model's own data set comes from (MNIST: None for the
            usual search, "sample" for the embedded sample, or a path), or the
            user's own data (an image folder, "tfds:NAME", arrays; see
            ``kerasdil.data.sources.load_data``) at the model's size and channels:
            int8 calibration from its training split, proof on its test split.
        task: "classification" or "segmentation"; default from the zoo registry or
            the output rank.
        metric: ``metric(labels, outputs) -> float in [0, 1]``; default accuracy
            (classification) or mIoU (segmentation).
        int8_io: give the int8 TFLite int8 input and output.
        int8_per_channel: int8 weight scales per output channel (default) or,
            with False, per tensor (smaller file; check the metric drop).
        strip_names: write every TFLite variant without its internal tensor
            names (default; the input and output keep theirs), which no runtime
            reads; False keeps them for debugging (CLI: --keep-names).
        share_zero_points: store identical int8 zero-point vectors once in each
            TFLite file (default; lossless, and per-channel int8 otherwise stores
            8 bytes of zeros per output channel of every weight and bias); False
            keeps the converter's layout. See :func:`kerasdil.export.tflite.compact`.
        opset: ONNX opset (default 17).
        force: overwrite artifacts that exist.
        num_representative: representative samples for int8 (default 256).
        max_samples: cap on test samples used for proof (default: all).
        batch_size: the larger batch for throughput, and the inference batch.
        latency_repeats: timed calls per runtime (0: skip latency).
        num_threads: LiteRT / onnxruntime threads (default: all cores).
        thresholds: overrides of :data:`THRESHOLDS`.
        data_options: for the user's own ``data``: ``resize``, ``validation_split``,
            ``data_dir`` (``load_data``'s options; the model fixes size and channels).

    Returns:
        An :class:`ExportReport` (``report.passed``, ``report.failures``,
        ``report.to_markdown()``). A failed check does not raise; it is in the report.

    Raises:
        FileExistsError: an artifact exists and ``force`` is False.
        PermissionError: ``out_dir`` cannot be created or written.
        FileNotFoundError: ``model`` or a data file does not exist.
        ExportError (a ValueError): a layer cannot be converted to a format.
        ValueError: bad arguments, data of the wrong shape.

    Example:
        >>> report = export("model.keras", "out", formats="tflite", quantize="int8")
    """
    model, model_label = _resolve_model(model)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            f"export supports models with one input and one output; {model.name} has "
            f"{len(model.inputs)} inputs and {len(model.outputs)} outputs."
        )
    formats = normalize_formats(formats)
    quants = normalize_quantize(quantize)
    if "tflite" not in formats and quants != ("float32",):
        raise ValueError("quantize applies to TFLite only; add 'tflite' to the formats.")
    if thresholds:
        unknown = set(thresholds) - set(THRESHOLDS)
        if unknown:
            raise ValueError(f"unknown thresholds {sorted(unknown)}; known: {', '.join(THRESHOLDS)}.")
    for arg, value in (("batch_size", batch_size), ("num_representative", num_representative)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{arg} must be a positive integer, got {value!r}.")
    shape = _input_shape(model, input_shape)
    task = _task(model, model_label, task)
    metric_name, metric_fn = (getattr(metric, "__name__", "metric"), metric) if metric else default_metric(task)
    names = artifact_names(formats, quants)
    out_dir = os.path.abspath(os.fspath(out_dir))
    _files.check_out_dir(out_dir, names + [REPORT_JSON, REPORT_MD], force=force)

    need_rep = "tflite" in formats and "int8" in quants
    samples = _data.resolve(
        model_name=model.name,
        task=task,
        input_shape=shape,
        representative_data=representative_data,
        test_data=test_data,
        data=data,
        num_representative=num_representative,
        max_samples=max_samples,
        need_representative=need_rep,
        data_options=data_options,
    )

    import tensorflow as tf

    input_name = _input_name(model)
    dtype = model.inputs[0].dtype if model.inputs[0].dtype in ("float16", "float32", "float64") else "float32"
    (dynamic_fn, dynamic_sig), (static_fn, _) = _serving_functions(model, input_name, shape, tf.as_dtype(dtype))
    layer_names = _audit.layer_names(model)
    try:
        static_concrete = static_fn.get_concrete_function()
        dynamic_fn.get_concrete_function()
        frozen = _audit.frozen_graph_def(static_concrete)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:
        raise ExportError(f"cannot trace {model.name} for export with input shape {shape}: {type(e).__name__}: {e}") from None
    python_ops = _audit.layers_using(_audit.tf_nodes(frozen), _audit.PYTHON_OPS, layer_names)
    if python_ops:
        raise ExportError(
            f"cannot export {model.name}: {_audit.describe_ops(python_ops)} calls Python "
            "(tf.py_function / tf.numpy_function), which no SavedModel, TFLite or ONNX file can carry; "
            "rewrite that layer with TensorFlow or Keras ops."
        )
    expected_dilated = _audit.dilated_conv_layers(model)

    num_threads = num_threads or os.cpu_count() or 1
    report = ExportReport(
        model=model_label,
        task=task,
        input_shape=list(shape),
        out_dir=out_dir,
        data=samples.description,
        keras={},
        artifacts=[],
        thresholds={**THRESHOLDS, **(thresholds or {})},
        environment=_environment(num_threads),
    )
    with _files.staging(out_dir) as stage:
        made = []  # (format, quantization, name, details)
        if "savedmodel" in formats:
            from kerasdil.export import savedmodel

            savedmodel.save(model, dynamic_fn.get_concrete_function(), os.path.join(stage, SAVEDMODEL_DIR))
            made.append(("savedmodel", "float32", SAVEDMODEL_DIR, {"signature": savedmodel.SIGNATURE,
                         "inputs": f"{input_name}: (batch, {', '.join(map(str, shape))}) {dtype}",
                         "outputs": savedmodel.OUTPUT_KEY}))
        if "tflite" in formats:
            from kerasdil.export import tflite

            for q in quants:
                flatbuffer = tflite.convert(
                    static_concrete,
                    q,
                    representative=samples.representative if q == "int8" else None,
                    int8_io=int8_io and q == "int8",
                    layer_names=layer_names,
                    per_channel=int8_per_channel,
                    strip_names=strip_names,
                    share_zero_points=share_zero_points,
                )
                _files.write_bytes(os.path.join(stage, tflite_name(q)), flatbuffer)
                io_type = "int8" if (int8_io and q == "int8") else "float32"
                details = {"input": f"{input_name}: (1, {', '.join(map(str, shape))}) {io_type}", "output": io_type,
                           "tensor names": "stripped (input and output kept)" if strip_names else "kept"}
                if q in ("dynamic", "int8"):
                    details["zero points"] = "identical vectors shared" if share_zero_points else "one vector per tensor"
                if q == "dynamic" and not _has_int8_tensors(flatbuffer):
                    # The converter leaves weight tensors under 1,024 elements in float32.
                    details["note"] = ("no weight tensor was large enough to quantize (TFLite's dynamic range "
                                       "quantization skips those under 1,024 elements): this file is float32")
                if q == "int8":
                    details["weight scales"] = "per channel" if int8_per_channel else "per tensor"
                made.append(("tflite", q, tflite_name(q), details))
        if "onnx" in formats:
            from kerasdil.export import onnx as onnx_export

            proto = onnx_export.convert(dynamic_fn, dynamic_sig, opset=opset, layer_names=layer_names)
            _files.write_bytes(os.path.join(stage, ONNX_FILE), proto.SerializeToString())
            made.append(("onnx", "float32", ONNX_FILE, {"opset": opset,
                         "inputs": f"{input_name}: (batch, {', '.join(map(str, shape))}) float32", "outputs": "output"}))

        _prove(report, model, made, stage, samples, task, metric_name, metric_fn, expected_dilated,
               batch_size=batch_size, latency_repeats=latency_repeats,
               num_threads=num_threads, thresholds=thresholds)
        # The reports are staged too, so a failure writing them (a full disk) leaves nothing behind.
        _files.write_text(os.path.join(stage, REPORT_JSON), report.to_json())
        _files.write_text(os.path.join(stage, REPORT_MD), report.to_markdown())
        _files.commit(stage, out_dir, [name for _, _, name, _ in made] + [REPORT_JSON, REPORT_MD])
    return report


def _prove(report, model, made, stage, samples, task, metric_name, metric_fn, expected_dilated, *,
           batch_size, latency_repeats, num_threads, thresholds):
    """Fill ``report`` with audit, parity, metric and latency of each staged artifact."""
    from kerasdil.export import timing

    x, y = samples.x, samples.y
    reference = _predict_keras(model, x, batch_size)
    keras_metric = None
    if y is not None:
        keras_metric = {"name": metric_name, "value": float(metric_fn(y, reference))}
    report.keras = {"samples": int(len(x)), "metric": keras_metric, "latency": {}}
    x1 = x[:1]
    xb = np.resize(x, (batch_size, *x.shape[1:])).astype(np.float32) if len(x) < batch_size else x[:batch_size]
    if latency_repeats:
        report.keras["latency"]["call"] = timing.measure(
            lambda b: ((lambda: np.asarray(model(b, training=False))), None), x1, xb, repeats=latency_repeats
        )
        report.keras["latency"]["predict_on_batch"] = timing.measure(
            lambda b: ((lambda: model.predict_on_batch(b)), None), x1, xb, repeats=latency_repeats
        )

    for fmt, q, name, details in made:
        path = os.path.join(stage, name)
        if fmt == "savedmodel":
            from kerasdil.export.savedmodel import SavedModelRunner

            runner = SavedModelRunner(path)
            audit = _audit.audit_savedmodel(_audit.frozen_graph_def(runner.function), expected_dilated)
        elif fmt == "tflite":
            from kerasdil.export.tflite import LiteRTRunner

            runner = LiteRTRunner(path, num_threads=num_threads)
            with open(path, "rb") as f:
                audit = _audit.audit_tflite(f.read(), expected_dilated)
            details["larger batches"] = (
                "by resizing the input" if runner.resizable(batch_size) else "one image at a time (not resizable)"
            )
        else:
            import onnx

            from kerasdil.export.onnx import OnnxRuntimeRunner

            runner = OnnxRuntimeRunner(path, num_threads=num_threads)
            audit = _audit.audit_onnx(onnx.load(path), expected_dilated)
        outputs = runner.predict(x, batch_size=batch_size)
        parity = compare(reference, outputs)
        artifact_metric = None
        if keras_metric is not None:
            value = float(metric_fn(y, outputs))
            artifact_metric = {"name": metric_name, "value": value, "keras": keras_metric["value"],
                               "drop": 100.0 * (keras_metric["value"] - value)}
        criterion, ok, failure = judge(q, parity, artifact_metric, task, thresholds)
        parity.update(criterion=criterion, passed=ok)
        failures = []
        if audit["forbidden"]:
            failures.append(f"forbidden ops {', '.join(audit['forbidden'])}")
        if not audit["dilated_ok"]:
            failures.append(
                f"only {audit['dilated_native']} of {audit['dilated_expected']} dilated convs are native"
            )
        if failure:
            failures.append(failure)
        latency = None
        if latency_repeats:
            latency = timing.measure(runner.batch_fn, x1, xb, repeats=latency_repeats)
        report.artifacts.append(ArtifactReport(
            format=fmt, quantization=q, path=name, bytes=_files.size_of(path), runtime=_RUNTIME[fmt],
            audit=audit, parity=parity, metric=artifact_metric, latency=latency, failures=failures, details=details,
        ))
        del runner
