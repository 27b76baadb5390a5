"""Benchmark every export format and quantization side by side, per zoo model.

For each model (default mnist_dsdc and deeplab_aspp): export SavedModel, TFLite
float32 / float16 / dynamic / int8 and ONNX with ``kerasdil.export.export`` and
put size, batch-1 latency, throughput, task metric and parity in one table, with
the export targets checked: int8 TFLite at least 3x smaller than float32 TFLite
and at least 5x faster than Keras ``model(x, training=False)`` at batch 1.

Models use shipped pretrained weights when the zoo has them; otherwise they are
trained briefly here (said in the output), since the int8 metric drop means
little on an untrained model (``--require-pretrained`` refuses that instead).

A size study follows the main table: float32, int8 with per-channel and with
per-tensor weight scales, each written three ways: as the converter writes it,
with internal tensor names stripped, and compacted (names stripped and identical
zero-point vectors shared: the export default), every file split into constants /
quantization parameters / names / metadata / graph. Ratios only ever compare
files written the same way.

    KERASDIL_DATA_DIR=path/to/folder python tools/bench_export.py
    python tools/bench_export.py --models mnist_dsdc --data path/to/mnist.npz

Writes ``bench_export.json`` and ``bench_export.md`` into ``--out`` (default
runs/bench_export/), the per-model export folders and reports beside them, and
prints the table.
"""

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SMALLER_TARGET = 3.0
FASTER_TARGET = 5.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="mnist_dsdc,deeplab_aspp", help="comma-separated zoo names")
    p.add_argument("--out", default=os.path.join("runs", "bench_export"), help="output folder")
    p.add_argument("--data", default=None, help="data source (default: $KERASDIL_DATA_DIR search; 'sample' for the embedded sample)")
    p.add_argument("--samples", type=int, default=None, help="cap on test samples for metric / parity (default all)")
    p.add_argument("--repeats", type=int, default=50, help="timed calls per runtime at batch 1")
    p.add_argument("--batch-size", type=int, default=64, help="larger batch for throughput")
    p.add_argument("--threads", type=int, default=None, help="LiteRT / onnxruntime threads (default all cores)")
    p.add_argument("--train-epochs", type=int, default=1, help="epochs of brief training when no pretrained weights")
    p.add_argument("--train-limit", type=int, default=None, help="cap on training samples for brief training")
    p.add_argument("--int8-io", action="store_true", help="int8 TFLite with int8 input and output")
    p.add_argument("--retrain", action="store_true", help="ignore weights cached by an earlier brief training")
    p.add_argument("--require-pretrained", action="store_true",
                   help="stop with an error when a model has no shipped pretrained weights (no brief training)")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.batch_size < 1:
        p.error("--repeats and --batch-size must be at least 1: the benchmark compares latencies and throughputs")
    return args


def build(name, args, log):
    """The zoo model, pretrained if shipped, else briefly trained; and how it was obtained."""
    import keras

    from kerasdil.tasks import get_task
    from kerasdil.zoo import create_model, model_info

    info = model_info(name)
    pretrained = info.pretrained
    if pretrained:
        tag = "mnist" if "mnist" in pretrained else sorted(pretrained)[0]
        return create_model(name, weights=tag), f"pretrained weights {name}:{tag} ({os.path.basename(pretrained[tag].path)})"
    if args.require_pretrained:
        raise SystemExit(f"bench_export: {name} has no shipped pretrained weights (--require-pretrained).")
    cached = os.path.join(args.out, f"{name}-briefly-trained.weights.h5")
    if os.path.exists(cached) and not args.retrain:
        model = create_model(name)
        model.load_weights(cached)
        return model, f"NOT pretrained: weights from an earlier brief training here ({cached}; --retrain redoes it)"
    task = get_task(info.task)
    kwargs = dict(batch_size=128 if info.task == "classification" else 32, source=args.data, augment=False,
                  validation_size=0, limit=args.train_limit)
    if info.task == "segmentation":
        kwargs["num_train"] = args.train_limit or 3000
    train, _, _, description = task.datasets(info, **kwargs)
    keras.utils.set_random_seed(0)
    model = create_model(name)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss=task.loss(), metrics=task.metrics())
    log(f"{name}: no pretrained weights shipped; training {args.train_epochs} epoch(s) on {description}")
    start = time.perf_counter()
    model.fit(train, epochs=args.train_epochs, verbose=2)
    model.save_weights(cached)
    how = (f"NOT pretrained: trained here for {args.train_epochs} epoch(s) "
           f"({time.perf_counter() - start:.0f} s) on {description}")
    return model, how


def _artifact_row(name, a, label=None, quantization=None):
    latency = a.latency or {}
    return {
        "model": name, "artifact": label or a.path, "format": a.format, "quantization": quantization or a.quantization,
        "bytes": a.bytes, "runtime": a.runtime, "batch1_ms": latency.get("batch1_ms"),
        "throughput_ips": latency.get("throughput_ips"),
        "metric": a.metric and a.metric["value"], "metric_name": a.metric and a.metric["name"],
        "metric_drop": a.metric and a.metric["drop"], "max_abs_diff": a.parity["max_abs_diff"],
        "logit_max_abs_diff": a.parity.get("logit_max_abs_diff"),
        "top1_agreement": a.parity["top1_agreement"], "forbidden": a.audit["forbidden"],
        "dilated": f"{a.audit['dilated_native']}/{a.audit['dilated_expected']}", "passed": a.passed,
        "failures": a.failures,
    }


#: The size study's files: (label, quantization in the export report, weight scales).
SIZE_FILES = (("float32", "float32", "per-channel"), ("int8 per-channel", "int8", "per-channel"),
              ("int8 per-tensor", "int8", "per-tensor"))
#: How each file is written: (label, export keyword arguments); the last is the default.
LAYOUTS = (
    ("converter output", {"strip_names": False, "share_zero_points": False}),
    ("names stripped", {"strip_names": True, "share_zero_points": False}),
    ("names stripped, zero points shared (default)", {"strip_names": True, "share_zero_points": True}),
)


def size_study(reports):
    """Rows of the size study.

    Args:
        reports: ``{(layout label, scales): ExportReport}``, scales "per-channel"
            (float32 and int8 TFLite) or "per-tensor" (int8).

    Returns:
        list of dicts: layout, file, bytes, size breakdown, ratio (float32 file
        of the same layout / this file), metric and passed.
    """
    rows = []
    for layout, _ in LAYOUTS:
        if (layout, "per-channel") not in reports:
            continue
        fp32 = reports[(layout, "per-channel")].artifact("tflite", "float32")
        for label, q, scales in SIZE_FILES:
            report = reports.get((layout, scales))
            if report is None:
                continue
            a = report.artifact("tflite", q)
            rows.append({
                "layout": layout, "file": label, "bytes": a.bytes, "breakdown": a.audit["size_breakdown"],
                "ratio": fp32.bytes / a.bytes, "metric": a.metric, "passed": a.passed,
            })
    return rows


def rows_for(name, report, how, per_tensor=None, layouts=None):
    """Benchmark rows (dicts) and the summary for one model's export reports.

    ``report``: all formats, default layout; ``per_tensor``: int8 with per-tensor
    scales, default layout; ``layouts``: ``{(layout label, scales): report}`` of
    the TFLite files written the other ways (size study only).
    """
    keras_call = report.keras["latency"]["call"]
    keras_pob = report.keras["latency"]["predict_on_batch"]
    km = report.keras["metric"]
    rows = [
        {"model": name, "artifact": "Keras model(x, training=False)", "format": "keras", "quantization": "float32",
         "bytes": None, "batch1_ms": keras_call["batch1_ms"], "throughput_ips": keras_call["throughput_ips"],
         "metric": km and km["value"], "metric_name": km and km["name"], "max_abs_diff": None, "top1_agreement": None,
         "passed": None},
        {"model": name, "artifact": "Keras predict_on_batch", "format": "keras", "quantization": "float32",
         "bytes": None, "batch1_ms": keras_pob["batch1_ms"], "throughput_ips": keras_pob["throughput_ips"],
         "metric": km and km["value"], "metric_name": km and km["name"], "max_abs_diff": None, "top1_agreement": None,
         "passed": None},
    ]
    rows += [_artifact_row(name, a) for a in report.artifacts]
    if per_tensor is not None:
        rows.append(_artifact_row(name, per_tensor.artifact("tflite", "int8"),
                                  "model_int8.tflite, per-tensor scales", "int8 per-tensor"))
    fp32 = report.artifact("tflite", "float32")
    int8 = report.artifact("tflite", "int8")
    smaller = fp32.bytes / int8.bytes
    faster = keras_call["batch1_ms"] / int8.latency["batch1_ms"]
    consts = fp32.audit["size_breakdown"]["constants"] / int8.audit["size_breakdown"]["constants"]
    targets = {
        "int8_smaller_than_float32_tflite": {"value": smaller, "target": SMALLER_TARGET, "met": smaller >= SMALLER_TARGET},
        "int8_faster_than_keras_call_batch1": {"value": faster, "target": FASTER_TARGET, "met": faster >= FASTER_TARGET},
    }
    if per_tensor is not None:
        pt = per_tensor.artifact("tflite", "int8")
        ratio = fp32.bytes / pt.bytes
        targets["int8_per_tensor_smaller_than_float32_tflite"] = {
            "value": ratio, "target": SMALLER_TARGET, "met": ratio >= SMALLER_TARGET}
        faster_pt = keras_call["batch1_ms"] / pt.latency["batch1_ms"]
        targets["int8_per_tensor_faster_than_keras_call_batch1"] = {
            "value": faster_pt, "target": FASTER_TARGET, "met": faster_pt >= FASTER_TARGET}
    default = LAYOUTS[-1][0]
    reports = {(default, "per-channel"): report, **(layouts or {})}
    if per_tensor is not None:
        reports[(default, "per-tensor")] = per_tensor
    size_note = {"int8_constants_smaller": consts, "int8_size_breakdown": int8.audit["size_breakdown"],
                 "float32_size_breakdown": fp32.audit["size_breakdown"], "study": size_study(reports)}
    return rows, {"model": name, "weights": how, "export_passed": report.passed, "failures": report.failures,
                  "targets": targets, "size": size_note, "data": report.data, "samples": report.keras["samples"]}


def _fmt(value, spec, empty="-"):
    return empty if value is None else format(value, spec)


def _kb(n):
    return f"{n / 1024:.1f} KB"


def size_markdown(summaries):
    """The size study as a markdown table, one row per model, name setting and file."""
    lines = [
        "| model | written as | TFLite file | size | constants | quant params | names | metadata | graph "
        "| float32 / this | metric (drop, points) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in summaries:
        for r in s["size"].get("study", []):
            b, m = r["breakdown"], r["metric"]
            metric = "-" if not m else f"{m['name']} {100 * m['value']:.2f}% ({m['drop']:+.2f})"
            lines.append(
                f"| {s['model']} | {r['layout']} | {r['file']} | {_kb(r['bytes'])} | {_kb(b['constants'])} "
                f"| {_kb(b['quantization_params'])} | {_kb(b['tensor_names'])} | {_kb(b['metadata'])} "
                f"| {_kb(b['graph'])} | {r['ratio']:.2f}x | {metric} |"
            )
    return "\n".join(lines) + "\n"


def markdown(rows, summaries, batch):
    lines = [
        f"| model | artifact | size | batch-1 ms | img/s @{batch} | metric | drop (points) "
        "| max abs diff (probabilities) | max abs diff (logits) | top-1 agree | dilated native | export checks |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        size = "-" if r["bytes"] is None else _kb(r["bytes"])
        metric = "-" if r["metric"] is None else f"{r['metric_name']} {100 * r['metric']:.2f}%"
        check = "-" if r["passed"] is None else ("pass" if r["passed"] else "FAIL: " + "; ".join(r["failures"]))
        lines.append(
            f"| {r['model']} | {r['artifact']} | {size} | {_fmt(r['batch1_ms'], '.3f')} "
            f"| {_fmt(r['throughput_ips'], '.0f')} | {metric} "
            f"| {_fmt(r.get('metric_drop'), '+.2f')} | {_fmt(r['max_abs_diff'], '.1e')} "
            f"| {_fmt(r.get('logit_max_abs_diff'), '.1e')} "
            f"| {_fmt(r['top1_agreement'], '.4f')} | {r.get('dilated', '-')} | {check} |"
        )
    lines.append("")
    lines.append(
        "Max abs diff is of class probabilities: classifiers output them; a segmenter's logits go through a "
        "softmax over the class axis first (its raw logit difference is the next column). Float criteria: "
        "float32 <= 1e-4, float16 <= 1e-2. TFLite files are compacted losslessly (the export default): internal "
        "tensor names stripped (input and output names kept), identical zero-point vectors stored once."
    )
    lines.append("")
    for s in summaries:
        t = s["targets"]
        small, fast = t["int8_smaller_than_float32_tflite"], t["int8_faster_than_keras_call_batch1"]
        b = s["size"]["int8_size_breakdown"]
        lines.append(
            f"- **{s['model']}** ({s['weights']}; {s['samples']} test samples): int8 TFLite is "
            f"{small['value']:.2f}x smaller than float32 TFLite (target >= {small['target']:g}x: "
            f"{'met' if small['met'] else 'NOT met'}; its constants alone are "
            f"{s['size']['int8_constants_smaller']:.2f}x smaller, the rest is quantization parameters "
            f"{_kb(b['quantization_params'])}, tensor names {_kb(b['tensor_names'])}, metadata "
            f"{_kb(b['metadata'])} and graph {_kb(b['graph'])}) and {fast['value']:.1f}x faster than Keras "
            f"model(x) at batch 1 (target >= {fast['target']:g}x: {'met' if fast['met'] else 'NOT met'}); "
            f"export checks {'all pass' if s['export_passed'] else 'FAILED: ' + '; '.join(s['failures'])}."
        )
        pt = t.get("int8_per_tensor_smaller_than_float32_tflite")
        if pt:
            ptf = t["int8_per_tensor_faster_than_keras_call_batch1"]
            lines.append(
                f"  - with per-tensor int8 weight scales (`--int8-per-tensor`) the int8 file is {pt['value']:.2f}x "
                f"smaller than float32 (target >= {pt['target']:g}x: {'met' if pt['met'] else 'NOT met'}) and "
                f"{ptf['value']:.1f}x faster than Keras model(x) at batch 1."
            )
    if any(s["size"].get("study") for s in summaries):
        lines += ["", "## Size study", "", size_markdown(summaries).rstrip("\n"), "",
                  "Each part is what the file would lose without it (flatbuffer headers and padding included). "
                  "Ratios compare files written the same way. Quantization parameters are a float32 scale and an "
                  "int64 zero point per tensor, or per output channel for per-channel int8 weights and their int32 "
                  "biases; the schema fixes zero points at int64 and the interpreter refuses fewer zero points than "
                  "scales, but identical vectors (per-channel zero points are all 0) can be stored once. Every file "
                  "in the table was run and checked like the main table's (the metric column is its own)."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    import warnings

    from kerasdil.data import SampleDataWarning
    from kerasdil.export import export
    from kerasdil.io import write_text_atomic
    from kerasdil.zoo import list_models

    warnings.filterwarnings("default", category=SampleDataWarning)
    os.makedirs(args.out, exist_ok=True)

    def log(text):
        print(f"[bench_export] {text}", file=sys.stderr, flush=True)

    rows, summaries = [], []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        if name not in list_models():
            log(f"{name}: not registered in the zoo yet; skipped")
            summaries.append({"model": name, "skipped": "not registered in the zoo", "targets": None})
            continue
        model, how = build(name, args, log)
        log(f"{name}: exporting ({how})")
        start = time.perf_counter()
        common = dict(data=args.data, max_samples=args.samples, batch_size=args.batch_size,
                      num_threads=args.threads, int8_io=args.int8_io, force=True)
        report = export(
            model, os.path.join(args.out, name), quantize=("float32", "float16", "dynamic", "int8"),
            latency_repeats=args.repeats, **common,
        )
        per_tensor = export(
            model, os.path.join(args.out, f"{name}-int8-per-tensor"), formats="tflite", quantize="int8",
            int8_per_channel=False, latency_repeats=args.repeats, **common,
        )
        # The same TFLite files written the other ways, for the size study (proved, not timed).
        layouts = {}
        for layout, kwargs in LAYOUTS[:-1]:
            slug = layout.replace(" ", "-").replace(",", "")
            layouts[(layout, "per-channel")] = export(
                model, os.path.join(args.out, f"{name}-{slug}"), formats="tflite", quantize=("float32", "int8"),
                latency_repeats=0, **kwargs, **common,
            )
            layouts[(layout, "per-tensor")] = export(
                model, os.path.join(args.out, f"{name}-int8-per-tensor-{slug}"), formats="tflite", quantize="int8",
                int8_per_channel=False, latency_repeats=0, **kwargs, **common,
            )
        log(f"{name}: export and proof took {time.perf_counter() - start:.0f} s")
        model_rows, summary = rows_for(name, report, how, per_tensor, layouts)
        rows += model_rows
        summaries.append(summary)
    ran = [s for s in summaries if not s.get("skipped")]
    table = markdown(rows, ran, args.batch_size) + "".join(
        f"- **{s['model']}**: skipped ({s['skipped']}).\n" for s in summaries if s.get("skipped")
    )
    env = report.environment if ran else {}
    header = (
        "# Export benchmark\n\n"
        f"Command: `{' '.join([os.path.basename(sys.executable)] + sys.argv)}`\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores; "
        + ", ".join(f"{k} {v}" for k, v in env.items())
        + ". Latency: median after warm-up; throughput at the larger batch. LiteRT runs with XNNPACK; "
        "TFLite files have a static batch of 1 (resized for the larger batch).\n\n"
    )
    text = header + table
    payload = {"command": sys.argv, "environment": env, "rows": rows, "models": summaries}
    write_text_atomic(os.path.join(args.out, "bench_export.json"), json.dumps(payload, indent=2, default=str) + "\n")
    write_text_atomic(os.path.join(args.out, "bench_export.md"), text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
