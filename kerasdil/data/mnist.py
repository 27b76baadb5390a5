"""MNIST for kerasdil: where the arrays come from, and the ``tf.data`` pipeline.

Where the data comes from (:func:`load_mnist_arrays`, ``source=None`` / ``"auto"``),
first hit wins:

1. ``data_dir/mnist.npz`` when ``data_dir`` is given, else
   ``$KERASDIL_DATA_DIR/mnist.npz`` when that variable is set;
2. the Keras cache, ``$KERAS_HOME/datasets/mnist.npz`` (default
   ``~/.keras/datasets/mnist.npz``), where ``keras.datasets.mnist.load_data()``
   keeps its download;
3. when ``download=True``: ``keras.datasets.mnist.load_data()`` (downloads into the
   Keras cache), then ``tensorflow_datasets.load("mnist")``;
4. the small real MNIST sample embedded in the package (2,000 train / 500 test
   images, class balanced), with a loud :class:`SampleDataWarning` and a line on
   stderr, so examples run with no network; the warning lists every place looked
   at and why each download failed.

An explicit path (file, or directory holding ``mnist.npz``) skips the search;
``source="sample"`` asks for the embedded sample on purpose (still announced).
A file that is found but malformed is an error, never silently skipped.

Normalisation happens in exactly one place: the pipeline divides the uint8 pixels
by 255, giving float32 in [0, 1] (see :data:`NORMALIZATION`). The kerasdil models
contain no ``Rescaling`` layer, so inference and export code must feed
``normalize(images)`` too.
"""

from __future__ import annotations

import importlib.resources
import io
import logging
import os
import socket
import warnings
from collections.abc import Mapping
from typing import Optional, Union

import numpy as np

from .augment import (  # noqa: F401  (part of this module's API before augmentation had its own module)
    APPEARANCE_PROBABILITIES,
    AUGMENTATION,
    augment_batch,
    augmentation_settings,
)
from ._common import (
    DATA_DIR_ENV,
    PathLike,
    SampleDataWarning,
    data_dir_from_env,
    read_npz,
    stderr_notice,
)
# The array layout, its validation, splits and scaling live in _mnist_arrays; re-exported here.
from ._mnist_arrays import IMAGE_SHAPE, MNIST_KEYS, NORMALIZATION, NUM_CLASSES, SPLITS  # noqa: F401
from ._mnist_arrays import MnistArrays, Normalization, normalize, split_arrays  # noqa: F401
from ._mnist_arrays import _check_images, _check_labels, _check_split_args, _validate  # noqa: F401

logger = logging.getLogger("kerasdil.data")

#: File name looked for in data directories and in the Keras cache.
MNIST_FILENAME = "mnist.npz"
#: Package resource (relative to ``kerasdil.data``) of the embedded sample.
SAMPLE_RESOURCE = ("sample", "mnist_sample.npz")
_DOWNLOAD_SOCKET_TIMEOUT_S = 60.0


# ----------------------------------------------------------------------------- loading


def _keras_cache_file() -> str:
    """Where ``keras.datasets.mnist.load_data()`` caches MNIST (mirrors Keras' rule)."""
    home = os.environ.get("KERAS_HOME", "").strip()
    if home:
        base = os.path.expanduser(home)
    else:
        user = os.path.expanduser("~")
        base = os.path.join(user if os.access(user, os.W_OK) else "/tmp", ".keras")
    return os.path.join(base, "datasets", MNIST_FILENAME)


def _load_file(path: str) -> MnistArrays:
    path = os.path.abspath(os.path.expanduser(path))
    arrays = _validate(read_npz(path, required_keys=MNIST_KEYS), path)
    result = MnistArrays(**arrays, source=path, path=path)
    logger.info(result.describe())
    return result


def _load_path(source: PathLike) -> MnistArrays:
    path = os.path.expanduser(os.fspath(source))
    if os.path.isdir(path):
        inner = os.path.join(path, MNIST_FILENAME)
        if not os.path.exists(inner):
            raise FileNotFoundError(
                f"No {MNIST_FILENAME} in directory {os.path.abspath(path)} "
                f"(looked for {os.path.abspath(inner)})."
            )
        return _load_file(inner)
    if not os.path.exists(path):
        raise FileNotFoundError(f"MNIST file {os.path.abspath(path)} does not exist.")
    return _load_file(path)


def _sample_text(arrays: dict) -> str:
    return (
        f"embedded sample ({arrays['x_train'].shape[0]:,} train / "
        f"{arrays['x_test'].shape[0]:,} test images, a class-balanced subset of "
        "MNIST, NOT the full data set)"
    )


def _read_sample() -> MnistArrays:
    resource = importlib.resources.files("kerasdil.data")
    for part in SAMPLE_RESOURCE:
        resource = resource.joinpath(part)
    label = "kerasdil/data/" + "/".join(SAMPLE_RESOURCE)
    if not resource.is_file():
        raise FileNotFoundError(
            f"The embedded MNIST sample {label} is missing from the installed "
            "package; reinstall kerasdil (the wheel must include its package data)."
        )
    with resource.open("rb") as handle:
        payload = io.BytesIO(handle.read())
    arrays = _validate(read_npz(payload, name=label, required_keys=MNIST_KEYS), label)
    return MnistArrays(**arrays, source=_sample_text(arrays), is_sample=True)


#: How the warning for an explicit ``"sample"`` source begins (the command line's ``data:`` line says it instead).
SAMPLE_REQUESTED = "sample data as requested"

_DOWNLOAD_HOST = "storage.googleapis.com"  # where keras.datasets and tensorflow-datasets fetch MNIST


def _host_unreachable(host: Optional[str] = None, timeout: float = 3.0) -> Optional[str]:
    """Why ``host`` cannot be reached on port 443 (None when it can, or when a proxy is set).

    Offline, Keras's and tensorflow-datasets' retries take minutes before giving up;
    one connection attempt answers in at most ``timeout`` seconds.
    """
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")):
        return None  # the proxy may reach what this machine cannot: let the downloaders try
    host = host or _DOWNLOAD_HOST
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as err:
        return f"{host} is unreachable ({type(err).__name__}: {err}), so nothing was downloaded"
    return None


def _download(data_dir: Optional[str], failures: list) -> Optional[MnistArrays]:
    """Try Keras, then tensorflow-datasets; record each failure, never raise."""
    offline = _host_unreachable()
    if offline:
        failures.append(offline)
        return None
    previous_timeout = socket.getdefaulttimeout()
    if previous_timeout is None:  # urllib would otherwise wait forever on a dead peer
        socket.setdefaulttimeout(_DOWNLOAD_SOCKET_TIMEOUT_S)
    try:
        try:
            import keras

            stderr_notice("MNIST not found locally; downloading with keras.datasets.mnist.load_data() "
                          f"(pass a path, or set ${DATA_DIR_ENV}, to use a local mnist.npz)")
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
            label = f"keras.datasets.mnist download (cached at {_keras_cache_file()})"
            arrays = _validate(
                {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}, label
            )
            result = MnistArrays(**arrays, source=label)
            logger.info(result.describe())
            return result
        except Exception as err:  # network down, DNS, bad hash, ...: report, go on
            failures.append(f"keras.datasets.mnist.load_data() failed: {type(err).__name__}: {err}")
        try:
            import tensorflow_datasets as tfds

            stderr_notice("trying tensorflow_datasets.load('mnist')")
            (x_train, y_train), (x_test, y_test) = tfds.as_numpy(
                tfds.load(
                    "mnist",
                    split=["train", "test"],
                    batch_size=-1,
                    as_supervised=True,
                    data_dir=data_dir,
                )
            )
            label = f"tensorflow_datasets mnist (data_dir={data_dir or 'tfds default'})"
            arrays = _validate(
                {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}, label
            )
            result = MnistArrays(**arrays, source=label)
            logger.info(result.describe())
            return result
        except Exception as err:
            failures.append(f"tensorflow_datasets.load('mnist') failed: {type(err).__name__}: {err}")
        return None
    finally:
        socket.setdefaulttimeout(previous_timeout)


def _load_auto(data_dir: Optional[PathLike], download: bool, stacklevel: int) -> MnistArrays:
    looked: list[str] = []
    candidates: list[str] = []
    if data_dir is not None:
        directory = os.path.abspath(os.path.expanduser(os.fspath(data_dir)))
        candidates.append(os.path.join(directory, MNIST_FILENAME))
        looked.append(f"{candidates[-1]} (data_dir argument)")
    else:
        env_dir = data_dir_from_env()
        if env_dir:
            candidates.append(os.path.join(os.path.abspath(env_dir), MNIST_FILENAME))
            if not os.path.exists(candidates[-1]):
                # A set variable is a request for that data: falling back to the sample would
                # give sample numbers under a full-MNIST label, with only a warning.
                what = "does not exist" if not os.path.isdir(env_dir) else f"holds no {MNIST_FILENAME}"
                raise FileNotFoundError(
                    f"${DATA_DIR_ENV} is {env_dir}, which {what}; put {MNIST_FILENAME} there, unset "
                    f"${DATA_DIR_ENV} to use the usual search, or pass --data sample (source='sample') "
                    "for the embedded sample."
                )
            looked.append(f"{candidates[-1]} (${DATA_DIR_ENV})")
        else:
            looked.append(f"${DATA_DIR_ENV} (not set)")
    candidates.append(_keras_cache_file())
    looked.append(f"{candidates[-1]} (Keras cache)")

    for candidate in candidates:
        if os.path.exists(candidate):
            return _load_file(candidate)  # found but malformed: raise, do not skip

    failures: list[str] = []
    if download:
        result = _download(
            None if data_dir is None else os.path.expanduser(os.fspath(data_dir)), failures
        )
        if result is not None:
            return result
    else:
        failures.append("download=False, so nothing was downloaded")

    places = "; ".join(looked)
    reasons = "; ".join(failures)
    try:
        sample = _read_sample()
    except (FileNotFoundError, ValueError) as err:
        raise FileNotFoundError(
            f"MNIST was not found anywhere. Looked in: {places}. {reasons}. "
            f"The embedded sample is unusable too ({err}). Pass a path to "
            f"mnist.npz or set ${DATA_DIR_ENV} to a directory that holds it."
        ) from None
    message = (
        f"using the embedded MNIST sample ({sample.num_train:,} train / {sample.num_test:,} test images, not the "
        f"full data set: scores are not comparable with full-MNIST numbers); no mnist.npz found (looked in: "
        f"{places}) and {reasons}. Pass a path or set ${DATA_DIR_ENV} to a directory holding mnist.npz."
    )
    warnings.warn(message, SampleDataWarning, stacklevel=stacklevel + 1)  # said once: no second stderr line
    return sample


def load_mnist_arrays(
    source: Union[None, str, PathLike, MnistArrays] = None,
    *,
    data_dir: Optional[PathLike] = None,
    download: bool = True,
) -> MnistArrays:
    """Load MNIST as validated uint8 numpy arrays, saying where they came from.

    Args:
        source: where to read from.
            ``None`` or ``"auto"``: search ``data_dir`` (or ``$KERASDIL_DATA_DIR``,
            which must then hold ``mnist.npz``) for ``mnist.npz``, then the Keras cache, then download (Keras, then
            tensorflow-datasets) if ``download``; if all that fails, fall back to
            the embedded sample with a :class:`SampleDataWarning` and a stderr line.
            ``"sample"``: the embedded 2,000 / 500 image sample (announced with a
            :class:`SampleDataWarning`). A path: an ``.npz`` file, or a directory
            holding ``mnist.npz`` (write ``./sample`` for a directory of that
            name); ``data_dir`` is then ignored. An :class:`MnistArrays`: returned
            as is.
        data_dir: directory searched first in auto mode, replacing
            ``$KERASDIL_DATA_DIR``; also tensorflow-datasets' ``data_dir``.
        download: allow the download step in auto mode. With ``download=False``
            auto mode goes straight from the local search to the sample fallback.

    Returns:
        An :class:`MnistArrays` with ``x_*`` uint8 ``(N, 28, 28)`` and ``y_*``
        uint8 ``(N,)``; images stored as ``(N, 28, 28, 1)`` are squeezed.

    Raises:
        FileNotFoundError: an explicit path does not exist (or a directory has no
            ``mnist.npz``); ``$KERASDIL_DATA_DIR`` is set to a folder without
            ``mnist.npz`` (in auto mode without ``data_dir``); or, in auto mode, nothing was found and the embedded
            sample is missing too (the message lists every place looked at).
        ValueError: the file is malformed: not a readable npz (truncated,
            corrupt), object arrays (never unpickled), a missing key, wrong image
            shape or dtype, labels outside 0..9, or mismatched lengths. The
            message names the file.
        TypeError: ``source`` is of an unsupported type.

    Example:
        >>> arrays = load_mnist_arrays(download=False)  # local file or sample
        >>> print(arrays.describe())
        data: /data/mnist.npz (60,000 train / 10,000 test)
    """
    return _load(source, data_dir, download, stacklevel=2)


def _load(source, data_dir, download, stacklevel: int) -> MnistArrays:
    """load_mnist_arrays with the warning pointed ``stacklevel`` frames up (at the user)."""
    stacklevel += 1
    if isinstance(source, MnistArrays):
        return source
    if source is None or (isinstance(source, str) and source == "auto"):
        return _load_auto(data_dir, download, stacklevel)
    if isinstance(source, str) and source == "sample":
        sample = _read_sample()
        warnings.warn(
            f"{SAMPLE_REQUESTED}: the {sample.source}; accuracy on it is not comparable with "
            f"full-MNIST results. Pass a path or set ${DATA_DIR_ENV} for the real data.",
            SampleDataWarning,
            stacklevel=stacklevel,
        )
        logger.info(sample.describe())
        return sample
    if isinstance(source, (str, os.PathLike)):
        return _load_path(source)
    raise TypeError(
        "load_mnist_arrays(source=...) takes None, 'auto', 'sample', a path or "
        f"MnistArrays; got {type(source).__name__}."
    )


def describe_source(
    source: Union[None, str, PathLike, MnistArrays] = None,
    *,
    data_dir: Optional[PathLike] = None,
    download: bool = False,
) -> str:
    """One line saying where MNIST comes from and how big it is.

    Args:
        source: an :class:`MnistArrays` (described without loading anything),
            or any ``source`` accepted by :func:`load_mnist_arrays`, which is
            then loaded to count the images.
        data_dir: as in :func:`load_mnist_arrays`.
        download: as in :func:`load_mnist_arrays` (default False here, so that
            asking "where?" never starts a download).

    Returns:
        e.g. ``"data: /data/mnist.npz (60,000 train / 10,000 test)"`` or
        ``"data: embedded sample (2,000 train / 500 test images, ...)"``.

    Raises:
        The same errors as :func:`load_mnist_arrays` when it has to load.

    Example:
        >>> print(describe_source("/data/mnist.npz"))
        data: /data/mnist.npz (60,000 train / 10,000 test)
    """
    return _load(source, data_dir, download, stacklevel=2).describe()


# ------------------------------------------------------------------------ tf.data


def mnist(
    split: str = "train",
    *,
    batch_size: int = 128,
    source: Union[None, str, PathLike, MnistArrays] = None,
    data_dir: Optional[PathLike] = None,
    shuffle: Optional[bool] = None,
    augment: Union[bool, Mapping[str, float]] = False,
    seed: int = 0,
    limit: Optional[int] = None,
    validation_size: int = 0,
    cache: bool = True,
    drop_remainder: bool = False,
    download: bool = True,
):
    """Build the MNIST ``tf.data`` pipeline for one split.

    Pipeline: uint8 slices -> (cache) -> shuffle (full buffer) -> batch ->
    map(normalise ``/255`` [+ random affine per image]) with AUTOTUNE parallelism
    -> prefetch(AUTOTUNE). Augmenting whole batches with one projective-transform
    op keeps the CPU cost far below what training consumes.

    Args:
        split: ``"train"``, ``"validation"`` (the last ``validation_size``
            training images) or ``"test"``.
        batch_size: images per batch.
        source, data_dir, download: where the data comes from; see
            :func:`load_mnist_arrays`. Pass an :class:`MnistArrays` to build
            several splits from one load.
        shuffle: reshuffle every epoch; default True for ``"train"`` only.
        augment: True for a random rotation ±10°, zoom ±10 %, shift ±2 px per
            image (``"train"`` only); or a dict that changes those settings
            (keys of :data:`AUGMENTATION`), e.g. ``{"elastic_alpha": 17}`` to
            add elastic distortion.
        seed: seeds shuffling and augmentation; the same seed gives the same
            batches (epoch after epoch, a new but reproducible order).
        limit: use only the first ``limit`` examples of the split.
        validation_size: training images held out as the validation split;
            ``"train"`` then excludes them.
        cache: keep elements in memory after the first epoch. For unshuffled,
            unaugmented splits (validation, test) the normalised batches are
            cached, so later epochs skip all work; otherwise the uint8 examples.
        drop_remainder: drop the last partial batch.

    Returns:
        ``tf.data.Dataset`` of ``(images, labels)``: images float32
        ``(B, 28, 28, 1)`` in [0, 1] (see :data:`NORMALIZATION`), labels int32
        ``(B,)``.

    Raises:
        ValueError: a bad argument (unknown split, batch_size < 1, augment on a
            split other than train, an unknown augmentation setting, ...) or
            malformed data.
        FileNotFoundError: see :func:`load_mnist_arrays`.

    Example:
        >>> train = mnist("train", augment=True, validation_size=5000)
        >>> val = mnist("validation", validation_size=5000)
        >>> model.fit(train, validation_data=val, epochs=5)
    """
    _check_split_args(split, validation_size, limit)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}.")
    augment_settings = augmentation_settings(augment)
    augment = augment_settings is not None
    if augment and split != "train":
        raise ValueError(
            f"augment=True applies to the training split only; got split={split!r} "
            "(evaluate on unaugmented images)."
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer; got {seed!r}.")
    if shuffle is None:
        shuffle = split == "train"

    arrays = _load(source, data_dir, download, stacklevel=2)
    x, y = split_arrays(arrays, split, validation_size=validation_size, limit=limit)

    import tensorflow as tf

    autotune = tf.data.AUTOTUNE
    scale = tf.constant(NORMALIZATION.scale, tf.float32)
    dataset = tf.data.Dataset.from_tensor_slices((x[..., None], y.astype(np.int32)))
    cache_batches = cache and not shuffle and not augment
    if cache and not cache_batches:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=int(seed), reshuffle_each_iteration=True)
    dataset = dataset.batch(int(batch_size), drop_remainder=drop_remainder)

    def _normalize(images, labels):
        return tf.cast(images, tf.float32) * scale, labels

    if augment:
        # One stateless seed pair per batch: reproducible for a given `seed`,
        # different every epoch, and independent of map parallelism.
        seeds = tf.data.Dataset.random(seed=int(seed), rerandomize_each_iteration=True).batch(2)
        dataset = tf.data.Dataset.zip((dataset, seeds))

        def _normalize_augment(batch, batch_seed):
            images, labels = _normalize(*batch)
            return augment_batch(images, batch_seed, **augment_settings), labels

        dataset = dataset.map(_normalize_augment, num_parallel_calls=autotune)
    else:
        dataset = dataset.map(_normalize, num_parallel_calls=autotune)
    if cache_batches:
        dataset = dataset.cache()
    return dataset.prefetch(autotune)
