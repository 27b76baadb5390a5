"""Time series as data for every kerasdil verb: aeon's sets by name, .npz, .ts, .csv folders, arrays, tf.data.

:func:`load_series` turns a source into a :class:`SeriesSpec` (``DataSpec``'s interface
with ``input_shape`` ``(steps, channels)``),
with ``tf.data`` pipelines of float32 series ``(B, steps, channels)`` and int32 class ids.

Sources:

- ``"aeon:NAME"``: a classification set shipped with aeon
  (``aeon.datasets.load_classification(NAME, split="train"/"test")``; GunPoint,
  ArrowHead, OSULeaf, ACSF1, ItalyPowerDemand, BasicMotions, JapaneseVowels,
  PickupGestureWiimoteZ load offline). aeon is optional: ``pip install "kerasdil[timeseries]"``;
- an ``.npz`` file holding ``x`` (N, steps[, channels]) and ``y`` (N,) (and optionally
  ``x_test`` / ``y_test``);
- a ``.ts`` file (the UCR/UEA format; read by aeon's ``load_from_ts_file``), with
  ``NAME_TEST.ts`` beside ``NAME_TRAIN.ts`` used as the test split;
- a folder of class subfolders of ``.csv`` files, one series per file (rows are
  steps, columns channels; a non-numeric first row is a header), optionally split
  into ``train/`` and ``test/`` folders of that layout;
- numpy ``(x, y)``, a ``tf.data.Dataset`` of ``(series, label)``, or a dict
  ``{"train": ..., "validation": ..., "test": ...}`` of those.

``normalize="auto"`` (default) z-normalises a univariate series on its own
(``"series"``: shape matters, not level) and each channel of multivariate series with
the training split's mean and deviation (``"dataset"``: the levels of the channels
carry information, e.g. sensor axes or spectral coefficients); or ``"none"``. Series of unequal length are never cut: ``unequal="resample"`` (default)
interpolates each one linearly to the longest training length, ``"pad"`` appends
zeros and a last, validity channel (1 on the series' steps, 0 on the padding) that a model
built with ``validity_channel=True`` (``series_dsdc``) masks the padding with; ``data.json``
records which, and the lengths found.

Example:
    >>> from kerasdil.data.series import load_series
    >>> spec = load_series("aeon:GunPoint")
    >>> spec.input_shape, spec.num_classes
    ((150, 1), 2)
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from kerasdil.data._spec import _Found

#: Share of the training series held out for validation when a source has no validation split.
DEFAULT_VALIDATION_SPLIT = 0.2

AEON_PREFIX = "aeon:"
NORMALIZATIONS = ("auto", "series", "dataset", "none")
UNEQUAL_POLICIES = ("resample", "pad")
#: Series augmentation of the training split: random scaling, jitter, a random window
#: stretched back to the full length.
SERIES_AUGMENTATION = {"scale": 0.1, "jitter": 0.03, "crop": 0.9}


def _natural_key(name):
    return (0, int(name), "") if str(name).lstrip("-").isdigit() else (1, 0, str(name))


def _require_aeon(what):
    try:
        import aeon.datasets  # noqa: F401
    except ImportError:
        raise ValueError(f"{what} needs aeon, an optional dependency: pip install \"kerasdil[timeseries]\" "
                         "(or pip install aeon).") from None
    return aeon.datasets


def _npz_is_series(path):
    try:
        with np.load(path, allow_pickle=False) as f:
            return "x" in f.files and "y" in f.files
    except Exception:
        return False


def is_series_source(source) -> bool:
    """True for a time-series source: ``aeon:NAME``, a ``.ts`` file, an ``.npz`` with ``x`` and ``y``,
    a folder of ``.csv`` class folders, or a :class:`SeriesSpec`.

    Example:
        >>> is_series_source("aeon:GunPoint"), is_series_source("sample")
        (True, False)
    """
    if isinstance(source, SeriesSpec):
        return True
    if not isinstance(source, (str, os.PathLike)):
        return False
    text = os.fspath(source)
    if text.startswith(AEON_PREFIX) or text.endswith(".ts"):
        return True
    path = os.path.expanduser(text)
    if text.endswith(".npz"):
        return os.path.isfile(path) and _npz_is_series(path)
    return os.path.isdir(path) and bool(_csv_files(path))


# ----------------------------------------------------------------------------- readers


def _from_aeon(x):
    """aeon's (N, C, L) array or list of (C, L_i) arrays -> list of (L_i, C) float arrays."""
    return [np.asarray(s, dtype=np.float64).T for s in x]


def _read_aeon(name):
    datasets = _require_aeon(f"--data {AEON_PREFIX}{name}")
    parts = {}
    for split in ("train", "test"):
        try:
            x, y = datasets.load_classification(name, split=split)
        except Exception as e:  # aeon says "not found" in several ways
            raise ValueError(f"aeon has no classification set {name!r} offline ({type(e).__name__}); the sets "
                             "shipped with it include GunPoint, ArrowHead, OSULeaf, ACSF1, ItalyPowerDemand, "
                             "BasicMotions, JapaneseVowels, PickupGestureWiimoteZ.") from None
        parts[split] = (_from_aeon(x), np.asarray(y).astype(str))
    return parts


def _read_ts(path):
    datasets = _require_aeon(f".ts file {path}")
    parts = {}
    paired = {"train": path}
    if path.upper().endswith("_TRAIN.TS"):
        paired["test"] = path[: -len("_TRAIN.ts")] + "_TEST.ts"
    for split, p in paired.items():
        if not os.path.isfile(p):
            if split == "train":
                raise FileNotFoundError(f"series file {p} does not exist.")
            continue
        try:
            x, y = datasets.load_from_ts_file(p)
        except Exception as e:
            raise ValueError(f"{p} is not a readable .ts file: {e}") from None
        parts[split] = (_from_aeon(x), np.asarray(y).astype(str))
    return parts


def _array_series(x, what):
    x = np.asarray(x)
    if x.dtype == object:
        return [np.asarray(s, dtype=np.float64).reshape(len(s), -1) for s in x]
    if x.ndim not in (2, 3) or x.shape[0] == 0 or not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"{what}: series must be a numeric array (N, steps) or (N, steps, channels) with N >= 1; "
                         f"got shape {x.shape}, dtype {x.dtype}.")
    x = x.astype(np.float64)
    return list(x[..., None] if x.ndim == 2 else x)


def _read_npz(path):
    with np.load(path, allow_pickle=False) as f:
        parts = {"train": (_array_series(f["x"], path), np.asarray(f["y"]))}
        if "x_test" in f.files and "y_test" in f.files:
            parts["test"] = (_array_series(f["x_test"], path), np.asarray(f["y_test"]))
    return parts


def _csv_files(folder):
    """``{class: [csv paths]}`` of a folder of class subfolders of .csv files (empty when it is not one)."""
    found = {}
    for name in sorted(os.listdir(folder)):
        sub = os.path.join(folder, name)
        if os.path.isdir(sub) and name not in ("train", "test"):
            files = sorted(os.path.join(sub, f) for f in os.listdir(sub) if f.lower().endswith(".csv"))
            if files:
                found[name] = files
    if not found:
        for split in ("train", "test"):
            if os.path.isdir(os.path.join(folder, split)):
                found.update(_csv_files(os.path.join(folder, split)))
    return found


def _read_csv(path):
    try:
        data = np.genfromtxt(path, delimiter=",", dtype=np.float64)
        if data.ndim >= 1 and data.size and np.isnan(np.atleast_2d(data)[0]).all():
            data = np.genfromtxt(path, delimiter=",", dtype=np.float64, skip_header=1)
    except Exception as e:
        raise ValueError(f"{path} is not a readable CSV of numbers: {e}") from None
    data = np.atleast_1d(data)
    data = data.reshape(len(data), -1)
    if data.size == 0 or np.isnan(data).any():
        raise ValueError(f"{path} holds no series or a value that is not a number; each row must be one step "
                         "of comma-separated numbers (one column per channel).")
    return data


def _read_csv_folder(folder):
    parts = {}
    layout = {s: os.path.join(folder, s) for s in ("train", "test") if os.path.isdir(os.path.join(folder, s))}
    for split, sub in (layout or {"train": folder}).items():
        files = _csv_files(sub)
        series = [_read_csv(p) for c in files for p in files[c]]
        labels = np.array([c for c in files for _ in files[c]])
        if series:
            parts[split] = (series, labels)
    if "train" not in parts:
        raise ValueError(f"{folder} has no class subfolders of .csv files (folder/<class>/<series>.csv).")
    return parts


def _in_memory(source):
    import tensorflow as tf

    given = source if isinstance(source, dict) else {"train": source}
    if isinstance(source, dict) and ("train" not in source or set(source) - {"train", "validation", "test"}):
        raise ValueError("a dict of splits needs a 'train' entry and may add 'validation' and 'test'; "
                         f"got {', '.join(sorted(source))}.")
    parts = {}
    for split, value in given.items():
        what = f"data[{split!r}]"
        if isinstance(value, tf.data.Dataset):
            if value.element_spec[1].shape.rank == 1:  # batched: one label per series of the batch
                value = value.unbatch()
            pairs = [(np.asarray(a), np.asarray(b)) for a, b in value.as_numpy_iterator()]
            value = (np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            raise ValueError(f"{what} must be (x, y) arrays or a tf.data.Dataset of (series, label) pairs; "
                             f"got {type(value).__name__}.")
        parts[split] = (_array_series(value[0], what), np.asarray(value[1]).reshape(-1))
    return parts


# ----------------------------------------------------------------------------- preparation


def _to_length(series, length, unequal, validity=False):
    """``series`` (steps, channels) brought to ``length`` steps; with ``validity`` a last channel
    added that is 1 on the series' steps and 0 on the padding."""
    steps = len(series)
    if steps != length and unequal == "pad" and steps < length:
        series = np.concatenate([series, np.zeros((length - steps, series.shape[1]))])
    elif steps != length:
        grid = np.linspace(0, steps - 1, length)
        series = np.stack([np.interp(grid, np.arange(steps), series[:, c]) for c in range(series.shape[1])], axis=1)
    if validity:
        series = np.concatenate([series, (np.arange(length) < steps).astype(series.dtype)[:, None]], axis=1)
    return series


def _normalize(series, normalize):
    series = np.nan_to_num(series, nan=0.0)
    if normalize in ("none", "dataset"):
        return series
    mean, std = series.mean(axis=0, keepdims=True), series.std(axis=0, keepdims=True)
    return (series - mean) / np.where(std > 1e-8, std, 1.0)


def _labels(parts, class_names):
    found = sorted({str(v) for _, y in parts.values() for v in y}, key=_natural_key)
    names = list(class_names) if class_names is not None else found
    unknown = [v for v in found if v not in names]
    if unknown:
        raise ValueError(f"labels {unknown[:5]} are not among class_names {names}.")
    if len(names) < 2:
        raise ValueError(f"the labels hold a single class ({names}); classification needs two or more.")
    return names


def _prepare(parts, names, normalize, unequal, length, record):
    lengths = sorted({len(s) for series, _ in parts.values() for s in series})
    channels = {s.shape[1] for series, _ in parts.values() for s in series}
    if len(channels) != 1:
        raise ValueError(f"the series have different channel counts {sorted(channels)}; every series needs the same.")
    train_lengths = [len(s) for s in parts["train"][0]]
    target = int(length) if length is not None else max(train_lengths)
    longer = [n for n in lengths if n > target]
    if unequal == "pad" and longer:
        raise ValueError(f"unequal='pad' cannot fit series of {max(longer)} steps into {target}; "
                         "use unequal='resample' or a larger length.")
    if len(lengths) > 1 or lengths[0] != target:
        how = ("resampled (linear interpolation) to" if unequal == "resample" else "padded with zeros at the end to")
        record["notes"].append(f"series of {lengths[0]}..{lengths[-1]} steps {how} {target} steps")
    if normalize == "auto":
        normalize = "series" if channels == {1} else "dataset"
    shift, scale = 0.0, 1.0
    if normalize == "dataset":  # the training split's statistics, per channel (steps of every series)
        flat = np.nan_to_num(np.concatenate([s for s in parts["train"][0]]), nan=0.0)
        shift, scale = flat.mean(axis=0), flat.std(axis=0)
        scale = np.where(scale > 1e-8, scale, 1.0)
        record["normalization_statistics"] = {"mean": shift.tolist(), "std": scale.tolist()}
    index = {n: i for i, n in enumerate(names)}
    out = {}
    for split, (series, labels) in parts.items():
        # Normalised before they are brought to the length, so padding stays zero.
        x = np.stack([_to_length((_normalize(s, normalize) - shift) / scale, target, unequal, unequal == "pad")
                      for s in series]).astype(np.float32)
        out[split] = (x, np.array([index[str(v)] for v in labels], np.int32))
    record.update(lengths=[lengths[0], lengths[-1]], length=target, unequal=unequal, normalize=normalize,
                  validity_channel=unequal == "pad")
    return out


def _stratified_split(labels, fraction, seed):
    """Indices (train, validation): ``fraction`` of each class held out, one at least where a class has two."""
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        held.append(members[: max(int(round(len(members) * fraction)), int(fraction > 0 and len(members) >= 2))])
    validation = np.sort(np.concatenate(held)).astype(np.int64)
    return np.setdiff1d(np.arange(len(labels)), validation), validation


@dataclasses.dataclass
class SeriesSpec(_Found):
    """What :func:`load_series` found, and the pipelines over it (the interface of
    :class:`kerasdil.data.sources.DataSpec`, for series).

    Attributes:
        task: "classification".
        num_classes, class_names: the classes (names sorted, numbers numerically).
        input_shape: (steps, channels) every series is brought to.
        description: one line for logs ("data: ...").
        record: JSON-able dict of the source and every choice made; train writes it to ``data.json``.
        arrays_by_split: split -> prepared ``(x float32 (N, steps, channels), y int32 (N,))``.
    """

    arrays_by_split: dict

    def sizes(self) -> dict:
        """``{split: number of series}``."""
        return {name: len(x) for name, (x, _) in self.arrays_by_split.items()}

    def arrays(self, split, limit=None, *, shuffle=False, seed=0):
        """``(x, y)`` numpy arrays of a split (a seeded random draw with ``shuffle``), or None when absent."""
        if split not in self.arrays_by_split:
            return None
        x, y = self.arrays_by_split[split]
        order = np.random.default_rng(seed).permutation(len(x)) if shuffle else np.arange(len(x))
        return x[order][:limit], y[order][:limit]

    def dataset(self, split="train", *, batch_size=32, shuffle=None, augment=False, seed=0, limit=None, cache=True):
        """A batched ``tf.data`` pipeline of one split, or None when the data has no such split.

        Args:
            split: "train", "validation" or "test".
            batch_size: series per batch.
            shuffle: reshuffle every epoch; default True for "train" only.
            augment: True, or a dict of :data:`SERIES_AUGMENTATION` settings: random
                scaling, jitter and a stretched window of every batch.
            seed: shuffling and augmentation seed.
            limit: the first ``limit`` series only.
            cache: unused (the series are in memory); kept for ``DataSpec``'s signature.

        Returns:
            ``tf.data.Dataset`` of ``(series float32 (B, steps, channels), labels int32 (B,))``, or None.

        Raises:
            ValueError: an unknown split or a bad batch size.
        """
        import tensorflow as tf

        bad = split not in ("train", "validation", "test"), not isinstance(batch_size, (int, np.integer)) \
            or isinstance(batch_size, bool) or batch_size < 1
        if any(bad):
            raise ValueError(f"SeriesSpec.dataset takes split 'train', 'validation' or 'test' and a batch_size "
                             f"integer >= 1; got split={split!r}, batch_size={batch_size!r}.")
        if split not in self.arrays_by_split:
            return None
        x, y = self.arrays(split, limit)
        dataset = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle is None:
            shuffle = split == "train"
        if shuffle:
            dataset = dataset.shuffle(max(len(x), 1), seed=int(seed), reshuffle_each_iteration=True)
        dataset = dataset.batch(int(batch_size))
        if augment:
            settings = {**SERIES_AUGMENTATION, **(augment if isinstance(augment, dict) else {})}
            dataset = dataset.map(_augmenter(self.input_shape[0], settings, seed,
                                             bool(self.record.get("validity_channel"))))
        return dataset.prefetch(tf.data.AUTOTUNE)


def _augmenter(length, settings, seed, validity=False):
    """The augmentation map; with a ``validity`` channel (the last) only the series channels are scaled
    and jittered, the padding stays zero and the stretched window's validity is rounded back to 0 / 1."""
    import tensorflow as tf

    generator = tf.random.Generator.from_seed(int(seed))

    def augment(x, y):
        batch = tf.shape(x)[0]
        valid = x[..., -1:] if validity else tf.ones_like(x[..., :1])
        x = x[..., :-1] if validity else x
        x = x * generator.normal((batch, 1, 1), 1.0, settings["scale"])
        x = (x + generator.normal(tf.shape(x), 0.0, settings["jitter"])) * valid
        if settings["crop"] < 1:
            ratio = generator.uniform((), settings["crop"], 1.0)
            width = tf.maximum(2, tf.cast(tf.round(ratio * length), tf.int32))
            start = generator.uniform((), 0, length - width + 1, dtype=tf.int32)
            window = tf.concat([x, valid], axis=-1)[:, start:start + width]
            both = tf.image.resize(window[:, :, None, :], (length, 1))[:, :, 0, :]
            valid = tf.round(both[..., -1:])
            x = both[..., :-1] * valid
        return (tf.concat([x, valid], axis=-1) if validity else x), y

    return augment


def load_series(source, *, task=None, normalize="auto", unequal="resample", length=None,
                validation_split=DEFAULT_VALIDATION_SPLIT, seed=0, num_classes=None, class_names=None):
    """Read a time-series source into a :class:`SeriesSpec` (see the module docstring).

    Args:
        source: ``"aeon:NAME"``, an ``.npz`` / ``.ts`` file, a folder of ``.csv`` class
            folders, ``(x, y)`` arrays, a ``tf.data.Dataset``, or a dict of splits.
        task: "classification" (the only task for series) or None.
        normalize: "auto" (default: "series" for one channel, "dataset" for several),
            "series" (z-normalise each series per channel), "dataset" (each channel with
            the training split's statistics) or "none".
        unequal: "resample" (default) or "pad": how series of another length reach ``length``;
            "pad" adds the validity channel (``input_shape`` counts it; ``record["validity_channel"]``).
        length: steps every series is brought to; default the longest training series.
        validation_split: share of the training series held out (per class, seeded)
            when the source has no validation split.
        seed: seed of that split.
        num_classes, class_names: the classes, where the labels do not say them all.

    Returns:
        :class:`SeriesSpec`.

    Raises:
        ValueError: a bad option, unreadable file, missing aeon, or labels / channels that do not agree.
        FileNotFoundError: a file that does not exist.

    Example:
        >>> spec = load_series("aeon:JapaneseVowels")   # unequal lengths, resampled
        >>> spec.record["notes"]
    """
    if isinstance(source, SeriesSpec):
        return source
    if task not in (None, "classification"):
        raise ValueError(f"time series are classification data; a {task} model needs another source.")
    for name, value, allowed in (("normalize", normalize, NORMALIZATIONS), ("unequal", unequal, UNEQUAL_POLICIES)):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
            or not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be a fraction in [0, 1) such as 0.2; got {validation_split!r}.")
    if length is not None and (isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 2):
        raise ValueError(f"length must be a whole number of steps >= 2 such as 150; got {length!r}.")
    kind, label, parts = _read(source)
    names = _labels(parts, class_names)
    if num_classes is not None and num_classes != len(names):
        raise ValueError(f"the data has {len(names)} classes but num_classes={num_classes}.")
    record = {"notes": []}
    arrays = _prepare(parts, names, normalize, unequal, length, record)
    if "validation" not in arrays and validation_split > 0:
        x, y = arrays["train"]
        tr, va = _stratified_split(y, validation_split, seed)
        if len(va) and len(tr):
            arrays["train"], arrays["validation"] = (x[tr], y[tr]), (x[va], y[va])
    if "test" not in arrays:
        arrays["test"] = arrays.get("validation", arrays["train"])
        record["test_split"] = "the validation split (no test data given)"
    return _spec(kind, label, names, arrays, record, validation_split, seed)


def _read(source):
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text.startswith(AEON_PREFIX):
            return "aeon", text, _read_aeon(text[len(AEON_PREFIX):])
        path = os.path.abspath(os.path.expanduser(text))
        if not os.path.exists(path):
            raise FileNotFoundError(f"series source {path} does not exist.")
        if path.endswith(".ts"):
            return "ts_file", path, _read_ts(path)
        if path.endswith(".npz"):
            return "series_npz", path, _read_npz(path)
        if os.path.isdir(path):
            return "csv_folder", path, _read_csv_folder(path)
        raise ValueError(f"{path} is not a series source: give aeon:NAME, an .npz with x and y, a .ts file or a "
                         "folder of .csv class folders.")
    return "in_memory", "series given in Python", _in_memory(source)


def _spec(kind, label, names, arrays, record, validation_split, seed):
    length, width = arrays["train"][0].shape[1:]
    channels = width - int(record["validity_channel"])
    sizes = {s: len(x) for s, (x, _) in arrays.items()}
    counts = " / ".join(f"{sizes[s]} {s}" for s in ("train", "validation", "test") if s in sizes)
    validity = " + a validity channel (1 on the series, 0 on the padding)" if record["validity_channel"] else ""
    description = (f"data: {label} (classification, {len(names)} classes, {counts} series; {length} steps x {channels} "
                   f"channels{validity}, normalize={record['normalize']})" + "".join(f"; {n}" for n in record["notes"]))
    record.update(source=label, kind=kind, task="classification", num_classes=len(names), class_names=names,
                  input_shape=[int(length), int(width)], channels=int(channels),
                  validation_split=validation_split, seed=seed, splits=sizes, skipped=[])
    return SeriesSpec("classification", len(names), names, (int(length), int(width)), description, record,
                      arrays)


__all__ = ["SERIES_AUGMENTATION", "SeriesSpec", "load_series"]
