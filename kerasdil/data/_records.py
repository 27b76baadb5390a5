"""What :func:`kerasdil.data.sources.load_data` says about the data: the ``data:`` line and ``data.json``."""

from __future__ import annotations

import os


def _summarize(label, kind, found_task, names, input_shape, splits, notes, record, resize, validation_split, seed):
    """Fill ``record`` (what ``data.json`` holds) and return the one-line ``data:`` description."""
    sizes = {k: v.count for k, v in splits.items()}
    shown = ("train", "validation") if record.get("test_split") else ("train", "validation", "test")
    counts = " / ".join(f"{sizes[s]:,} {s}" if sizes.get(s) is not None else f"? {s}" for s in shown if s in sizes)
    if record.get("test_split"):
        counts += f"; no test split: final scores are on {record['test_split'].split(' (')[0]}"
    h, w, c = input_shape
    description = (f"data: {label} ({found_task}, {len(names)} classes, {counts}; {h}x{w}x{c}, resize={resize})"
                   + "".join(f"; {n}" for n in notes))
    record.update(
        source=label, kind=kind, task=found_task, num_classes=len(names), class_names=list(names),
        input_shape=list(input_shape), image_size=[h, w], resize=resize, channels=c,
        validation_split=validation_split, seed=seed, splits=sizes, notes=notes,
    )
    record.setdefault("skipped", [])
    return description


def write_data_record(spec, out_dir):
    """Write ``spec.record`` to ``out_dir/data.json`` (atomically); returns the path."""
    import json

    from kerasdil.io import write_text_atomic

    path = os.path.join(out_dir, "data.json")
    write_text_atomic(path, json.dumps(spec.record, indent=2, default=str))
    return path
