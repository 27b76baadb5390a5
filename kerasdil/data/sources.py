"""The user's own data for every kerasdil verb: image folders, mask folders, tfds, arrays, tf.data.

:func:`load_data` turns a data source into a :class:`DataSpec`: the classes, the
input shape the images are brought to, and ``tf.data`` pipelines of float32 images
in [0, 1] (the same normalisation as :data:`kerasdil.data.NORMALIZATION`) with
int32 class ids (classification) or int32 ``(H, W)`` masks (segmentation).

Sources:

- a folder of class subfolders, ``keras.utils.image_dataset_from_directory``'s
  layout (``flowers/daisy/1.jpg``, ``flowers/rose/7.png``); optionally split into
  ``train/``, ``validation/`` (or ``val/``) and ``test/`` folders of that layout;
- a segmentation folder: ``images/`` and ``masks/`` (the same file stems; masks
  are PNGs of class ids, read as the file stores them: 8-bit gray, 1-bit or palette,
  see :mod:`kerasdil.data.masks`) and an optional ``classes.txt`` (one class name per
  line; a line ``ignore: 255`` names the value left out of training and scoring, as
  ``ignore_index`` does); masks holding only 0 and 255 are binary; optionally split
  into ``train/``, ``validation/``, ``test/``;
- ``"tfds:NAME"`` or ``"tfds:NAME:CONFIG"``: a tensorflow-datasets data set already
  prepared in ``data_dir`` (default ``$TFDS_DATA_DIR``, then ``$KERASDIL_DATA_DIR``);
  nothing is downloaded. ``tfds:mnist_scenes[:CONFIG]`` (kerasdil's own builder,
  made from local MNIST) is prepared on first use;
- numpy arrays ``(x, y)``, a ``tf.data.Dataset`` of ``(image, label)`` pairs, or a
  dict ``{"train": ..., "validation": ..., "test": ...}`` of those.

Images are decoded and resized by TensorFlow and Keras (``tf.io.decode_image``,
``keras.ops.image.resize``). The size is ``image_size`` or else the most common size
in the data; ``resize`` says how other sizes get there: ``"pad"`` (keep the aspect
ratio, pad with zeros), ``"crop"`` (keep the aspect ratio, centre-crop) or
``"stretch"``. The channels are ``channels`` or else 1 when every image is grayscale
and 3 otherwise (TensorFlow converts gray to RGB and RGB to gray; alpha is
dropped). An unreadable image is skipped with a warning that names it, and a file that
is not part of the layout is named on the ``data:`` line (``record["left_out"]``).
Checks that must fail before anything is allocated live in :mod:`kerasdil.data.checks`.

Example:
    >>> from kerasdil.data.sources import load_data
    >>> spec = load_data("flowers/", image_size=(64, 64), channels=3)
    >>> spec.num_classes, spec.class_names, spec.input_shape
    >>> model.fit(spec.dataset("train", batch_size=32), validation_data=spec.dataset("validation"))
"""

from __future__ import annotations

import os

import numpy as np

from ._arrays import _describe_in_memory, _load_in_memory
from ._folders import _load_folder
from ._records import _summarize, write_data_record  # noqa: F401
from ._spec import (  # noqa: F401  (these names stay importable from here)
    CLASS_NAMES_FILE, DEFAULT_VALIDATION_SPLIT, IMAGE_EXTENSIONS, RESIZE_POLICIES, TFDS_PREFIX, DataSpec,
    UserDataWarning,
)
from ._tfds_source import _load_tfds, tfds_data_dir  # noqa: F401


def is_user_data(source) -> bool:
    """True when ``source`` is data for :func:`load_data`, False for kerasdil's own MNIST sources.

    MNIST sources (``None``, ``"sample"``, ``"auto"``, an ``.npz`` file, a folder holding
    ``mnist.npz``) stay with :func:`kerasdil.data.load_mnist_arrays`; everything else
    (an image or segmentation folder, ``"tfds:..."``, arrays, datasets, a
    :class:`DataSpec`) is the user's.

    Example:
        >>> is_user_data("tfds:beans"), is_user_data("sample")
        (True, False)
    """
    if source is None:
        return False
    if isinstance(source, DataSpec):
        return True
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text.startswith(TFDS_PREFIX) or _series_source(text):
            return True
        if text in ("sample", "auto") or text.endswith(".npz"):
            return False
        path = os.path.expanduser(text)
        return os.path.isdir(path) and not os.path.exists(os.path.join(path, "mnist.npz"))
    return True  # arrays, tf.data datasets, dicts of splits


def _series_source(source):
    from .series import is_series_source

    return is_series_source(source)


#: ``load_data``'s options for one kind of data, and the command-line flags that give them.
IMAGE_OPTIONS = {"image_size": "--image-size", "resize": "--resize", "channels": "--channels",
                 "ignore_index": "--ignore-index"}
SERIES_OPTIONS = {"normalize": "--series-normalize", "unequal": "--series-unequal", "length": "--series-length"}


def _refuse_options(given, options, applies_to, data_is):
    """One sentence for an option of the other kind of data (``given``: name -> value, None when not given)."""
    wrong = [name for name in options if given.get(name) is not None]
    if wrong:
        raise ValueError(f"{wrong[0]} ({options[wrong[0]]}) applies to {applies_to}, and this data is {data_is}; "
                         "leave it out.")


def _as_size(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, str):
        parts = [p for p in image_size.replace("x", ",").split(",") if p.strip()]
        try:
            image_size = tuple(int(p) for p in parts)
        except ValueError:
            image_size = ()
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        image_size = (int(image_size), int(image_size))
    size = tuple(image_size) if hasattr(image_size, "__len__") else ()
    if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in size):
        raise ValueError(f"image_size must be two positive integers (height, width) such as 64,64; got {image_size!r}.")
    return int(size[0]), int(size[1])


def _check_options(resize, channels, validation_split):
    if resize not in RESIZE_POLICIES:
        raise ValueError(f"resize must be one of {', '.join(RESIZE_POLICIES)}; got {resize!r}.")
    if channels is not None and channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB); got {channels!r}.")
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
            or not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be a fraction in [0, 1) such as 0.2; got {validation_split!r}.")


# ----------------------------------------------------------------------------- entry point


def load_data(
    source,
    *,
    task=None,
    image_size=None,
    resize=None,
    channels=None,
    validation_split=DEFAULT_VALIDATION_SPLIT,
    seed=0,
    data_dir=None,
    num_classes=None,
    class_names=None,
    ignore_index=None,
    series=False,
    normalize=None,
    unequal=None,
    length=None,
):
    """Resolve the user's data into a :class:`DataSpec` (see the module docstring for the sources).

    Args:
        source: a folder, ``"tfds:NAME[:CONFIG]"``, ``(x, y)`` arrays, a ``tf.data.Dataset``
            of ``(image, label)``, a dict ``{"train": ..., "validation": ..., "test": ...}``,
            or a :class:`DataSpec` (returned as is).
        task: "classification" or "segmentation"; default: what the data holds. A folder
            of the other kind is refused with a sentence that says so.
        image_size: (height, width) of the model input; default the data's (most common) size.
        resize: "pad" (default), "crop" or "stretch": how images of another size are brought to it.
        channels: 1 or 3; default 1 when every image is grayscale, else 3.
        validation_split: share of the training examples held out for validation when the
            data has no validation split (per class, seeded by ``seed``).
        seed: seed of the validation split.
        data_dir: tensorflow-datasets folder (default ``$TFDS_DATA_DIR``, ``$KERASDIL_DATA_DIR``).
        num_classes: classes, where the data cannot tell (masks without ``classes.txt``
            are counted from their largest value).
        class_names: names of the classes, where the data has none; for a folder of class
            subfolders, the classes to read it with (a model's classes, matched by name: every
            subfolder must be one of them).
        ignore_index: segmentation: the mask value (0..255) left out of training and scoring
            (pixels labelled -1 in the pipeline); a ``classes.txt`` line ``ignore: 255`` says
            the same. Masks holding only 0 and 255 are read as binary (255 is class 1).
        series: read in-memory data (arrays, a ``tf.data.Dataset``, a dict of splits) as time
            series (:func:`kerasdil.data.series.load_series`), as a series model needs; series
            sources (``aeon:NAME``, ``.ts``, a series ``.npz`` or ``.csv`` folder) always are.
        normalize, unequal, length: time series only, ``load_series``'s options (default
            "auto", "resample", the longest training series); refused for images, as the
            image options are for series.

    Returns:
        :class:`DataSpec` (a :class:`kerasdil.data.series.SeriesSpec` for time series).

    Raises:
        FileNotFoundError: a folder that does not exist.
        ValueError: anything wrong with the data, in one sentence that names the file or
            folder: no class folders or no images, a mask past the class count, an image
            without a mask, a tfds data set that is not prepared, images of another task, ...

    Example:
        >>> spec = load_data("scenes/", task="segmentation", image_size=(64, 80))
        >>> train = spec.dataset("train", batch_size=16)
    """
    given = {"image_size": image_size, "resize": resize, "channels": channels, "ignore_index": ignore_index,
             "normalize": normalize, "unequal": unequal, "length": length}
    if series or _series_source(source):  # time series: kerasdil.data.series
        from .series import load_series

        _refuse_options(given, IMAGE_OPTIONS, "images", "time series")
        return load_series(source, task=task, validation_split=validation_split, seed=seed, num_classes=num_classes,
                           class_names=class_names, normalize=normalize or "auto", unequal=unequal or "resample",
                           length=length)
    _refuse_options(given, SERIES_OPTIONS, "time series", "images")
    resize = "pad" if resize is None else resize
    if isinstance(source, DataSpec):
        if task is not None and source.task != task:
            raise ValueError(f"the data holds {source.task} examples, but a {task} model needs {task} data.")
        return source
    if task not in (None, "classification", "segmentation"):
        raise ValueError(f"task must be 'classification' or 'segmentation'; got {task!r}.")
    from .checks import check_image_memory, large_image_note
    from .masks import check_ignore_index

    given_size = image_size = _as_size(image_size)
    _check_options(resize, channels, validation_split)
    ignore_index = check_ignore_index(ignore_index)
    if image_size is not None:
        check_image_memory((*image_size, channels or 3), what="images brought to image_size")
    notes, record = [], {}
    if isinstance(source, (str, os.PathLike)) and os.fspath(source).startswith(TFDS_PREFIX):
        kind, label = "tfds", os.fspath(source)
        found = _load_tfds(label, data_dir, image_size, resize, channels, validation_split, num_classes,
                           class_names, notes, record, ignore_index)
    elif isinstance(source, (str, os.PathLike)):
        kind, label, found = _load_folder(source, task, image_size, resize, channels, validation_split, seed,
                                          num_classes, class_names, notes, record, ignore_index)
    else:
        kind, label = "in_memory", _describe_in_memory(source)
        found = _load_in_memory(source, image_size, resize, channels, validation_split, seed, num_classes,
                                class_names, notes, record, ignore_index)
    found_task, names, input_shape, splits = found
    if ignore_index is not None and found_task != "segmentation":
        raise ValueError("ignore_index applies to segmentation masks; this data holds class labels.")
    check_image_memory(input_shape, what=f"the images of {label}")
    if given_size is None and large_image_note(*input_shape[:2]):
        notes.append(large_image_note(*input_shape[:2]))
    if task is not None and found_task != task:
        raise ValueError(
            f"{label} holds {found_task} data ({'masks' if found_task == 'segmentation' else 'class labels'}), "
            f"but a {task} model needs {task} data."
        )
    if num_classes is not None and len(names) != num_classes:
        raise ValueError(f"the data has {len(names)} classes but num_classes={num_classes}.")
    description = _summarize(label, kind, found_task, names, input_shape, splits, notes, record, resize,
                             validation_split, seed)
    return DataSpec(found_task, len(names), list(names), tuple(input_shape), description, record, splits)


__all__ = ["DataSpec", "load_data"]
