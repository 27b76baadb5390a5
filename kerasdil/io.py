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
import zipfile
import uuid


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


#: Largest config.json / metadata.json a .keras archive may hold (a zoo model's is a few hundred KB).
MAX_KERAS_CONFIG_BYTES = 64 << 20


def check_keras_archive(path):
    """Refuse a ``.keras`` file that is no zip, or whose config would take gigabytes to read.

    Keras reads ``config.json`` whole into memory and parses it before anything can
    refuse it; a small zip can hold a 1 GiB one. The sizes in the zip directory are
    read first (no decompression).

    Raises:
        ValueError: not a zip archive, or ``config.json`` / ``metadata.json`` larger
            than ``MAX_KERAS_CONFIG_BYTES``.

    Example:
        >>> check_keras_archive("model.keras")
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{path} is not a .keras archive (a .keras file is a zip written by model.save); "
                         f"it may be truncated or another kind of file ({type(e).__name__}).") from None
    for member in members:
        if member.filename in ("config.json", "metadata.json") and member.file_size > MAX_KERAS_CONFIG_BYTES:
            raise ValueError(
                f"{path} holds a {member.filename} of {member.file_size:,} bytes (at most "
                f"{MAX_KERAS_CONFIG_BYTES:,} are read); it is not a model written by model.save, so it was not loaded."
            )
