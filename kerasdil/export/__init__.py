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
import inspect
import os

from kerasdil.export import _data, _files  # noqa: F401  (the names this module has always offered)
from kerasdil.export import audit as _audit  # noqa: F401
from kerasdil.export.errors import ExportError
from kerasdil.export.parity import THRESHOLDS, accuracy, compare, default_metric, judge, mean_iou  # noqa: F401
from kerasdil.export.report import ArtifactReport, ExportReport  # noqa: F401
from kerasdil.export.tflite import QUANTIZATIONS  # noqa: F401
from kerasdil.saving import load_model  # noqa: F401

from kerasdil.export._plan import (  # noqa: F401  (the steps stay importable from here)
    FORMATS, ONNX_FILE, REPORT_JSON, REPORT_MD, SAVEDMODEL_DIR, ExportPlan, StagedArtifact,
    artifact_names, normalize_formats, normalize_quantize, plan_export, tflite_name,
)
from kerasdil.export._steps import FORMAT_WRITERS, prove, write_onnx, write_savedmodel, write_tflite  # noqa: F401

__all__ = ["ExportError", "ExportOptions", "ExportReport", "export"]


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
    settings = dict(locals())  # the arguments: model, out_dir, then every option
    return export_with_options(settings.pop("model"), settings.pop("out_dir"), ExportOptions(**settings))


# Derived from export's signature, so the two cannot drift.
ExportOptions = dataclasses.make_dataclass(
    "ExportOptions",
    [(name, object, dataclasses.field(default=p.default))
     for name, p in inspect.signature(export).parameters.items() if name not in ("model", "out_dir")],
    frozen=True, eq=False,
)
ExportOptions.__module__ = __name__
ExportOptions.__doc__ = """Every setting of an export but the model and the output folder.

    The fields are :func:`export`'s keyword arguments, with the same defaults and
    meanings (the class is made from its signature); see its docstring.

    Example:
        >>> options = ExportOptions(formats="tflite", quantize=("float32", "int8"))
        >>> report = export_with_options("model.keras", "out", options)
    """


def export_with_options(model, out_dir, options):
    """:func:`export` with its settings in one :class:`ExportOptions` record.

    The steps: :func:`plan_export` (check and trace), one writer per format
    (:func:`write_savedmodel`, :func:`write_tflite`, :func:`write_onnx`) into a
    staging folder, :func:`prove` (audit, parity, metric, latency), then the
    reports, and every file renamed into ``out_dir`` at once. It takes
    :func:`plan_export`'s arguments, returns an :class:`ExportReport` and raises
    what :func:`export` raises.

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
