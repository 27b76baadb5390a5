"""Export, steps two and three: one writer per format, then the proof (audit, parity, metric, latency).

A writer ``write_<format>(plan, folder)`` takes an :class:`ExportPlan` and the
staging folder, writes its format's files there and returns a list of
:class:`StagedArtifact`, one per file.
"""

import os

import numpy as np

from kerasdil.export import _files
from kerasdil.export import audit as _audit
from kerasdil.export.parity import THRESHOLDS, compare, judge
from kerasdil.export.report import ArtifactReport, ExportReport
from kerasdil.export._plan import (
    _RUNTIME, ONNX_FILE, SAVEDMODEL_DIR, StagedArtifact, _environment, _has_int8_tensors, _predict_keras, tflite_name,
)


def write_savedmodel(plan, folder):
    """Write the SavedModel of ``plan`` (signature ``serving_default``, dynamic batch) into ``folder``: one artifact.

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
    """Write one TFLite flatbuffer per quantization of ``plan`` into ``folder``: one artifact each.

    Static batch 1, builtin ops only, dilated convs native, compacted losslessly
    (see :func:`export`'s ``strip_names`` and ``share_zero_points``).

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
    """Write ``model.onnx`` of ``plan`` (dynamic batch, the plan's opset) into ``folder``: one artifact.

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
