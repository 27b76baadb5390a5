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
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

from ._common import (
    DATA_DIR_ENV,
    PathLike,
    SampleDataWarning,
    data_dir_from_env,
    read_npz,
    stderr_notice,
)

logger = logging.getLogger("kerasdil.data")

#: File name looked for in data directories and in the Keras cache.
MNIST_FILENAME = "mnist.npz"
#: The arrays an MNIST ``.npz`` must hold (same layout as the Keras download).
MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")
#: Shape of one image as the pipeline yields it (height, width, channels).
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
SPLITS = ("train", "validation", "test")
#: Package resource (relative to ``kerasdil.data``) of the embedded sample.
SAMPLE_RESOURCE = ("sample", "mnist_sample.npz")
#: Random affine augmentation, drawn independently for every image.
AUGMENTATION = {
    "max_rotation_degrees": 10.0,  # rotation uniform in [-10, 10] degrees
    "max_translation_pixels": 2.0,  # shift uniform in [-2, 2] px, per axis
    "max_zoom": 0.1,  # scale uniform in [0.9, 1.1]
    "max_shear": 0.0,  # horizontal shear (slant) uniform in [-max_shear, max_shear], off by default
    # Elastic distortion (Simard et al., 2003), off by default: a displacement
    # field of uniform noise smoothed by a Gaussian `elastic_sigma` px wide and
    # multiplied by `elastic_alpha` (Simard: 34 and 4 on MNIST). 0 turns it off.
    "elastic_alpha": 0.0,
    "elastic_sigma": 4.0,
    # Appearance changes (off by default), each applied to an image with its own
    # probability and a strength drawn uniformly up to its maximum, after the
    # geometric ones, in the order of a camera or scanner: stroke width, blur,
    # contrast, brightness, fog, a stray line, then sensor noise. They teach a
    # classifier the inputs users meet (kerasdil.data.corrupt measures them).
    "stroke_probability": 0.0,  # thicker (grey dilation) or thinner (erosion) strokes, half each
    "blur_probability": 0.0,  # Gaussian blur (sigma up to max_blur_sigma) or a motion blur, half each
    "max_blur_sigma": 1.5,
    # Motion blur: one of `motion_directions` evenly spaced directions from horizontal
    # (2: horizontal or vertical; 4 adds the diagonals) and an odd length from 5 px up to
    # `max_motion_length` px (5 px only by default).
    "motion_directions": 2.0,
    "max_motion_length": 5.0,
    "contrast_probability": 0.0,  # (x - mean) * c + mean, c in [min_contrast, 1]
    "min_contrast": 0.2,
    "brightness_probability": 0.0,  # x + b, b in [0, max_brightness]
    "max_brightness": 0.5,
    "fog_probability": 0.0,  # smooth random overlay, amplitude up to max_fog
    "max_fog": 0.5,
    "line_probability": 0.0,  # random straight strokes across the image, each with this probability
    "max_lines": 1.0,  # how many strokes may be drawn (each on its own draw)
    "noise_probability": 0.0,  # Gaussian noise, std up to max_noise_std
    "max_noise_std": 0.5,
    "impulse_probability": 0.0,  # salt-and-pepper on up to max_impulse_fraction of the pixels
    "max_impulse_fraction": 0.15,
}

#: The appearance settings of :data:`AUGMENTATION` that are probabilities (at most 1).
APPEARANCE_PROBABILITIES = (
    "stroke_probability", "blur_probability", "contrast_probability", "brightness_probability",
    "fog_probability", "line_probability", "noise_probability", "impulse_probability",
)
_DOWNLOAD_SOCKET_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Normalization:
    """How raw pixels become model inputs: ``x * scale + offset``.

    ``mean``/``std`` express the same thing in the TFLite-metadata convention
    (``(x - mean) / std``).
    """

    scale: float
    offset: float
    mean: float
    std: float
    dtype: str
    value_range: tuple
    description: str


#: The single normalisation used by every MNIST pipeline and by :func:`normalize`.
NORMALIZATION = Normalization(
    scale=1.0 / 255.0,
    offset=0.0,
    mean=0.0,
    std=255.0,
    dtype="float32",
    value_range=(0.0, 1.0),
    description=(
        "float32(pixel) / 255: uint8 0..255 -> float32 0..1, no mean/std "
        "standardisation; kerasdil models have no Rescaling layer, so this is the "
        "only place pixels are scaled"
    ),
)


@dataclass(frozen=True, eq=False)
class MnistArrays:
    """MNIST as uint8 numpy arrays plus a note of where they came from.

    Attributes:
        x_train: uint8 ``(N, 28, 28)``, pixels 0..255.
        y_train: uint8 ``(N,)``, labels 0..9.
        x_test: uint8 ``(M, 28, 28)``.
        y_test: uint8 ``(M,)``.
        source: human-readable origin: a file path, a download, or
            "embedded sample (...)".
        is_sample: True when these are the embedded sample, not full MNIST.
        path: the file read, when there was one.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    is_sample: bool = False
    path: Optional[str] = None

    @property
    def num_train(self) -> int:
        """Number of training images (before any validation carve-out)."""
        return int(self.x_train.shape[0])

    @property
    def num_test(self) -> int:
        """Number of test images."""
        return int(self.x_test.shape[0])

    def describe(self) -> str:
        """One line for logs, e.g. ``data: /d/mnist.npz (60,000 train / 10,000 test)``."""
        if self.is_sample:
            return f"data: {self.source}"
        return f"data: {self.source} ({self.num_train:,} train / {self.num_test:,} test)"


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


def _check_images(x: np.ndarray, key: str, label: str) -> np.ndarray:
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(
            f"Data file {label}: '{key}' has shape {x.shape}, but MNIST images must "
            "be (N, 28, 28) or (N, 28, 28, 1)."
        )
    if x.shape[0] == 0:
        raise ValueError(f"Data file {label}: '{key}' holds no images.")
    if x.dtype == np.uint8:
        return x
    if np.issubdtype(x.dtype, np.integer) and not np.issubdtype(x.dtype, np.bool_):
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"Data file {label}: '{key}' has pixel values {lo}..{hi}, outside "
                "the uint8 range 0..255."
            )
        return x.astype(np.uint8)
    raise ValueError(
        f"Data file {label}: '{key}' has dtype {x.dtype}, but MNIST images must be "
        "uint8 pixel values 0..255 (save the raw pixels, not normalised floats)."
    )


def _check_labels(y: np.ndarray, key: str, label: str, count: int, images_key: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"Data file {label}: '{key}' has shape {y.shape}, but labels must be a "
            "1-D array of class ids (one-hot labels are not accepted)."
        )
    if not np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.bool_):
        raise ValueError(
            f"Data file {label}: '{key}' has dtype {y.dtype}, but labels must be "
            "integers 0..9."
        )
    if y.shape[0] != count:
        raise ValueError(
            f"Data file {label}: '{images_key}' has {count} images but '{key}' has "
            f"{y.shape[0]} labels; they must match."
        )
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= NUM_CLASSES:
        raise ValueError(
            f"Data file {label}: '{key}' has labels {lo}..{hi}, but MNIST labels "
            "must be 0..9."
        )
    return y.astype(np.uint8)


def _validate(arrays: dict, label: str) -> dict:
    """Check an MNIST array dict and return it normalised to uint8 (N,28,28) / (N,)."""
    missing = [key for key in MNIST_KEYS if key not in arrays]
    if missing:
        raise ValueError(
            f"Data file {label} lacks the array(s) {', '.join(missing)} "
            f"(it has: {', '.join(sorted(arrays)) or 'nothing'})."
        )
    out = {}
    for split in ("train", "test"):
        x = _check_images(np.asarray(arrays[f"x_{split}"]), f"x_{split}", label)
        y = _check_labels(np.asarray(arrays[f"y_{split}"]), f"y_{split}", label, x.shape[0], f"x_{split}")
        out[f"x_{split}"], out[f"y_{split}"] = x, y
    return out


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


# ------------------------------------------------------------------- splits and scaling


def split_arrays(
    arrays: MnistArrays,
    split: str,
    *,
    validation_size: int = 0,
    limit: Optional[int] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Select one split as numpy arrays, carving validation off the end of train.

    Args:
        arrays: loaded MNIST.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        validation_size: the last ``validation_size`` training images form the
            validation split and are removed from ``"train"`` (no overlap).
        limit: keep only the first ``limit`` examples of the split (None: all;
            a limit above the split size keeps all).

    Returns:
        ``(images uint8 (N, 28, 28), labels uint8 (N,))``.

    Raises:
        ValueError: unknown split, ``validation`` with ``validation_size=0``,
            ``validation_size`` not smaller than the training set, bad ``limit``.

    Example:
        >>> x_val, y_val = split_arrays(arrays, "validation", validation_size=5000)
    """
    _check_split_args(split, validation_size, limit)
    n = arrays.num_train
    if validation_size >= n:
        raise ValueError(
            f"validation_size={validation_size} must be smaller than the "
            f"{n:,} training images of {arrays.source}."
        )
    if split == "train":
        x, y = arrays.x_train[: n - validation_size], arrays.y_train[: n - validation_size]
    elif split == "validation":
        if validation_size == 0:
            raise ValueError(
                "split='validation' needs validation_size > 0 (the number of "
                "training images to hold out), e.g. validation_size=5000."
            )
        x, y = arrays.x_train[n - validation_size :], arrays.y_train[n - validation_size :]
    else:
        x, y = arrays.x_test, arrays.y_test
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return x, y


def _check_split_args(split, validation_size, limit) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}.")
    if isinstance(validation_size, bool) or not isinstance(validation_size, (int, np.integer)) or validation_size < 0:
        raise ValueError(f"validation_size must be an integer >= 0; got {validation_size!r}.")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1
    ):
        raise ValueError(f"limit must be None or an integer >= 1; got {limit!r}.")


def normalize(images) -> np.ndarray:
    """Scale uint8 MNIST pixels exactly as the training pipeline does (x / 255).

    Use it for inference and export so models see the same inputs as in training.

    Args:
        images: integer pixels 0..255, shaped ``(28, 28)``, ``(28, 28, 1)``,
            ``(N, 28, 28)`` or ``(N, 28, 28, 1)`` (any height/width works).

    Returns:
        float32 array in [0, 1] with a trailing channel axis: ``(H, W, 1)`` for
        one image, ``(N, H, W, 1)`` for a batch.

    Raises:
        ValueError: float or bool input (probably already normalised), values
            outside 0..255, or a shape with no sensible image reading.

    Example:
        >>> batch = normalize(arrays.x_test[:8])   # (8, 28, 28, 1) float32
        >>> model.predict(batch)
    """
    x = np.asarray(images)
    if not np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.bool_):
        raise ValueError(
            f"normalize() expects integer pixels 0..255 (uint8); got dtype {x.dtype}. "
            "Float images are probably normalised already."
        )
    if x.dtype != np.uint8 and x.size and (int(x.min()) < 0 or int(x.max()) > 255):
        raise ValueError(
            f"normalize() expects pixels 0..255; got {int(x.min())}..{int(x.max())}."
        )
    if x.ndim == 2:
        x = x[..., None]
    elif x.ndim == 3 and x.shape[-1] != 1:
        x = x[..., None]
    elif x.ndim not in (3, 4) or x.shape[-1] != 1:
        raise ValueError(
            f"normalize() expects (H, W), (H, W, 1), (N, H, W) or (N, H, W, 1) "
            f"images; got shape {x.shape}."
        )
    return x.astype(np.float32) * np.float32(NORMALIZATION.scale) + np.float32(NORMALIZATION.offset)


# ------------------------------------------------------------------------ tf.data


def augmentation_settings(augment):
    """Check an ``augment`` argument; return its overrides of :data:`AUGMENTATION`.

    Returns None for False (no augmentation), ``{}`` for True (the defaults) and
    the dict itself for a dict of settings (augmentation on, those changed).

    Raises:
        ValueError: not a bool or dict, an unknown key, or a value that is not a
            number >= 0.
    """
    if augment is None or augment is False:
        return None
    if augment is True:
        return {}
    if not isinstance(augment, Mapping):
        raise ValueError(f"augment must be True, False or a dict of augmentation settings; got {augment!r}.")
    unknown = sorted(set(augment) - set(AUGMENTATION))
    if unknown:
        raise ValueError(
            f"unknown augmentation setting(s) {', '.join(map(repr, unknown))}; the settings are "
            f"{', '.join(AUGMENTATION)}."
        )
    for key, value in augment.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value >= 0:
            raise ValueError(f"augmentation setting {key!r} must be a number >= 0; got {value!r}.")
    if "elastic_sigma" in augment and not augment["elastic_sigma"] > 0:
        raise ValueError(f"augmentation setting 'elastic_sigma' must be > 0; got {augment['elastic_sigma']!r}.")
    for key in APPEARANCE_PROBABILITIES:
        if key in augment and augment[key] > 1:
            raise ValueError(f"augmentation setting {key!r} is a probability (0 to 1); got {augment[key]!r}.")
    if "max_lines" in augment and (augment["max_lines"] < 1 or augment["max_lines"] != int(augment["max_lines"])):
        raise ValueError(f"augmentation setting 'max_lines' must be a whole number >= 1; got {augment['max_lines']!r}.")
    if "motion_directions" in augment and (augment["motion_directions"] < 1
                                           or augment["motion_directions"] != int(augment["motion_directions"])):
        raise ValueError("augmentation setting 'motion_directions' must be a whole number >= 1; "
                         f"got {augment['motion_directions']!r}.")
    if "max_motion_length" in augment and not 5 <= augment["max_motion_length"] <= 27:
        raise ValueError("augmentation setting 'max_motion_length' must be between 5 and 27 px; "
                         f"got {augment['max_motion_length']!r}.")
    if "min_contrast" in augment and augment["min_contrast"] > 1:
        raise ValueError(f"augmentation setting 'min_contrast' must be at most 1; got {augment['min_contrast']!r}.")
    return {key: float(value) for key, value in augment.items()}


def augment_batch(images, seed, **overrides):
    """Apply one random affine (rotation, zoom, translation) per image of a batch.

    Rotation, zoom and shift are drawn per image from :data:`AUGMENTATION`
    (±10°, ±10 %, ±2 px), around the image centre, bilinear, zero (black) fill;
    the result is clipped to [0, 1]. Stateless: the same ``seed`` gives the same
    output. Runs as one ``ImageProjectiveTransformV3`` op per batch.

    With ``elastic_alpha`` > 0 each image is also warped by its own smooth
    random displacement field (Simard et al., 2003: uniform noise smoothed by a
    Gaussian of width ``elastic_sigma``, times ``elastic_alpha``; with the
    default sigma of 4, each axis of the displacement has a standard deviation
    of about 1.3 px at alpha 34 and 0.64 px at alpha 17). The affine and the
    elastic map are composed into one bilinear resampling, a gather per output
    pixel, compiled by XLA where TensorFlow has it (``_compiled_resample``).

    Args:
        images: float32 tensor ``(B, H, W, C)`` in [0, 1].
        seed: int tensor of shape ``(2,)`` (a stateless-random seed).
        **overrides: replace entries of :data:`AUGMENTATION`, e.g.
            ``max_rotation_degrees=0``.

    Returns:
        float32 tensor of the same shape, values in [0, 1].

    Raises:
        KeyError: an override that is not a key of :data:`AUGMENTATION`.

    Example:
        >>> out = augment_batch(tf.zeros([4, 28, 28, 1]), tf.constant([1, 2]))
    """
    import tensorflow as tf

    unknown = set(overrides) - set(AUGMENTATION)
    if unknown:
        raise KeyError(f"unknown augmentation setting(s): {', '.join(sorted(unknown))}")
    config = {**AUGMENTATION, **overrides}
    images = tf.convert_to_tensor(images, tf.float32)
    draws = tf.random.stateless_uniform([tf.shape(images)[0], 4], seed=seed, minval=-1.0, maxval=1.0)
    angle = draws[:, 0] * (config["max_rotation_degrees"] * np.pi / 180.0)
    scale = 1.0 + draws[:, 1] * config["max_zoom"]
    shift_x = draws[:, 2] * config["max_translation_pixels"]
    shift_y = draws[:, 3] * config["max_translation_pixels"]
    shear = None
    if config["max_shear"]:  # its own draw, so the other draws of a seed do not change with it
        shear_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 3)
        shear = tf.random.stateless_uniform([tf.shape(images)[0]], seed=shear_seed, minval=-1.0, maxval=1.0)
        shear = shear * config["max_shear"]
    if config["elastic_alpha"]:
        field_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 1)
        noise, smooth_y, smooth_x = _elastic_noise(images, field_seed, float(config["elastic_alpha"]),
                                                   float(config["elastic_sigma"]))
        coefficients = _affine_coefficients(tf.shape(images), angle, scale, shift_x, shift_y, shear)
        out = (_compiled_resample() or _resample)(images, coefficients, noise, smooth_y, smooth_x)
    else:
        out = tf.clip_by_value(_affine(images, angle, scale, shift_x, shift_y, shear), 0.0, 1.0)
    if any(config[key] for key in APPEARANCE_PROBABILITIES):
        appearance_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 2)
        out = _appearance(out, appearance_seed, config)
    return tf.ensure_shape(out, images.shape)  # keep the static (B, 28, 28, 1) for Keras


def _gaussian_kernel_1d(sigma, radius):
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (taps / taps.sum()).astype(np.float32)


def _separable_blur(images, taps):
    """Blur every channel of ``images`` with the separable kernel ``taps`` (zero padding)."""
    import tensorflow as tf

    channels = images.shape[-1] or 1
    row = tf.tile(tf.constant(taps, tf.float32)[None, :, None, None], [1, 1, channels, 1])
    col = tf.tile(tf.constant(taps, tf.float32)[:, None, None, None], [1, 1, channels, 1])
    out = tf.nn.depthwise_conv2d(images, row, [1, 1, 1, 1], "SAME")
    out = tf.nn.depthwise_conv2d(out, col, [1, 1, 1, 1], "SAME")
    return out


def _motion_blurs(x, directions, longest):
    """``x`` blurred by every motion kernel of the augmentation: each of ``directions``
    evenly spaced angles (from horizontal) at each odd length from 5 to ``longest`` px.
    Horizontal and vertical kernels are exact 1-D box filters."""
    import tensorflow as tf

    from kerasdil.data.corrupt import motion_kernels

    channels = x.shape[-1] or 1
    out = []
    for length in range(5, max(5, longest) + 1, 2):
        box = tf.constant(np.full((length,), 1.0 / length, np.float32))
        for k in range(directions):
            angle = np.pi * k / directions
            if np.isclose(angle, 0.0):
                kernel = box[None, :]
            elif np.isclose(angle, np.pi / 2):
                kernel = box[:, None]
            else:
                kernel = tf.constant(motion_kernels([angle], length)[0])
            kernel = tf.tile(kernel[:, :, None, None], [1, 1, channels, 1])
            out.append(tf.nn.depthwise_conv2d(x, kernel, [1] * 4, "SAME"))
    return out


def _appearance(images, seed, config):
    """The appearance half of ``augment_batch``: stroke width, blur, contrast,
    brightness, fog, a line, noise. Each change hits an image with its probability
    and a strength drawn per image; all draws are stateless from ``seed``."""
    import tensorflow as tf

    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    seeds = iter(tf.unstack(tf.random.stateless_uniform([32, 2], seed=seed, minval=0, maxval=2**31 - 1,
                                                        dtype=tf.int64)))

    def draw(per="image", minval=0.0, maxval=1.0):
        size = [b, 1, 1, 1] if per == "image" else tf.shape(images)
        return tf.random.stateless_uniform(size, seed=next(seeds), minval=minval, maxval=maxval)

    def apply(key, changed, x):
        hit = tf.cast(draw() < config[key], x.dtype)
        return x + hit * (changed - x)

    x = images
    if config["stroke_probability"]:
        thick = tf.nn.max_pool2d(x, 3, 1, "SAME")
        thin = -tf.nn.max_pool2d(-x, 2, 1, "SAME")
        amount = draw()
        changed = tf.where(draw() < 0.5, x + amount * (thick - x), x + amount * (thin - x))
        x = apply("stroke_probability", changed, x)
    if config["blur_probability"]:
        sigma = max(float(config["max_blur_sigma"]), 0.3)
        gaussian = _separable_blur(x, _gaussian_kernel_1d(sigma, int(np.ceil(2 * sigma))))
        kind = draw()
        motions = _motion_blurs(x, int(config["motion_directions"]), int(config["max_motion_length"]))
        # kind < 0.5: Gaussian; the upper half is split evenly over the motion kernels.
        index = tf.clip_by_value(tf.cast(tf.floor((kind - 0.5) * 2.0 * len(motions)), tf.int32), 0, len(motions) - 1)
        pick = tf.one_hot(index[:, 0, 0, 0], len(motions), axis=0)[:, :, None, None, None]
        motion = tf.reduce_sum(tf.stack(motions) * pick, 0)
        blurred = tf.where(kind < 0.5, gaussian, motion)
        x = apply("blur_probability", x + draw() * (blurred - x), x)
    if config["contrast_probability"]:
        mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        c = draw(minval=float(config["min_contrast"]), maxval=1.0)
        x = apply("contrast_probability", (x - mean) * c + mean, x)
    if config["brightness_probability"]:
        x = apply("brightness_probability", x + draw(maxval=float(config["max_brightness"])), x)
    if config["fog_probability"]:
        coarse = tf.random.stateless_uniform(tf.stack([b, 4, 4, shape[3]]), seed=next(seeds))
        fog = tf.image.resize(coarse, tf.stack([h, w]), method="bicubic")
        x = apply("fog_probability", x + draw(maxval=float(config["max_fog"])) * fog, x)
    if config["line_probability"]:
        ys, xs = tf.meshgrid(tf.range(tf.cast(h, tf.float32)), tf.range(tf.cast(w, tf.float32)), indexing="ij")
        line_seeds = tf.random.stateless_uniform([int(config["max_lines"]), 2], seed=next(seeds), minval=0,
                                                 maxval=2**31 - 1, dtype=tf.int64)
        for k in range(int(config["max_lines"])):
            draws = tf.random.stateless_uniform([b, 7], seed=line_seeds[k])
            ends = draws[:, :4] * tf.cast(tf.stack([w, h, w, h]), tf.float32)
            x0, y0, x1, y1 = (ends[:, i, None, None] for i in range(4))
            dx, dy = x1 - x0, y1 - y0
            t = tf.clip_by_value(((xs - x0) * dx + (ys - y0) * dy) / (dx * dx + dy * dy + 1e-6), 0.0, 1.0)
            distance = tf.sqrt((xs - x0 - t * dx) ** 2 + (ys - y0 - t * dy) ** 2)
            width = (0.5 + draws[:, 4])[:, None, None]
            line = tf.clip_by_value(width + 0.5 - distance, 0.0, 1.0)[..., None]
            shade = (0.5 + 0.5 * draws[:, 5])[:, None, None, None]
            hit = tf.cast(draws[:, 6] < config["line_probability"], x.dtype)[:, None, None, None]
            x = x + hit * (tf.maximum(x, line * shade) - x)
    x = tf.clip_by_value(x, 0.0, 1.0)
    if config["noise_probability"]:
        std = draw(maxval=float(config["max_noise_std"]))
        noisy = x + std * tf.random.stateless_normal(tf.shape(x), seed=next(seeds))
        x = apply("noise_probability", tf.clip_by_value(noisy, 0.0, 1.0), x)
    if config["impulse_probability"]:
        fraction = draw(maxval=float(config["max_impulse_fraction"]))
        u = draw(per="pixel")
        salted = tf.where(u < fraction / 2, 0.0, tf.where(u > 1.0 - fraction / 2, 1.0, x))
        x = apply("impulse_probability", salted, x)
    return x


#: Set to False before a pipeline is built to resample without XLA (see ``_compiled_resample``).
XLA_RESAMPLING = True
_COMPILED_RESAMPLE = None


def _resample(images, coefficients, noise=None, smooth_y=None, smooth_x=None):
    """The deterministic part of ``augment_batch``: the elastic field from its noise
    (when given), one bilinear resampling at the composed map, the clip to [0, 1]."""
    import tensorflow as tf

    field = None if noise is None else _smooth(noise, smooth_y, smooth_x)
    return tf.clip_by_value(_warp(images, coefficients, field), 0.0, 1.0)


def _compiled_resample():
    """``_resample`` compiled by XLA, or None where it cannot be (or ``XLA_RESAMPLING`` is off).

    XLA fuses the resampling's ~20 elementwise ops and its gather into one loop:
    on a batch of 128 MNIST images, 0.78 ms for field + resampling + clip against
    2.1 ms op by op, which doubles the elastic pipeline's images/s. (The affine
    alone stays on ``ImageProjectiveTransformV3``: compiled, it was no faster in
    the pipeline.) The random draws stay outside, so the augmentation drawn for a
    seed does not depend on whether XLA is used. Probed once per process,
    eagerly, on a tiny batch.
    """
    global _COMPILED_RESAMPLE
    if not XLA_RESAMPLING:
        return None
    if _COMPILED_RESAMPLE is None:
        import tensorflow as tf

        compiled = tf.function(_resample, jit_compile=True, reduce_retracing=True)
        with tf.init_scope():
            try:
                probe = tf.zeros([1, 4, 4, 1])
                identity = _affine_coefficients(tf.shape(probe), [0.0], [1.0], [0.0], [0.0])
                compiled(probe, identity, tf.zeros([1, 2, 2, 2]), tf.ones([4, 2]), tf.ones([4, 2])).numpy()
                _COMPILED_RESAMPLE = compiled
            except (tf.errors.OpError, NotImplementedError):  # no XLA CPU JIT here: resample op by op
                _COMPILED_RESAMPLE = False
    return _COMPILED_RESAMPLE or None


def _smoothing_matrix(size, sigma):
    """(size, ceil(size / 2)) Gaussian smoothing of a half-resolution noise grid.

    Simard's field smooths full-resolution noise with a Gaussian of width
    ``sigma`` (radius ``3 sigma``, weights summing to 1, zero padding). That
    Gaussian leaves almost nothing above the half-resolution grid's Nyquist
    frequency, so the noise is drawn on a grid of samples at ``2j + 0.5``, a
    quarter as many random numbers, and each row is scaled so that a pixel's
    value has the variance Simard's smoothing gives it.
    """
    radius = int(np.ceil(3.0 * sigma))
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    full = np.exp(-0.5 * (offsets / sigma) ** 2) * (np.abs(offsets) <= radius)
    full /= np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2).sum()
    coarse = 2.0 * np.arange((size + 1) // 2) + 0.5
    weights = np.exp(-0.5 * ((np.arange(size)[:, None] - coarse[None, :]) / sigma) ** 2)
    weights *= np.sqrt((full ** 2).sum(axis=1) / (weights ** 2).sum(axis=1))[:, None]
    return weights.astype(np.float32)


def _elastic_noise(images, seed, alpha, sigma):
    """The random half of an elastic field: ``(noise, smooth_y, smooth_x)``, whose
    ``smooth_y @ noise @ smooth_x.T`` is the (B, 2, H, W) field of (dx, dy) in pixels."""
    import tensorflow as tf

    height, width = images.shape[1], images.shape[2]
    if height is None or width is None:
        raise ValueError(f"elastic augmentation needs a static image height and width; got shape {images.shape}.")
    smooth_y = tf.constant(alpha * _smoothing_matrix(int(height), sigma))
    smooth_x = tf.constant(_smoothing_matrix(int(width), sigma))
    noise = tf.random.stateless_uniform(
        tf.stack([tf.shape(images)[0], 2, smooth_y.shape[1], smooth_x.shape[1]]), seed=seed, minval=-1.0, maxval=1.0
    )
    return noise, smooth_y, smooth_x


def _smooth(noise, smooth_y, smooth_x):
    """The elastic field from ``_elastic_noise``'s parts: (B, 2, H, W) displacements (dx, dy) in pixels."""
    import tensorflow as tf

    return tf.matmul(tf.matmul(smooth_y, noise), smooth_x, transpose_b=True)


def _warp(images, coefficients, field=None):
    """Bilinear resampling (zero fill) at the affine map of (output pixel + field).

    Same sampling rule as ``ImageProjectiveTransformV3`` with BILINEAR and
    CONSTANT 0: with no (or a zero) field it reproduces ``_affine``.
    """
    import tensorflow as tf

    a0, a1, a2, b0, b1, b2 = (c[:, None, None] for c in coefficients)
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    grid_y, grid_x = tf.meshgrid(tf.range(hf), tf.range(wf), indexing="ij")
    x, y = grid_x[None], grid_y[None]
    if field is not None:
        x = x + field[:, 0]
        y = y + field[:, 1]
    src_x = a0 * x + a1 * y + a2
    src_y = b0 * x + b1 * y + b2
    # One gather per output pixel: the image zero-padded by 2 px, each entry holding
    # its 2x2 neighbourhood. Clamping the top-left tap to [-2, size] keeps every
    # sample that falls outside the image reading padding, i.e. zeros.
    x0 = tf.clip_by_value(tf.floor(src_x), -2.0, wf)
    y0 = tf.clip_by_value(tf.floor(src_y), -2.0, hf)
    wx = tf.clip_by_value(src_x - x0, 0.0, 1.0)[..., None]
    wy = tf.clip_by_value(src_y - y0, 0.0, 1.0)[..., None]
    padded = tf.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]])
    quads = tf.concat(
        [padded[:, :-1, :-1], padded[:, :-1, 1:], padded[:, 1:, :-1], padded[:, 1:, 1:]], axis=-1
    )  # (B, H + 3, W + 3, 4 C)
    channels = shape[3]
    row = tf.cast(y0, tf.int32) + 2
    col = tf.cast(x0, tf.int32) + 2
    index = (tf.range(b) * (h + 3) * (w + 3))[:, None, None] + row * (w + 3) + col
    taps = tf.gather(tf.reshape(quads, tf.stack([-1, 4 * channels])), index)
    top_left, top_right, bottom_left, bottom_right = tf.split(taps, 4, axis=-1)
    top = top_left + wx * (top_right - top_left)
    bottom = bottom_left + wx * (bottom_right - bottom_left)
    return top + wy * (bottom - top)


def _affine_coefficients(shape, angle, scale, shift_x, shift_y, shear=None):
    """Inverse-map coefficients (a0, a1, a2, b0, b1, b2), one per image, of the affine
    that shears (x += shear * y), rotates by ``angle`` (radians), scales, then shifts
    (px, +x right, +y down)."""
    import tensorflow as tf

    angle, scale, shift_x, shift_y = (
        tf.cast(tf.convert_to_tensor(v), tf.float32) for v in (angle, scale, shift_x, shift_y)
    )
    # Forward map: out = scale * R(angle) Sh(shear) (in - c) + c + shift. Sampling wants
    # the inverse (output pixel -> input pixel): in = M (out - c - shift) + c, with
    # M = Sh(-shear) R(-angle) / scale.
    cx = (tf.cast(shape[2], tf.float32) - 1.0) / 2.0
    cy = (tf.cast(shape[1], tf.float32) - 1.0) / 2.0
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    a0, a1, b0, b1 = cos, sin, -sin, cos
    if shear is not None:
        shear = tf.cast(tf.convert_to_tensor(shear), tf.float32)
        a0, a1 = cos + shear * sin, sin - shear * cos
    a2 = cx - a0 * (cx + shift_x) - a1 * (cy + shift_y)
    b2 = cy - b0 * (cx + shift_x) - b1 * (cy + shift_y)
    return a0, a1, a2, b0, b1, b2


def _affine(images, angle, scale, shift_x, shift_y, shear=None):
    """Shear, rotate by ``angle`` (radians), scale, then shift (px, +x right, +y down), per image."""
    import tensorflow as tf

    shape = tf.shape(images)
    a0, a1, a2, b0, b1, b2 = _affine_coefficients(shape, angle, scale, shift_x, shift_y, shear)
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


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
