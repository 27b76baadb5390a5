"""Writing files whole or not at all, and the JSON + markdown reports of the benchmarks.

Every file kerasdil writes goes to a unique temporary name beside its
destination and is renamed into place, so an interrupted run never leaves a
half-written file under the final name.

>>> from kerasdil.io import write_report
>>> write_report("runs/bench", "bench", {"rows": []}, ["| model |", "|---|"])  # doctest: +SKIP
"""

import contextlib
import json
import os
import uuid

__all__ = ["write_bytes_atomic", "write_json_atomic", "write_report", "write_text_atomic"]

# Temporary files end in this suffix (export's staging folders too), so leftovers are recognisable.
TEMPORARY_SUFFIX = ".tmp"


def _write(path, data, mode, **open_kwargs):
    tmp = f"{path}.{os.getpid()}-{uuid.uuid4().hex[:8]}{TEMPORARY_SUFFIX}"
    try:
        with open(tmp, mode, **open_kwargs) as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return path


def write_text_atomic(path, text):
    """Write ``text`` (UTF-8) to ``path`` through a temporary name and an atomic rename.

    Args:
        path: destination file; its folder must exist.
        text: the whole content.

    Returns:
        ``path``.

    Raises:
        OSError: the folder is missing or not writable (no temporary file is left).

    Example:
        >>> write_text_atomic("notes.txt", "hello\\n")  # doctest: +SKIP
    """
    return _write(path, text, "w", encoding="utf-8")


def write_bytes_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` through a temporary name and an atomic rename.

    Args, returns and raises: as :func:`write_text_atomic`.

    Example:
        >>> write_bytes_atomic("model.tflite", flatbuffer)  # doctest: +SKIP
    """
    return _write(path, data, "wb")


def write_json_atomic(path, data, *, indent=2, default=None):
    """Write ``data`` as JSON to ``path`` atomically (see :func:`write_text_atomic`).

    Args:
        path: destination file.
        data: anything ``json.dumps`` takes with ``default``.
        indent: JSON indentation.
        default: ``json.dumps``' hook for objects it cannot encode.

    Returns:
        ``path``.

    Example:
        >>> write_json_atomic("metrics.json", {"accuracy": 0.99})  # doctest: +SKIP
    """
    return write_text_atomic(path, json.dumps(data, indent=indent, default=default))


def write_report(out_dir, stem, payload, lines, *, echo=True):
    """Write a benchmark's results: ``payload`` to ``out_dir/stem.json`` (for scripts) and
    ``lines`` to ``out_dir/stem.md`` (for people); print the lines.

    Args:
        out_dir: folder, created if missing.
        stem: file name without extension.
        payload: JSON-able results.
        lines: markdown lines (no trailing newlines).
        echo: print the lines too (default).

    Returns:
        ``(json path, markdown path)``.

    Example:
        >>> write_report("runs/bench", "bench_mnist", {"rows": []}, ["| model |", "|---|"])  # doctest: +SKIP
    """
    os.makedirs(out_dir, exist_ok=True)
    json_path = write_json_atomic(os.path.join(out_dir, f"{stem}.json"), payload)
    md_path = write_text_atomic(os.path.join(out_dir, f"{stem}.md"), "\n".join(lines) + "\n")
    if echo:
        print("\n".join(lines))
    return json_path, md_path
