"""Where the export's real samples come from: representative and test data.

Explicit data wins (arrays, ``tf.data`` datasets, generators). Otherwise the
model's own data set is used: MNIST for 28x28x1 classifiers, and for any zoo
model the data its task trains on (``kerasdil.tasks``), when that is available.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass
class ExportData:
    """Real samples for calibration and proof.

    Attributes:
        representative: float32 ``(N, *input_shape)`` for int8 calibration, or None.
        x: float32 ``(M, *input_shape)`` inputs for parity / metric / latency.
        y: labels for ``x`` (class ids, per pixel for segmenters), or None.
        description: where they came from, for the report.
    """

    representative: object
    x: object
    y: object
    description: str


#: Seed of the samples an export draws (calibration, proof): the same samples every export.
SAMPLE_SEED = 0


def _first_n(items, n, what, input_shape):
    """Collect up to ``n`` samples (all when ``n`` is None) as ``(x, y or None)``.

    ``items``: an array of inputs, an ``(x, y)`` pair of arrays, a ``tf.data``
    dataset or iterable of inputs / ``(x, y)`` / ``[x]`` (batched or not), or a
    callable returning such an iterable (a TFLite-style representative generator).
    """
    rank = len(input_shape) + 1
    if isinstance(items, tuple) and len(items) == 2 and np.ndim(items[0]) == rank:
        x = _as_inputs(items[0], what, input_shape)
        y = None if items[1] is None else np.asarray(items[1])
        if y is not None and len(y) != len(x):
            raise ValueError(f"{what} has {len(x)} inputs but {len(y)} labels; they must match.")
        return x[:n], None if y is None else y[:n]
    if isinstance(items, list) or (hasattr(items, "shape") and hasattr(items, "dtype")):
        return _as_inputs(items, what, input_shape)[:n], None
    if callable(items) and not hasattr(items, "__iter__"):
        items = items()
    try:
        iterator = iter(items)
    except TypeError:
        raise ValueError(
            f"{what} must be an array, an (x, y) pair, a tf.data.Dataset or a generator; got {type(items).__name__}."
        ) from None
    xs, ys, count = [], [], 0
    for element in iterator:
        label = None
        if isinstance(element, (tuple, list)) and len(element) == 1:
            element = element[0]
        elif isinstance(element, (tuple, list)) and len(element) == 2:
            element, label = element
        batch = _as_inputs(element, what, input_shape)
        xs.append(batch)
        if label is not None:
            label = np.asarray(label)
            ys.append(label[None] if np.ndim(element) == rank - 1 else label)
        count += len(batch)
        if n is not None and count >= n:
            break
    if not xs:
        raise ValueError(f"{what} yielded no samples.")
    x = np.concatenate(xs)[:n]
    y = np.concatenate(ys)[:n] if ys and len(ys) == len(xs) else None
    return x, y


def _as_inputs(x, what, input_shape):
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ValueError(f"{what} must hold numbers; got dtype {x.dtype}.")
    if x.ndim == len(input_shape):
        x = x[None]
    if tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(
            f"{what} has samples of shape {tuple(x.shape[1:])}, but the model takes inputs of shape "
            f"{tuple(input_shape)}; pass inputs shaped (N, {', '.join(map(str, input_shape))})."
        )
    if len(x) == 0:
        raise ValueError(f"{what} holds no samples.")
    x = x.astype(np.float32)
    finite = np.isfinite(x)
    if not finite.all():
        # The TFLite int8 calibrator crashes the process on NaN (SIGSEGV), and NaN parity compares nothing.
        bad = np.flatnonzero(~finite.reshape(len(x), -1).all(axis=1))
        raise ValueError(
            f"{what} holds {x.size - int(finite.sum()):,} NaN or infinite values in {len(bad):,} of its "
            f"{len(x):,} samples (the first is sample {int(bad[0])}); remove or repair those samples."
        )
    return x


def _mnist(source, num_representative, max_samples, seed):
    from kerasdil.data import load_mnist_arrays, normalize

    arrays = load_mnist_arrays(source, download=False)  # a proof never waits on a download: local file, else sample
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(arrays.num_train, size=min(num_representative, arrays.num_train), replace=False))
    rep = normalize(arrays.x_train[pick])
    n = arrays.num_test if max_samples is None else min(max_samples, arrays.num_test)
    return rep, normalize(arrays.x_test[:n]), arrays.y_test[:n].astype(np.int64), arrays.describe()


def _from_task(model_name, task, source, input_shape, num_representative, max_samples):
    """Samples from the zoo task registry, or None when it cannot provide them."""
    try:
        import inspect

        from kerasdil.tasks import get_task
        from kerasdil.zoo import model_info

        info = dataclasses.replace(model_info(model_name), input_shape=tuple(input_shape))
        task_object = get_task(task)
        if source is None or source == "auto":
            from kerasdil.data import load_mnist_arrays

            source = load_mnist_arrays(source, download=False)  # local file, else the sample; never a download
        params = inspect.signature(task_object.datasets).parameters
        kwargs = dict(batch_size=64, source=source, augment=False, validation_size=0)
        # Generate only what is used (the scenes task makes 10,000 training scenes by default).
        if "num_train" in params:
            kwargs["num_train"] = max(num_representative or 1, 1)
        if "num_test" in params and max_samples:
            kwargs["num_test"] = max_samples
        splits = task_object.datasets(info, **kwargs)
    except (ImportError, ValueError, TypeError, NotImplementedError, KeyError):
        return None
    train, _, test, description = splits[0], splits[1], splits[2], splits[3] if len(splits) > 3 else ""

    def take(dataset, n):
        xs, ys, count = [], [], 0
        for x, y in dataset:
            xs.append(np.asarray(x, dtype=np.float32))
            ys.append(np.asarray(y))
            count += len(xs[-1])
            if n is not None and count >= n:
                break
        return np.concatenate(xs)[:n], np.concatenate(ys)[:n]

    rep, _ = take(train, num_representative) if num_representative else (None, None)
    x, y = take(test, max_samples)
    return rep, x, y, str(description or f"{task} data of {model_name}")


def _user(data, task, input_shape, options, num_representative, max_samples, seed, num_classes=None):
    """Samples from the user's own data (``kerasdil.data.sources``) at the model's size and channels."""
    from kerasdil.data.sources import load_data

    options = {k: v for k, v in dict(options or {}).items() if k not in ("image_size", "channels")}
    # Images are brought to the model's size and channels; series (steps, channels) to its steps.
    series = len(input_shape) == 2
    size = dict(image_size=tuple(input_shape[:2]), channels=input_shape[2]) if not series else {}
    if series:
        options.setdefault("length", int(input_shape[0]))
    spec = load_data(data, task=task if task in ("classification", "segmentation") else None, series=series, **size,
                     **options)
    if num_classes is not None and spec.num_classes != num_classes:
        # A proof on other classes would score labels the model cannot predict (a 3-class model "passing" at 20%).
        raise ValueError(
            f"the model predicts {num_classes} classes but the data has {spec.num_classes} "
            f"({', '.join(spec.class_names)}); prove it on data of the classes it was trained for."
        )
    # A random draw: a folder lists its classes one after another, and calibration needs them all.
    rep = spec.arrays("train", num_representative, shuffle=True, seed=seed) if num_representative else None
    x, y = spec.arrays("test", max_samples)
    return None if rep is None else rep[0], x, y.astype(np.int64), spec.description


def resolve(options, *, model_name, task, input_shape, need_representative=False, num_classes=None):
    """Gather representative and test samples; see :class:`ExportData`.

    ``options`` is the export's :class:`kerasdil.export.ExportOptions`; its
    ``representative_data``, ``test_data``, ``data``, ``num_representative``,
    ``max_samples`` and ``data_options`` say where the samples come from. ``data``
    may be the user's own data (an image folder, "tfds:NAME", arrays, a
    ``DataSpec``; ``kerasdil.data.sources``), brought to the model's input size and
    channels with ``data_options`` (``resize``, ``validation_split``, ``data_dir``):
    int8 calibration draws from its training split, the proof uses its test split;
    ``num_classes`` (the model's) must be the data's class count.

    Raises:
        ValueError: data of the wrong shape or kind, or no data known for this model.
    """
    representative_data, test_data, data = options.representative_data, options.test_data, options.data
    num_representative, max_samples = options.num_representative, options.max_samples
    data_options = options.data_options
    rep = x = y = None
    notes = []
    if representative_data is not None:
        rep, _ = _first_n(representative_data, num_representative, "representative data", input_shape)
        notes.append(f"representative: {len(rep)} given samples")
    if test_data is not None:
        x, y = _first_n(test_data, max_samples, "test data", input_shape)
        notes.append(f"test: {len(x)} given samples" + ("" if y is not None else " (no labels)"))
    if (rep is None and need_representative) or x is None:
        from kerasdil.data.sources import is_user_data

        own = None
        if is_user_data(data):
            own = _user(data, task, input_shape, data_options, num_representative, max_samples, SAMPLE_SEED,
                        num_classes)
        elif task == "classification" and tuple(input_shape) == (28, 28, 1):
            own = _mnist(data, num_representative, max_samples, SAMPLE_SEED)
        if own is None:
            own = _from_task(model_name, task, data, input_shape, num_representative, max_samples)
        if own is None:
            if x is None and rep is not None:
                x, y = rep, None
                notes.append("parity on the representative samples (no test data, so no task metric)")
            else:
                raise ValueError(
                    f"no data set is known for model {model_name!r} with input shape {tuple(input_shape)}; "
                    "pass representative_data and test_data (CLI: --representative FILE.npy and --test-data FILE.npz)."
                )
        else:
            own_rep, own_x, own_y, description = own
            if rep is None:
                rep = _as_inputs(own_rep, "representative data", input_shape) if own_rep is not None else None
                notes.append(f"representative: {0 if rep is None else len(rep)} training samples")
            if x is None:
                x, y = _as_inputs(own_x, "test data", input_shape), own_y
                notes.append(f"test: {len(x)} test samples")
            notes.insert(0, description[len("data: "):] if description.startswith("data: ") else description)
    return ExportData(representative=rep, x=x, y=y, description="; ".join(notes))
