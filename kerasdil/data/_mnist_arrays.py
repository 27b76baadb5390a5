"""MNIST as arrays: the layout, the one normalisation, validation of loaded arrays, splits and scaling.

Pure numpy; re-exported by :mod:`kerasdil.data.mnist`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

#: The arrays an MNIST ``.npz`` must hold (same layout as the Keras download).
MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")
#: Shape of one image as the pipeline yields it (height, width, channels).
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
SPLITS = ("train", "validation", "test")


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


# ----------------------------------------------------------------------------- validation


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
