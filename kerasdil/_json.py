"""JSON files that stay valid JSON, and a reader that names the broken file.

Python's ``json`` writes ``NaN`` and ``Infinity`` for non-finite floats, which no
strict JSON parser accepts (``jq``, JavaScript, most other languages). Every JSON
file kerasdil writes goes through :func:`dumps`: a non-finite float becomes
``null`` and ``allow_nan=False`` guarantees nothing else slips through.
:func:`read` turns a truncated or corrupt file into one sentence that names the
file and says what to do, instead of ``Expecting value: line 1 column 11``.
"""

import json
import math

import numpy as np


def finite_or_none(value):
    """``value`` with every non-finite float (NaN, +-Inf), at any depth, replaced by None.

    Example:
        >>> finite_or_none({"loss": float("nan"), "acc": [0.5, float("inf")]})
        {'loss': None, 'acc': [0.5, None]}
    """
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return finite_or_none(value.tolist())
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def dumps(data, *, indent=2, default=None):
    """``json.dumps`` that writes strict JSON: non-finite floats become ``null``.

    Args:
        data: JSON-able data (numpy scalars and arrays are converted too).
        indent: as ``json.dumps``.
        default: as ``json.dumps``, for other objects.

    Returns:
        The JSON text.

    Raises:
        ValueError: never for NaN / Inf (they are written as null); as ``json.dumps``
            otherwise.

    Example:
        >>> dumps({"loss": float("nan")}, indent=None)
        '{"loss": null}'
    """
    return json.dumps(finite_or_none(data), indent=indent, default=default, allow_nan=False)


def read(path, what_to_do):
    """Parse the JSON file ``path``; a truncated or corrupt one is one clear ValueError.

    Args:
        path: the file.
        what_to_do: the way out, a sentence fragment such as
            "delete the folder runs/x/backup to restart from epoch 1".

    Returns:
        The parsed data.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not valid JSON (the message names it and ``what_to_do``).

    Example:
        >>> read("runs/x/run.json", "delete runs/x to start afresh")
    """
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        reason = f"{e.msg} at line {e.lineno}" if isinstance(e, json.JSONDecodeError) else "not UTF-8 text"
        raise ValueError(f"{path} is truncated or corrupt (not valid JSON: {reason}); {what_to_do}.") from None


def _refuse_constant(name):
    # NaN / Infinity are no JSON; an old file may hold them, which reads as None.
    return None
