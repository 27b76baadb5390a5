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

:func:`export` runs four steps, each a public function: :func:`plan_export`
(check the model, settings, output folder and data; trace the model), one
writer per format (:func:`write_savedmodel`, :func:`write_tflite`,
:func:`write_onnx`, in :data:`FORMAT_WRITERS`), and :func:`prove` (audit,
parity, metric, latency). :func:`export_with_options` takes the settings as one
:class:`ExportOptions` record.

Parity compares class probabilities: a model that outputs logits (the zoo's
segmenters) is compared after a softmax over the last axis, with the raw logit
differences reported too; see :mod:`kerasdil.export.parity`.
"""

import dataclasses
import os

import numpy as np

from kerasdil.export import _data, _files
from kerasdil.export import audit as _audit
from kerasdil.export.errors import ExportError
from kerasdil.export.parity import THRESHOLDS, accuracy, compare, default_metric, judge, mean_iou
from kerasdil.export.report import ArtifactReport, ExportReport
from kerasdil.export.tflite import QUANTIZATIONS
from kerasdil.saving import load_model

__all__ = ["FORMATS", "ExportError", "ExportOptions", "ExportReport", "export"]

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
    options = ExportOptions(
        formats=formats, quantize=quantize, representative_data=representative_data, input_shape=input_shape,
        test_data=test_data, data=data, task=task, metric=metric, int8_io=int8_io, int8_per_channel=int8_per_channel,
        strip_names=strip_names, share_zero_points=share_zero_points, opset=opset, force=force,
        num_representative=num_representative, max_samples=max_samples, batch_size=batch_size,
        latency_repeats=latency_repeats, num_threads=num_threads, thresholds=thresholds, data_options=data_options,
    )
    return export_with_options(model, out_dir, options)


@dataclasses.dataclass(frozen=True, eq=False)
class ExportOptions:
    """Every setting of an export but the model and the output folder.

    The fields are :func:`export`'s keyword arguments, with the same defaults and
    meanings; see its docstring.

    Example:
        >>> options = ExportOptions(formats="tflite", quantize=("float32", "int8"))
        >>> report = export_with_options("model.keras", "out", options)
    """

    formats: object = FORMATS
    quantize: object = None
    representative_data: object = None
    input_shape: object = None
    test_data: object = None
    data: object = None
    task: object = None
    metric: object = None
    int8_io: bool = False
    int8_per_channel: bool = True
    strip_names: bool = True
    share_zero_points: bool = True
    opset: int = 17
    force: bool = False
    num_representative: int = 256
    max_samples: object = None
    batch_size: int = 64
    latency_repeats: int = 30
    num_threads: object = None
    thresholds: object = None
    data_options: object = None


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
    options: ExportOptions
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


def export_with_options(model, out_dir, options):
    """:func:`export` with its settings in one :class:`ExportOptions` record.

    The steps: :func:`plan_export` (check and trace), one writer per format
    (:func:`write_savedmodel`, :func:`write_tflite`, :func:`write_onnx`) into a
    staging folder, :func:`prove` (audit, parity, metric, latency), then the
    reports, and every file renamed into ``out_dir`` at once.

    Args:
        model: a ``keras.Model``, a ``.keras`` path or a zoo name (as :func:`export`).
        out_dir: output folder.
        options: an :class:`ExportOptions`.

    Returns:
        An :class:`ExportReport`.

    Raises:
        As :func:`export`.

    Example:
        >>> report = export_with_options("mnist_dsdc:mnist", "out", ExportOptions(formats="onnx"))
    """
    plan = plan_export(model, out_dir, options)
    with _files.staging(plan.out_dir) as stage:
        staged = []
        for fmt in plan.formats:
            staged += FORMAT_WRITERS[fmt](plan, stage)
        report = prove(plan, staged, stage)
        # The reports are staged too, so a failure writing them (a full disk) leaves nothing behind.
        _files.write_text(os.path.join(stage, REPORT_JSON), report.to_json())
        _files.write_text(os.path.join(stage, REPORT_MD), report.to_markdown())
        _files.commit(stage, plan.out_dir, [a.name for a in staged] + [REPORT_JSON, REPORT_MD])
    return report


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
        model_name=model.name,
        task=task,
        input_shape=shape,
        representative_data=o.representative_data,
        test_data=o.test_data,
        data=o.data,
        num_representative=o.num_representative,
        max_samples=o.max_samples,
        need_representative=need_rep,
        data_options=o.data_options,
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


def write_savedmodel(plan, folder):
    """Write the SavedModel (signature ``serving_default``, dynamic batch) into ``folder``.

    Args:
        plan: an :class:`ExportPlan`.
        folder: the staging folder.

    Returns:
        A list with one :class:`StagedArtifact`.

    Example:
        >>> staged = write_savedmodel(plan_export(model, "out", ExportOptions()), stage)  # doctest: +SKIP
    """
    from kerasdil.export import savedmodel

    savedmodel.save(plan.model, plan.dynamic_fn.get_concrete_function(), os.path.join(folder, SAVEDMODEL_DIR))
    details = {"signature": savedmodel.SIGNATURE,
               "inputs": f"{plan.input_name}: (batch, {', '.join(map(str, plan.shape))}) {plan.dtype}",
               "outputs": savedmodel.OUTPUT_KEY}
    return [StagedArtifact("savedmodel", "float32", SAVEDMODEL_DIR, details, _open_savedmodel)]


def _open_savedmodel(path, plan):
    from kerasdil.export.savedmodel import SavedModelRunner

    runner = SavedModelRunner(path)
    return runner, _audit.audit_savedmodel(_audit.frozen_graph_def(runner.function), plan.expected_dilated), {}


def write_tflite(plan, folder):
    """Write one TFLite flatbuffer per quantization of the plan into ``folder``.

    Static batch 1, builtin ops only, dilated convs native, compacted losslessly
    (see :func:`export`'s ``strip_names`` and ``share_zero_points``).

    Args:
        plan: an :class:`ExportPlan`.
        folder: the staging folder.

    Returns:
        A list of :class:`StagedArtifact`, one per quantization.

    Example:
        >>> staged = write_tflite(plan_export(model, "out", ExportOptions(quantize="int8")), stage)  # doctest: +SKIP
    """
    from kerasdil.export import tflite

    o, staged = plan.options, []
    for q in plan.quantizations:
        flatbuffer = tflite.convert(
            plan.static_concrete,
            q,
            representative=plan.samples.representative if q == "int8" else None,
            int8_io=o.int8_io and q == "int8",
            layer_names=plan.layer_names,
            per_channel=o.int8_per_channel,
            strip_names=o.strip_names,
            share_zero_points=o.share_zero_points,
        )
        _files.write_bytes(os.path.join(folder, tflite_name(q)), flatbuffer)
        io_type = "int8" if (o.int8_io and q == "int8") else "float32"
        details = {"input": f"{plan.input_name}: (1, {', '.join(map(str, plan.shape))}) {io_type}", "output": io_type,
                   "tensor names": "stripped (input and output kept)" if o.strip_names else "kept"}
        if q in ("dynamic", "int8"):
            details["zero points"] = "identical vectors shared" if o.share_zero_points else "one vector per tensor"
        if q == "dynamic" and not _has_int8_tensors(flatbuffer):
            # The converter leaves weight tensors under 1,024 elements in float32.
            details["note"] = ("no weight tensor was large enough to quantize (TFLite's dynamic range "
                               "quantization skips those under 1,024 elements): this file is float32")
        if q == "int8":
            details["weight scales"] = "per channel" if o.int8_per_channel else "per tensor"
        staged.append(StagedArtifact("tflite", q, tflite_name(q), details, _open_tflite))
    return staged


def _open_tflite(path, plan):
    from kerasdil.export.tflite import LiteRTRunner

    runner = LiteRTRunner(path, num_threads=plan.num_threads)
    with open(path, "rb") as f:
        audit = _audit.audit_tflite(f.read(), plan.expected_dilated)
    batch_size = plan.options.batch_size
    larger = "by resizing the input" if runner.resizable(batch_size) else "one image at a time (not resizable)"
    return runner, audit, {"larger batches": larger}


def write_onnx(plan, folder):
    """Write ``model.onnx`` (dynamic batch, the plan's opset) into ``folder``.

    Args:
        plan: an :class:`ExportPlan`.
        folder: the staging folder.

    Returns:
        A list with one :class:`StagedArtifact`.

    Example:
        >>> staged = write_onnx(plan_export(model, "out", ExportOptions(formats="onnx")), stage)  # doctest: +SKIP
    """
    from kerasdil.export import onnx as onnx_export

    opset = plan.options.opset
    proto = onnx_export.convert(plan.dynamic_fn, plan.dynamic_signature, opset=opset, layer_names=plan.layer_names)
    _files.write_bytes(os.path.join(folder, ONNX_FILE), proto.SerializeToString())
    details = {"opset": opset, "inputs": f"{plan.input_name}: (batch, {', '.join(map(str, plan.shape))}) float32",
               "outputs": "output"}
    return [StagedArtifact("onnx", "float32", ONNX_FILE, details, _open_onnx)]


def _open_onnx(path, plan):
    import onnx

    from kerasdil.export.onnx import OnnxRuntimeRunner

    runner = OnnxRuntimeRunner(path, num_threads=plan.num_threads)
    return runner, _audit.audit_onnx(onnx.load(path), plan.expected_dilated), {}


#: The writer of each format, in :data:`FORMATS` order.
FORMAT_WRITERS = {"savedmodel": write_savedmodel, "tflite": write_tflite, "onnx": write_onnx}


# ---------------------------------------------------------------- the proof


def prove(plan, staged, folder):
    """Audit, parity, task metric and latency of each staged artifact, against the Keras model.

    Args:
        plan: the :class:`ExportPlan` the artifacts were written from.
        staged: the :class:`StagedArtifact` list of the format writers.
        folder: the staging folder they are in.

    Returns:
        An :class:`ExportReport`; a failed check is in it (``report.failures``), not raised.

    Example:
        >>> report = prove(plan, write_onnx(plan, stage), stage)  # doctest: +SKIP
    """
    from kerasdil.export import timing

    o, model = plan.options, plan.model
    batch_size, latency_repeats, thresholds = o.batch_size, o.latency_repeats, o.thresholds
    metric_name, metric_fn, task = plan.metric_name, plan.metric_fn, plan.task
    report = ExportReport(
        model=plan.label,
        task=task,
        input_shape=list(plan.shape),
        out_dir=plan.out_dir,
        data=plan.samples.description,
        keras={},
        artifacts=[],
        thresholds={**THRESHOLDS, **(thresholds or {})},
        environment=_environment(plan.num_threads),
    )
    x, y = plan.samples.x, plan.samples.y
    reference = _predict_keras(model, x, batch_size)
    keras_metric = None
    reference_finite = bool(np.all(np.isfinite(reference)))
    if not reference_finite:
        report.notes.append("the Keras model's outputs hold NaN or infinite values (broken weights): no metric "
                            "is computed and every artifact fails")
    if y is not None and reference_finite:  # argmax of NaN is no prediction
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

    for artifact in staged:
        path = os.path.join(folder, artifact.name)
        runner, audit, more = artifact.open(path, plan)
        details = artifact.details
        details.update(more)
        q = artifact.quantization
        outputs = runner.predict(x, batch_size=batch_size)
        parity = compare(reference, outputs)
        artifact_metric = None
        if keras_metric is not None and np.all(np.isfinite(outputs)):
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
            format=artifact.format, quantization=q, path=artifact.name, bytes=_files.size_of(path),
            runtime=_RUNTIME[artifact.format], audit=audit, parity=parity, metric=artifact_metric, latency=latency,
            failures=failures, details=details,
        ))
        del runner
    return report
