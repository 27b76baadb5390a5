"""kerasdil.export as steps: options record, plan, one writer per format, the proof."""

import dataclasses
import inspect
import os
import warnings

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kerasdil.data import SampleDataWarning  # noqa: E402
from kerasdil.export import (  # noqa: E402
    FORMAT_WRITERS,
    FORMATS,
    ExportOptions,
    export,
    export_with_options,
    plan_export,
    prove,
)
from kerasdil.zoo import mnist_dsdc  # noqa: E402

warnings.filterwarnings("ignore", category=SampleDataWarning)
FAST = dict(data="sample", max_samples=32, latency_repeats=0, batch_size=16)


def test_export_keeps_its_signature_and_every_keyword_is_an_option():
    params = inspect.signature(export).parameters
    keywords = [name for name in params if name not in ("model", "out_dir")]
    assert keywords == [f.name for f in dataclasses.fields(ExportOptions)]
    for field in dataclasses.fields(ExportOptions):
        assert params[field.name].default == field.default, field.name


def test_every_format_has_one_writer():
    assert tuple(FORMAT_WRITERS) == FORMATS


def test_plan_checks_everything_and_writes_nothing(tmp_path):
    out = tmp_path / "planned"
    plan = plan_export(mnist_dsdc(width=2), out, ExportOptions(formats="onnx,tflite", quantize="float32,int8",
                                                               num_representative=16, **FAST))
    assert plan.formats == ("tflite", "onnx") and plan.quantizations == ("float32", "int8")
    assert plan.artifact_names == ["model_float32.tflite", "model_int8.tflite", "model.onnx"]
    assert plan.samples.representative is not None and len(plan.samples.x) == 32
    assert not out.exists()
    with pytest.raises(ValueError, match="quantize applies to TFLite only"):
        plan_export(mnist_dsdc(width=2), out, ExportOptions(formats="onnx", quantize="int8"))


def test_steps_by_hand_give_what_export_gives(tmp_path):
    model = mnist_dsdc(width=2)
    options = ExportOptions(formats="tflite", **FAST)
    plan = plan_export(model, tmp_path / "by_hand", options)
    stage = tmp_path / "stage"
    stage.mkdir()
    staged = FORMAT_WRITERS["tflite"](plan, str(stage))
    assert [(a.format, a.quantization, a.name) for a in staged] == [("tflite", "float32", "model_float32.tflite")]
    by_hand = prove(plan, staged, str(stage))
    whole = export_with_options(model, tmp_path / "whole", options)
    assert by_hand.passed and whole.passed
    a, b = by_hand.artifact("tflite", "float32"), whole.artifact("tflite", "float32")
    assert a.parity["max_abs_diff"] == b.parity["max_abs_diff"] and a.audit == b.audit and a.bytes == b.bytes
    assert a.details == b.details and "larger batches" in a.details
