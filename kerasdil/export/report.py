"""The export report: one record per artifact, written as JSON and markdown."""

import dataclasses


@dataclasses.dataclass
class ArtifactReport:
    """Proof for one exported file.

    Attributes:
        format: "savedmodel", "tflite" or "onnx".
        quantization: "float32", "float16", "dynamic" or "int8".
        path: file or folder name inside the output folder.
        bytes: size on disk (a folder: all its files).
        runtime: what ran it for parity and latency ("tf_savedmodel",
            "litert_xnnpack", "onnxruntime").
        audit: op audit (see ``kerasdil.export.audit.audit_result``).
        parity: max / mean abs diff of class probabilities (softmax of logits
            for a model that outputs logits, whose raw differences are in
            ``logit_max_abs_diff`` / ``logit_mean_abs_diff``) and top-1 agreement
            vs Keras on real samples, with the criterion and whether it passed.
        metric: task metric of this artifact and its drop vs Keras (points), or None.
        latency: batch-1 median latency (ms) and throughput (images/s), or None.
        failures: the checks that failed, in words (empty: passed).
        details: format-specific facts (signature, opset, I/O types, ...).
    """

    format: str
    quantization: str
    path: str
    bytes: int
    runtime: str
    audit: dict
    parity: dict
    metric: object = None
    latency: object = None
    failures: list = dataclasses.field(default_factory=list)
    details: dict = dataclasses.field(default_factory=dict)

    @property
    def passed(self):
        return not self.failures

    @property
    def name(self):
        return self.path


@dataclasses.dataclass
class ExportReport:
    """What an export wrote and the proof that it is right.

    ``passed`` is False when any artifact failed a check (forbidden op, dilated conv
    not native, parity or metric over its threshold); ``failures`` names them.
    """

    model: str
    task: str
    input_shape: list
    out_dir: str
    data: str
    keras: dict
    artifacts: list
    thresholds: dict
    environment: dict
    notes: list = dataclasses.field(default_factory=list)

    @property
    def failures(self):
        return [f"{a.path}: {f}" for a in self.artifacts for f in a.failures]

    @property
    def passed(self):
        return not self.failures

    def artifact(self, fmt, quantization="float32"):
        """The artifact record of ``fmt`` / ``quantization`` (KeyError if absent)."""
        for a in self.artifacts:
            if a.format == fmt and a.quantization == quantization:
                return a
        raise KeyError(f"no {fmt} {quantization} artifact in this report")

    def to_dict(self):
        out = dataclasses.asdict(self)
        for record, a in zip(out["artifacts"], self.artifacts):
            record["passed"] = a.passed
        out["passed"] = self.passed
        out["failures"] = self.failures
        return out

    def to_json(self):
        from kerasdil._json import dumps  # NaN / Inf written as null: the report stays valid JSON

        return dumps(self.to_dict(), indent=2, default=_json_default) + "\n"

    def to_markdown(self):
        return format_markdown(self)


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _size(n):
    if n is None:
        return "-"
    for unit, div in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def _num(v, fmt):
    return "-" if v is None else format(v, fmt)


def summary_table(rows):
    """Markdown table of artifacts (ArtifactReport or dicts with the same keys) plus Keras rows."""
    head = (
        "| artifact | runtime | size | ops | forbidden | dilated native | max abs diff (probabilities) | top-1 agree "
        "| metric (drop, points) | batch-1 ms | img/s @batch | pass |\n"
        "|---|---|---:|---:|---|---|---:|---:|---|---:|---:|---|\n"
    )
    return head + "".join(rows)


def artifact_row(a):
    audit, parity, metric, latency = a.audit, a.parity, a.metric, a.latency
    metric_text = "-" if not metric else f"{metric['name']} {100 * metric['value']:.2f} ({metric['drop']:+.2f})"
    dilated = f"{audit['dilated_native']}/{audit['dilated_expected']}"
    tput = "-" if not latency else f"{latency['throughput_ips']:.0f} @{latency['batch']}"
    return (
        f"| {a.path} | {a.runtime} | {_size(a.bytes)} | {audit['num_ops']} | {', '.join(audit['forbidden']) or 'none'} "
        f"| {dilated} | {_num(parity.get('max_abs_diff'), '.2e')} | {_num(parity.get('top1_agreement'), '.4f')} "
        f"| {metric_text} | {_num(latency and latency['batch1_ms'], '.3f')} | {tput} "
        f"| {'PASS' if a.passed else 'FAIL'} |\n"
    )


def keras_rows(keras):
    rows = []
    metric = keras.get("metric")
    metric_text = "-" if not metric else f"{metric['name']} {100 * metric['value']:.2f}"
    for key, label in (("call", "model(x, training=False)"), ("predict_on_batch", "predict_on_batch")):
        lat = keras.get("latency", {}).get(key)
        if lat is None:
            continue
        rows.append(
            f"| Keras {label} | keras | - | - | - | - | reference | reference | {metric_text} "
            f"| {lat['batch1_ms']:.3f} | {lat['throughput_ips']:.0f} @{lat['batch']} | - |\n"
        )
    return rows


def format_markdown(report):
    """The markdown report: summary table, then ops and notes per artifact."""
    lines = [
        f"# Export report: {report.model}",
        "",
        f"- task: {report.task}; input shape: {tuple(report.input_shape)}; output folder: `{report.out_dir}`",
        f"- data: {report.data}",
        f"- result: {'PASS' if report.passed else 'FAIL'}",
        f"- environment: {', '.join(f'{k} {v}' for k, v in report.environment.items())}",
        "",
    ]
    rows = keras_rows(report.keras) + [artifact_row(a) for a in report.artifacts]
    lines.append(summary_table(rows))
    t = report.thresholds
    compared = {a.parity.get("compared") for a in report.artifacts} - {None}
    space = (
        "Differences are of class probabilities: the model outputs logits, so a softmax over the last axis is "
        "applied to Keras and artifact outputs alike (raw logit differences under each artifact below). "
        if compared == {"softmax of logits"} else "Differences are of the model's outputs, which are probabilities. "
    )
    lines.append(
        space
        + f"Criteria: float32 max abs diff <= {t['float32_max_abs_diff']:g}; float16 <= {t['float16_max_abs_diff']:g}; "
        f"dynamic / int8: top-1 agreement >= {t['quantized_top1_agreement']:g} and task metric drop <= "
        f"{t['classification_metric_drop']:g} points (classification) / {t['segmentation_metric_drop']:g} (segmentation). "
        "Every export: no forbidden op, every dilated conv of the Keras model native (TFLite, ONNX). "
        "Latency: median after warm-up; batch-1 ms and images/s at the larger batch."
    )
    lines.append("")
    if report.failures:
        lines.append("## Failures")
        lines.append("")
        lines += [f"- {f}" for f in report.failures]
        lines.append("")
    lines.append("## Ops per artifact")
    lines.append("")
    for a in report.artifacts:
        ops = ", ".join(f"{op} x{n}" for op, n in a.audit["ops"].items())
        lines.append(f"- **{a.path}** ({a.format}, {a.quantization}): {ops}")
        if a.audit.get("dilations"):
            lines.append(
                "  - native dilated convs: " + ", ".join(f"{k} x{n}" for k, n in a.audit["dilations"].items())
            )
        if a.audit.get("size_breakdown"):
            sizes = a.audit["size_breakdown"]
            lines.append(
                "  - bytes: " + ", ".join(f"{k.replace('_', ' ')} {_size(v)}" for k, v in sizes.items() if k != "total")
            )
        if a.parity.get("logit_max_abs_diff") is not None:
            lines.append(
                f"  - raw logits vs Keras: max abs diff {a.parity['logit_max_abs_diff']:.2e}, "
                f"mean {a.parity['logit_mean_abs_diff']:.2e} (the table compares softmax probabilities)"
            )
        for note in a.audit.get("notes", []) + ([a.latency["note"]] if a.latency and a.latency.get("note") else []):
            lines.append(f"  - note: {note}")
        if a.details:
            lines.append("  - " + "; ".join(f"{k}: {v}" for k, v in a.details.items()))
    for note in report.notes:
        lines.append(f"- note: {note}")
    return "\n".join(lines) + "\n"
