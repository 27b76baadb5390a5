"""Helpers shared by the kerasdil data loaders (no TensorFlow import at module level).

* :func:`read_npz` opens an ``.npz`` archive with ``allow_pickle=False`` and turns
  every way it can be broken (missing, truncated, not a zip, object arrays) into one
  clear ``FileNotFoundError`` / ``ValueError`` that names the file.
* :func:`data_dir_from_env` reads ``$KERASDIL_DATA_DIR``.
* :class:`SampleDataWarning` is the warning category for "you are training on the
  small embedded sample, not the real data set".
* :func:`benchmark_pipeline` measures a ``tf.data`` pipeline's throughput.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
import zipfile
import zlib
from typing import Iterable, Mapping, Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]

#: Environment variable naming a directory that holds the real data files
#: (``mnist.npz``, ...), for machines that cannot download.
DATA_DIR_ENV = "KERASDIL_DATA_DIR"


class SampleDataWarning(UserWarning):
    """Warning issued whenever a loader hands out the small embedded sample.

    The sample lets examples and tests run offline, but models trained on it are
    not comparable with models trained on the full data set, so every use of it
    is announced with this category (filter it with ``warnings.filterwarnings(
    "ignore", category=SampleDataWarning)`` if you really mean it).
    """


def data_dir_from_env() -> str | None:
    """Return ``$KERASDIL_DATA_DIR`` (user-expanded), or None when unset or empty.

    Returns:
        The directory path as a string, or None.

    Example:
        >>> import os; os.environ["KERASDIL_DATA_DIR"] = "/data"
        >>> data_dir_from_env()
        '/data'
    """
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return os.path.expanduser(value) if value else None


def stderr_notice(message: str) -> None:
    """Print one ``kerasdil.data: ...`` line on stderr (visible even without logging set up)."""
    print(f"kerasdil.data: {message}", file=sys.stderr, flush=True)


def read_npz(
    source: Union[PathLike, io.BufferedIOBase, io.BytesIO],
    *,
    name: str | None = None,
    required_keys: Iterable[str] = (),
) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` archive into memory, never unpickling anything.

    Args:
        source: a path, or a binary file object (for resources inside a package).
        name: how to name the file in error messages (defaults to the path).
        required_keys: keys that must be present.

    Returns:
        A dict ``{key: numpy array}`` with all arrays loaded.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the path is a directory, the file is not a readable ``.npz``
            archive (truncated, corrupt, a bare ``.npy``, a pickle), it holds
            object arrays (refused: ``allow_pickle=False``), or a required key is
            missing. The message names the file.

    Example:
        >>> arrays = read_npz("mnist.npz", required_keys=["x_train", "y_train"])
    """
    is_path = isinstance(source, (str, os.PathLike))
    label = name or (os.fspath(source) if is_path else "<file object>")
    if is_path:
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"Data file {label} does not exist.")
        if os.path.isdir(path):
            raise ValueError(f"Data file {label} is a directory, not an .npz file.")
    with _read_errors(
        pickled=f"Data file {label} is not an .npz archive (numpy could only read it by unpickling, which kerasdil "
                "refuses); re-save the arrays with numpy.savez.",
        unreadable=lambda err: f"Data file {label} is not a readable .npz archive ({err}); it may be truncated or "
                               "corrupt, so delete it and fetch it again.",
    ):
        loaded = np.load(source, allow_pickle=False)
    if not isinstance(loaded, Mapping):  # a bare .npy array, not an archive
        raise ValueError(
            f"Data file {label} is a single .npy array, not an .npz archive with "
            "named arrays; save it with numpy.savez(path, x_train=..., ...)."
        )
    with loaded:
        keys = list(loaded.files)
        missing = [key for key in required_keys if key not in keys]
        if missing:
            raise ValueError(
                f"Data file {label} lacks the array(s) {', '.join(missing)} "
                f"(it has: {', '.join(keys) or 'nothing'})."
            )
        arrays: dict[str, np.ndarray] = {}
        for key in keys:
            with _read_errors(
                pickled=f"Data file {label} holds an object array under '{key}', which would have to be unpickled; "
                        "kerasdil refuses that (allow_pickle=False). Save plain numeric arrays instead.",
                unreadable=lambda err: f"Data file {label} has an unreadable array '{key}' ({err}); it may be corrupt, "
                                       "so delete it and fetch it again.",
                corrupt=lambda err: f"Data file {label} has a corrupt array '{key}' ({err}); delete it and fetch it "
                                    "again.",
                pickle_words=("pickle", "object"),
            ):
                arrays[key] = loaded[key]
    return arrays


@contextlib.contextmanager
def _read_errors(*, pickled, unreadable, corrupt=None, pickle_words=("pickle",)):
    """Turn numpy's errors while reading an .npz (or one array of it) into one ValueError sentence.

    ``pickled`` is the sentence for data numpy could only unpickle (its error names one
    of ``pickle_words``); ``unreadable(err)`` for any other ValueError; ``corrupt(err)``
    (default ``unreadable``) for a broken zip, stream or file, ``err`` naming the error's type.
    """
    try:
        yield
    except ValueError as err:
        if any(word in str(err).lower() for word in pickle_words):
            raise ValueError(pickled) from None
        raise ValueError(unreadable(err)) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise ValueError((corrupt or unreadable)(f"{type(err).__name__}: {err}")) from None


def benchmark_pipeline(dataset, *, max_batches: int | None = None, warmup_batches: int = 2) -> dict:
    """Iterate a ``tf.data`` pipeline once and measure its throughput.

    The first ``warmup_batches`` batches (graph tracing, buffer filling) are not
    timed. Elements must be ``(images, labels)`` tuples with a leading batch axis.

    Args:
        dataset: a batched ``tf.data.Dataset``.
        max_batches: stop after this many timed batches (None: one full pass).
        warmup_batches: untimed batches at the start.

    Returns:
        ``{"images": n, "seconds": s, "images_per_second": n / s, "batches": b}``.

    Example:
        >>> from kerasdil.data import mnist, benchmark_pipeline
        >>> benchmark_pipeline(mnist("train", augment=True))["images_per_second"]
    """
    iterator = iter(dataset)
    for _ in range(warmup_batches):
        try:
            next(iterator)
        except StopIteration:
            break
    images = batches = 0
    start = time.perf_counter()
    for images_batch, _labels in iterator:
        images += int(images_batch.shape[0])
        batches += 1
        if max_batches is not None and batches >= max_batches:
            break
    seconds = time.perf_counter() - start
    return {
        "images": images,
        "seconds": seconds,
        "images_per_second": images / seconds if seconds > 0 else float("inf"),
        "batches": batches,
    }


def repeat_epochs(dataset):
    """``(dataset.repeat(), steps)`` for ``fit(..., steps_per_epoch=steps)``: every epoch on one iterator.

    Given a finite dataset, Keras makes a new iterator each epoch. With a shuffled
    pipeline TF then sits idle before the first batch of most epochs: a median of
    1.9 s for keras.io's convnet and 3.6 s for mnist_dsdc at 0.1 s of CPU, on
    20,000 MNIST images where their epochs take 3.2 and 5.9 s
    (kerasdil/zoo/mnist_dsdc/studies.md, "The pause at each epoch start"). One repeated iterator avoids that, and
    prefetching runs on across epoch boundaries. Each pass still reshuffles and draws new
    augmentation, and ``steps`` batches are exactly one pass, so epoch ``k`` sees
    every example once.

    Datasets this does not apply to come back unchanged with ``steps=None``:
    anything that is not a ``tf.data.Dataset``, datasets of unknown or infinite
    length, and scene pipelines that compose new scenes at each epoch's start
    (:func:`kerasdil.data.scenes.scene_epoch_callback` ties them to the epoch index,
    which prefetching across the boundary would break).

    Args:
        dataset: what you would pass to ``fit`` as ``x``.

    Returns:
        ``(data, steps)``: pass ``data`` as ``x`` and ``steps`` as ``steps_per_epoch``
        (``None`` where ``dataset`` came back unchanged). Never raises.

    Example:
        >>> train, steps = repeat_epochs(mnist("train", augment=True))
        >>> model.fit(train, steps_per_epoch=steps, epochs=10)
    """
    import tensorflow as tf

    if not isinstance(dataset, tf.data.Dataset) or getattr(dataset, "_kerasdil_scene_epochs", None) is not None:
        return dataset, None
    steps = int(dataset.cardinality())
    if steps <= 0:  # empty, infinite (-1) or unknown (-2)
        return dataset, None
    return dataset.repeat(), steps
