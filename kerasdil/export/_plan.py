"""Export, step one: the settings, the checks and the traced model (:func:`plan_export`).

Nothing here writes a file: every mistake a user can make is found before any
conversion runs. The writers and the proof are in :mod:`kerasdil.export._steps`.
"""

import dataclasses
import os

import numpy as np

from kerasdil.export import _data, _files
from kerasdil.export import audit as _audit
from kerasdil.export.errors import ExportError
from kerasdil.export.parity import THRESHOLDS, default_metric
from kerasdil.export.tflite import QUANTIZATIONS
from kerasdil.saving import load_model

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



@dataclasses.dataclass(eq=False)
class ExportPlan:
    """A model checked and traced for export, with its data: what the format writers and the proof read.

    Made by :func:`plan_export`. ``formats`` and ``quantizations`` are the
    validated, ordered choices; ``samples`` the representative and test data;
    ``dynamic_fn`` / ``static_concrete`` the traced serving functions (batch
    ``None`` and 1); ``expected_dilated`` the dilated convs every artifact must
    keep native.
    """

    model: object
    label: str
    out_dir: str
    options: object  # the ExportOptions
    formats: tuple
    quantizations: tuple
    shape: tuple
    task: str
    metric_name: str
    metric_fn: object
    samples: object
    input_name: str
    dtype: str
    dynamic_fn: object
    dynamic_signature: list
    static_concrete: object
    layer_names: list
    expected_dilated: list
    num_threads: int

    @property
    def artifact_names(self):
        """Names of the artifacts this plan writes into its output folder."""
        return artifact_names(self.formats, self.quantizations)


@dataclasses.dataclass(eq=False)
class StagedArtifact:
    """One artifact written into the staging folder by a format writer, and how to check it.

    ``open(path, plan)`` returns ``(runner, audit, details)``: a runtime runner
    with ``predict`` and ``batch_fn``, the op audit of the file, and details
    known only once it is loaded (added to ``details``).
    """

    format: str
    quantization: str
    name: str
    details: dict
    open: object


def plan_export(model, out_dir, options):
    """Check the model, the settings, the output folder and the data, and trace the model.

    Nothing is written: every mistake a user can make (a missing file, a bad
    argument, an occupied output folder, data of the wrong shape, a layer that
    calls Python) is found before any conversion runs.

    Args:
        model: a ``keras.Model``, a ``.keras`` path or a zoo name.
        out_dir: output folder (checked, not created).
        options: an :class:`ExportOptions`.

    Returns:
        An :class:`ExportPlan`.

    Raises:
        As :func:`export`.

    Example:
        >>> plan = plan_export("mnist_dsdc:mnist", "out", ExportOptions(formats="tflite"))
        >>> plan.artifact_names
        ['model_float32.tflite']
    """
    o = options
    model, model_label = _resolve_model(model)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            f"export supports models with one input and one output; {model.name} has "
            f"{len(model.inputs)} inputs and {len(model.outputs)} outputs."
        )
    formats = normalize_formats(o.formats)
    quants = normalize_quantize(o.quantize)
    if "tflite" not in formats and quants != ("float32",):
        raise ValueError("quantize applies to TFLite only; add 'tflite' to the formats.")
    if o.thresholds:
        unknown = set(o.thresholds) - set(THRESHOLDS)
        if unknown:
            raise ValueError(f"unknown thresholds {sorted(unknown)}; known: {', '.join(THRESHOLDS)}.")
    for arg, value in (("batch_size", o.batch_size), ("num_representative", o.num_representative)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{arg} must be a positive integer, got {value!r}.")
    shape = _input_shape(model, o.input_shape)
    task = _task(model, model_label, o.task)
    metric_name, metric_fn = (getattr(o.metric, "__name__", "metric"), o.metric) if o.metric else default_metric(task)
    names = artifact_names(formats, quants)
    out_dir = os.path.abspath(os.fspath(out_dir))
    _files.tidy(out_dir)  # finish or remove what a killed export left here
    _files.check_out_dir(out_dir, names + [REPORT_JSON, REPORT_MD], force=o.force)

    need_rep = "tflite" in formats and "int8" in quants
    samples = _data.resolve(
        o, model_name=model.name, task=task, input_shape=shape, need_representative=need_rep,
        num_classes=model.outputs[0].shape[-1] if task in ("classification", "segmentation") else None,
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
    return ExportPlan(
        model=model, label=model_label, out_dir=out_dir, options=o, formats=formats, quantizations=quants,
        shape=shape, task=task, metric_name=metric_name, metric_fn=metric_fn, samples=samples,
        input_name=input_name, dtype=dtype, dynamic_fn=dynamic_fn, dynamic_signature=dynamic_sig,
        static_concrete=static_concrete, layer_names=layer_names,
        expected_dilated=_audit.dilated_conv_layers(model), num_threads=o.num_threads or os.cpu_count() or 1,
    )


# ---------------------------------------------------------------- one writer per format

