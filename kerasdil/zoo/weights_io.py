"""Saving and loading weights by variable path, with clear errors.

Weights are saved as an ``.npz`` of plain arrays (never pickled) plus a JSON header
naming each variable by its Keras path (``stage1/block2/depthwise/kernel``) and the
builder config they were trained with. Loading matches by path and shape, so a file
made for another architecture is refused with a sentence that says what differs,
instead of a Keras traceback or a silent partial load.
"""

import hashlib
import json
import os
import zipfile

import numpy as np

from kerasdil.io import MAX_KERAS_CONFIG_BYTES, check_keras_archive  # noqa: F401

_HEADER = "__kerasdil_header__"
#: Layers that make a model's head: with another ``num_classes`` they start afresh.
HEAD_LAYERS = ("classifier", "logits")


class PartialWeightsWarning(UserWarning):
    """Pretrained weights were loaded into a model of another input or class count, with
    some variables adapted or left at their initial values (the message names them)."""


def _input_channels(config):
    shape = (config or {}).get("input_shape")
    try:
        return int(shape[-1]) if shape is not None and len(shape) == 3 else None
    except (TypeError, ValueError):
        return None


def _adapt_input_channels(value, shape, file_channels, model_channels):
    """A first-layer conv kernel ``(kh, kw, file_in, out)`` for ``model_channels`` input channels, or None.

    1 -> C: every input channel gets the grayscale kernel divided by C, so an image whose C
    channels all hold the gray values gives exactly the grayscale model's activations.
    C -> 1: the kernel summed over the C channels (a gray image seen as C equal channels).
    Input channels grouped by a space-to-depth stem (block-major) are handled the same way.
    """
    if value.ndim != 4 or len(shape) != 4 or value.shape[:2] != tuple(shape[:2]) or value.shape[3] != shape[3]:
        return None
    if file_channels == 1 and value.shape[2] * model_channels == shape[2]:
        return np.repeat(value, model_channels, axis=2) / model_channels
    if model_channels == 1 and value.shape[2] == shape[2] * file_channels:
        return value.reshape(*value.shape[:2], shape[2], file_channels, value.shape[3]).sum(axis=3)
    return None


def sha256_of(path):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()




def save_weights(model, path, *, config=None):
    """Write ``model``'s weights to ``path`` (.npz) atomically.

    Args:
        model: a built Keras model.
        path: destination ending in ".npz".
        config: the builder kwargs, stored so loaders can explain mismatches.

    Returns:
        The sha256 of the written file.
    """
    if not str(path).endswith(".npz"):
        raise ValueError(f"weights path must end with .npz, got {path!r}.")
    header = {
        "format": "kerasdil-weights-1",
        "model": model.name,
        "config": config or {},
        "names": [v.path for v in model.weights],
    }
    arrays = {f"w{i}": np.asarray(v.numpy()) for i, v in enumerate(model.weights)}
    arrays[_HEADER] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    tmp = f"{path}.tmp-{os.getpid()}.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return sha256_of(path)


def read_weights(path):
    """Read a kerasdil ``.npz`` weights file -> (header dict, {path: array}).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a kerasdil weights file, or corrupt.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file {path!r} does not exist.")
    if not zipfile.is_zipfile(path):
        # np.load would try to unpickle it and suggest allow_pickle, which runs code from the file.
        raise ValueError(
            f"{path!r} is not an .npz weights file (no zip archive: another kind of file, or one corrupt or truncated); "
            "pass a file written by kerasdil.zoo.save_weights."
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            if _HEADER not in data.files:
                raise ValueError(f"{path!r} is not a kerasdil weights file (no header); "
                                 "pass a file written by kerasdil.zoo.save_weights.")
            header = json.loads(bytes(data[_HEADER]).decode())
            arrays = {name: data[f"w{i}"] for i, name in enumerate(header["names"])}
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, json.JSONDecodeError, UnicodeDecodeError, TypeError) as e:
        raise ValueError(f"weights file {path!r} is corrupt or truncated ({type(e).__name__}).") from None
    except ValueError as e:
        if "pickle" in str(e).lower():  # an object array inside the zip: never unpickled
            raise ValueError(f"weights file {path!r} holds pickled objects, not plain arrays, so kerasdil "
                             "will not read it; pass a file written by kerasdil.zoo.save_weights.") from None
        if "kerasdil weights file" in str(e):
            raise
        raise ValueError(f"weights file {path!r} is corrupt or truncated ({e}).") from None
    return header, arrays


def _config_diff(saved, current, defaults=None):
    saved = {**(defaults or {}), **saved}  # a key the file predates had its default then
    keys = sorted(set(saved) | set(current))
    diffs = []
    for k in keys:
        a, b = saved.get(k), current.get(k)
        if json.dumps(a, default=str) != json.dumps(b, default=str) and k in saved and k in current:
            diffs.append(f"{k}={a!r} in the file but {b!r} in the model")
    return diffs


def _match_variables(model, arrays, source, hint, file_channels, model_channels, classes_differ):
    """``(plan, missing, adapted, fresh)``: each model variable paired with its file value (adapted across input
    channels where allowed), those the file lacks, those adapted, and head variables left fresh.

    Raises:
        ValueError: a shape that cannot be adapted, or a NaN / infinite value.
    """
    plan, missing, adapted, fresh = [], [], [], []
    for v in model.weights:
        if v.path not in arrays:
            missing.append(v.path)
            continue
        value = arrays[v.path]
        if tuple(value.shape) != tuple(v.shape):
            changed = None
            if file_channels and model_channels and file_channels != model_channels and v.path.endswith("kernel") \
                    and "depthwise" not in v.path:
                changed = _adapt_input_channels(np.asarray(value), tuple(v.shape), file_channels, model_channels)
            if changed is not None:
                adapted.append(f"{v.path} {tuple(value.shape)} -> {tuple(v.shape)}")
                value = changed
            elif classes_differ and v.path.split("/", 1)[0] in HEAD_LAYERS:
                fresh.append(f"{v.path} {tuple(value.shape)} in the file, {tuple(v.shape)} in the model")
                continue
            else:
                raise ValueError(
                    f"weights {source!r} do not fit model {model.name!r}: {v.path} has shape "
                    f"{tuple(value.shape)} in the file but {tuple(v.shape)} in the model.{hint}"
                )
        if np.issubdtype(value.dtype, np.inexact) and not np.all(np.isfinite(value)):
            bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
            raise ValueError(
                f"weights {source!r} hold {bad} NaN or infinite value{'s' if bad > 1 else ''} in {v.path} (saved from "
                "a diverged training run, or corrupt); nothing was loaded: use an earlier good checkpoint."
            )
        plan.append((v, value))
    return plan, missing, adapted, fresh


def _warn_partial(source, model, config, adapted, fresh, file_channels, model_channels):
    """One :class:`PartialWeightsWarning` naming the head left fresh and the input layer adapted."""
    import warnings

    parts = []
    if fresh:
        parts.append(f"the head starts from fresh values for num_classes={config.get('num_classes')} "
                     f"({'; '.join(fresh)})")
    if adapted:
        parts.append(f"the input layer was adapted from {file_channels} to {model_channels} channel(s) "
                     f"({'; '.join(adapted)}; " + ("the grayscale kernel replicated and divided by "
                     f"{model_channels}" if file_channels == 1 else "the kernel summed over the channels") + ")")
    warnings.warn(f"weights {source!r} loaded into {model.name!r} except where the shapes differ: "
                  + "; ".join(parts) + ".", PartialWeightsWarning, stacklevel=4)


def assign_weights(model, arrays, *, source, saved_config=None, config=None, allow_missing=False, allow_extra=False,
                   config_defaults=None, adapt=False):
    """Set ``model``'s variables from ``{path: array}``, all or nothing.

    Every model variable must be found with the same shape unless ``allow_missing``;
    file entries the model lacks are an error unless ``allow_extra`` (e.g. a
    classifier head when ``include_top=False``). Nothing is assigned if anything is
    wrong, so a failed load never leaves a half-loaded model.

    With ``adapt`` (and both configs known), weights made for another input channel
    count or class count still load where the shapes allow: the first conv kernel is
    adapted from 1 to C input channels (replicated, divided by C) or from C to 1
    (summed), and a head layer (``classifier``, ``logits``) made for another
    ``num_classes`` keeps its fresh initial values; a :class:`PartialWeightsWarning`
    says which. Any other mismatch is still an error naming the variable and shapes.

    Returns:
        (assigned, missing, extra): lists of variable paths.

    Raises:
        ValueError: a shape mismatch, missing or unexpected variables.
    """
    hint = ""
    if saved_config is not None and config is not None:
        diffs = _config_diff(saved_config, config, config_defaults)
        if diffs:
            hint = " They were made for another architecture: " + "; ".join(diffs) + "."
    file_channels = model_channels = None
    classes_differ = False
    if adapt and saved_config is not None and config is not None:
        file_channels, model_channels = _input_channels(saved_config), _input_channels(config)
        saved_classes = {**(config_defaults or {}), **saved_config}.get("num_classes")
        classes_differ = saved_classes is not None and config.get("num_classes") not in (None, saved_classes)
    plan, missing, adapted, fresh = _match_variables(model, arrays, source, hint, file_channels, model_channels,
                                                     classes_differ)
    used = {v.path for v, _ in plan} | {entry.split(" ", 1)[0] for entry in fresh}
    extra = [k for k in arrays if k not in used]
    if missing and not allow_missing:
        raise ValueError(
            f"weights {source!r} do not fit model {model.name!r}: {len(missing)} of its "
            f"{len(model.weights)} variables are missing from the file (first: {missing[0]}).{hint}"
        )
    if extra and not allow_extra:
        raise ValueError(
            f"weights {source!r} do not fit model {model.name!r}: the file has {len(extra)} "
            f"variables the model lacks (first: {extra[0]}).{hint}"
        )
    for v, value in plan:
        v.assign(value.astype(v.dtype))
    if adapted or fresh:
        _warn_partial(source, model, config, adapted, fresh, file_channels, model_channels)
    if saved_config is not None and config is not None:
        # Every shape fits, yet the builder arguments differ in something other than the
        # input size (a conv net's weights are size-independent): say so, once.
        ignored = {"input_shape"} | ({"num_classes"} if fresh else set())
        diffs = [d for d in _config_diff(saved_config, config, config_defaults) if d.split("=", 1)[0] not in ignored]
        if diffs:
            import warnings

            warnings.warn(
                f"weights {source!r} were made for another architecture ({'; '.join(diffs)}); they were "
                "loaded because every variable has the same shape, so treat this as a transfer.",
                stacklevel=3,
            )
    return [v.path for v, _ in plan], missing, extra


def load_weights(model, weights, *, model_name, config, allow_extra=False, config_defaults=None):
    """Resolve ``weights`` (None, a registered tag or a path) and load it into ``model``.

    Accepts a registered tag of ``model_name`` (sha256-checked), a kerasdil ``.npz``,
    a Keras ``.weights.h5`` or a ``.keras`` model file (loaded in safe mode; its
    weights are matched by path).

    Raises:
        ValueError: unknown tag, checksum mismatch, wrong architecture or corrupt file.
        FileNotFoundError: a path that does not exist.
    """
    if weights is None:
        return model
    from kerasdil.zoo.record import find_pretrained

    pretrained = find_pretrained(model_name)
    if weights in pretrained:
        entry = pretrained[weights]
        if not os.path.isfile(entry.path):
            raise FileNotFoundError(f"pretrained weights {model_name}:{weights} are registered but {entry.path!r} is missing from the installation.")
        digest = sha256_of(entry.path)
        if digest != entry.sha256:
            raise ValueError(
                f"pretrained weights {entry.path!r} are corrupt: sha256 {digest[:12]}... does not match "
                f"the registered {entry.sha256[:12]}...; reinstall kerasdil."
            )
        path = entry.path
    else:
        path = os.fspath(weights)
        if not os.path.exists(path):
            tags = ", ".join(repr(t) for t in pretrained) or "none shipped"
            raise FileNotFoundError(
                f"weights={weights!r} is neither a pretrained tag of {model_name} ({tags}) nor an existing file."
            )
    if path.endswith(".npz"):
        header, arrays = read_weights(path)
        try:
            assign_weights(model, arrays, source=path, saved_config=header.get("config"), config=config,
                           allow_extra=allow_extra, config_defaults=config_defaults, adapt=True)
        except ValueError as e:
            if weights not in pretrained:
                raise
            raise ValueError(
                f"{e} kerasdil.zoo.create_model('{model_name}:{weights}') builds the architecture these shipped "
                "weights were trained with."
            ) from None
    elif path.endswith(".keras"):
        import keras

        check_keras_archive(path)
        try:
            other = keras.models.load_model(path, compile=False, safe_mode=True)
        except Exception as e:  # Keras raises many types for a bad archive
            raise ValueError(f"could not read {path!r} as a .keras model: {e}") from None
        arrays = {v.path: np.asarray(v.numpy()) for v in other.weights}
        assign_weights(model, arrays, source=path, allow_extra=allow_extra)
    elif path.endswith(".h5"):
        try:
            model.load_weights(path)
        except Exception as e:
            raise ValueError(f"weights {path!r} do not fit model {model.name!r}: {e}") from None
        broken = [v.path for v in model.weights if not np.all(np.isfinite(np.asarray(v.numpy(), dtype=np.float64)))]
        if broken:
            raise ValueError(
                f"weights {path!r} hold NaN or infinite values in {broken[0]} (saved from a diverged training run, "
                "or corrupt); use an earlier good checkpoint."
            )
    else:
        raise ValueError(f"weights file {path!r} must be a .npz (kerasdil), .weights.h5 or .keras file.")
    return model
