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

import collections
import dataclasses
import os
import warnings
from typing import Optional

import numpy as np

from ._common import data_dir_from_env, stderr_notice

#: How images of another size are brought to the input size.
RESIZE_POLICIES = ("pad", "crop", "stretch")
#: Image files read from folders (the extensions image_dataset_from_directory reads).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
#: Optional class-names file of a segmentation folder (one name per line, class 0 first).
CLASS_NAMES_FILE = "classes.txt"
#: Folder names of a split layout, and the split each one is.
SPLIT_FOLDERS = {"train": "train", "validation": "validation", "val": "validation", "test": "test"}
TFDS_PREFIX = "tfds:"
TFDS_DATA_DIR_ENV = "TFDS_DATA_DIR"
#: Default share of the training images held out for validation.
DEFAULT_VALIDATION_SPLIT = 0.2
#: Builders that kerasdil prepares itself, from local files, when they are not yet prepared.
_LOCAL_BUILDERS = ("mnist_scenes",)


class UserDataWarning(UserWarning):
    """Something in the user's data was skipped or converted (the message says what)."""


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


# ----------------------------------------------------------------------------- the spec


@dataclasses.dataclass
class _Split:
    """One split: a function making the unbatched, preprocessed dataset, and its size."""

    make: object
    count: Optional[int]
    text: str


@dataclasses.dataclass
class DataSpec:
    """What :func:`load_data` found, and the pipelines over it.

    Attributes:
        task: "classification" or "segmentation".
        num_classes: classes (for segmentation, mask values 0..num_classes-1).
        class_names: one name per class.
        input_shape: (height, width, channels) every image is brought to.
        description: one line for logs ("data: ...").
        record: JSON-able dict of where the data came from and every choice made
            (sizes, resize policy, channels, splits, skipped files); train writes it
            to ``data.json``.
        splits: split name -> :class:`_Split` (``train``, ``validation``, ``test``).
    """

    task: str
    num_classes: int
    class_names: list
    input_shape: tuple
    description: str
    record: dict
    splits: dict

    def sizes(self) -> dict:
        """``{split: number of examples}`` (None where unknown)."""
        return {name: split.count for name, split in self.splits.items()}

    def dataset(self, split="train", *, batch_size=32, shuffle=None, augment=False, seed=0, limit=None,
                cache=True):
        """A batched ``tf.data`` pipeline of one split, or None when the data has no such split.

        Args:
            split: "train", "validation" or "test".
            batch_size: examples per batch.
            shuffle: reshuffle every epoch; default True for "train" only.
            augment: classification only: False, True, or a dict of
                :data:`kerasdil.data.AUGMENTATION` settings (random affine per image).
            seed: shuffling and augmentation seed.
            limit: use only the first ``limit`` examples.
            cache: keep decoded, resized examples in memory after the first pass.

        Returns:
            ``tf.data.Dataset`` of ``(images float32 (B, H, W, C) in [0, 1], labels int32
            (B,) or masks int32 (B, H, W))``, or None.

        Raises:
            ValueError: an unknown split or bad argument.

        Example:
            >>> train = spec.dataset("train", batch_size=64, augment=True)
        """
        import tensorflow as tf

        if split not in ("train", "validation", "test"):
            raise ValueError(f"split must be 'train', 'validation' or 'test'; got {split!r}.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}.")
        if split not in self.splits:
            return None
        entry = self.splits[split]
        dataset = entry.make()
        if limit is not None:
            dataset = dataset.take(int(limit))
        if cache:
            dataset = dataset.cache()
        if shuffle is None:
            shuffle = split == "train"
        if shuffle:
            buffer = min(entry.count or 10000, 10000)
            dataset = dataset.shuffle(max(buffer, 1), seed=int(seed), reshuffle_each_iteration=True)
        dataset = dataset.batch(int(batch_size))
        if augment and self.task == "classification":
            from .mnist import augment_batch, augmentation_settings

            settings = augmentation_settings(augment) or {}
            seeds = tf.data.Dataset.random(seed=int(seed), rerandomize_each_iteration=True).batch(2)
            dataset = tf.data.Dataset.zip((dataset, seeds)).map(
                lambda batch, s: (augment_batch(batch[0], s, **settings), batch[1]),
                num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.prefetch(tf.data.AUTOTUNE)

    @property
    def train(self):
        """The training split, batches of 32, shuffled."""
        return self.dataset("train")

    @property
    def validation(self):
        """The validation split (batches of 32), or None."""
        return self.dataset("validation")

    @property
    def test(self):
        """The test split (batches of 32), or None."""
        return self.dataset("test")

    def arrays(self, split, limit=None, *, shuffle=False, seed=0):
        """``(x, y)`` numpy arrays of a split, or None when absent.

        Args:
            split: "train", "validation" or "test".
            limit: at most this many examples (the first ones, or a seeded random
                draw with ``shuffle``: a folder lists its classes one after another).
            shuffle: draw the examples in a random order.
            seed: seed of that order.
        """
        dataset = self.dataset(split, batch_size=256, shuffle=shuffle, seed=seed,
                               limit=None if shuffle else limit, cache=False)
        if dataset is None:
            return None
        xs, ys, count = [], [], 0
        for x, y in dataset:
            xs.append(np.asarray(x))
            ys.append(np.asarray(y))
            count += len(xs[-1])
            if limit is not None and count >= limit:
                break
        if not xs:
            return None
        return np.concatenate(xs)[:limit], np.concatenate(ys)[:limit]


# ----------------------------------------------------------------------------- preprocessing


def _resize_fn(image_size, resize):
    """``f(image float32 (H, W, C)) -> (h, w, C)`` and the same for masks (nearest)."""
    import keras

    kwargs = {"pad": dict(pad_to_aspect_ratio=True, fill_value=0.0),
              "crop": dict(crop_to_aspect_ratio=True), "stretch": {}}[resize]

    def image(x):
        return keras.ops.image.resize(x, image_size, interpolation="bilinear", **kwargs)

    def mask(m):
        return keras.ops.image.resize(m, image_size, interpolation="nearest", **kwargs)

    return image, mask


def _convert_channels(x, channels):
    """Float image (H, W, c) with c in 1..4 -> ``channels`` channels (alpha dropped)."""
    import tensorflow as tf

    c = x.shape[-1]
    if c in (2, 4):  # drop alpha
        x, c = x[..., : c - 1], c - 1
    if c == channels:
        return x
    if channels == 3:
        return tf.image.grayscale_to_rgb(x)
    return tf.image.rgb_to_grayscale(x)


def _preprocess_tensor(image_size, resize, channels, task, mask_table=None):
    """A map function for in-memory (image, label) pairs: scale, channels, size (masks through ``mask_table``)."""
    import tensorflow as tf

    resize_image, resize_mask = _resize_fn(image_size, resize)
    lookup = None if mask_table is None else tf.constant(mask_table, tf.int32)

    def fn(x, y):
        if x.dtype.is_integer:
            x = tf.cast(x, tf.float32) / 255.0
        else:
            x = tf.cast(x, tf.float32)
        if x.shape.rank == 2:
            x = x[..., None]
        x = _convert_channels(x, channels)
        x = tf.ensure_shape(resize_image(x), (*image_size, channels))
        if task == "segmentation":
            m = tf.cast(y if lookup is None else tf.gather(lookup, tf.clip_by_value(tf.cast(y, tf.int32), 0, 255)),
                        tf.float32)
            if m.shape.rank == 2:
                m = m[..., None]
            y = tf.cast(tf.ensure_shape(resize_mask(m[..., :1]), (*image_size, 1))[..., 0], tf.int32)
        else:
            y = tf.cast(tf.reshape(y, []), tf.int32)
        return x, y

    return fn


# ----------------------------------------------------------------------------- folders


def _list_images(folder):
    """Image files under ``folder`` (recursively, hidden entries skipped), sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS):
                found.append(os.path.join(root, name))
    return found


def _subfolders(folder):
    return sorted(d for d in os.listdir(folder) if not d.startswith(".") and os.path.isdir(os.path.join(folder, d)))


def _split_layout(folder):
    """``{split: folder}`` when ``folder`` holds train/validation/test folders, else None."""
    subs = _subfolders(folder)
    if subs and all(s in SPLIT_FOLDERS for s in subs):
        splits = {}
        for s in subs:
            if SPLIT_FOLDERS[s] in splits:
                raise ValueError(f"data folder {folder} has both validation/ and val/; keep one of them.")
            splits[SPLIT_FOLDERS[s]] = os.path.join(folder, s)
        return splits
    return None


def _is_segmentation_folder(folder):
    return os.path.isdir(os.path.join(folder, "images")) and os.path.isdir(os.path.join(folder, "masks"))


def _probe(path, what="image"):
    """Decode one file eagerly: ``(height, width, channels)``, or raise ValueError naming it."""
    import tensorflow as tf

    try:
        contents = tf.io.read_file(path)
        image = tf.io.decode_image(contents, channels=0, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.UnknownError,
            tf.errors.DataLossError) as err:
        from .checks import readable_error

        raise ValueError(f"{what} {path} cannot be decoded ({readable_error(err)})") from None
    return tuple(int(v) for v in image.shape), image


def _choose_size(shapes, image_size, resize, notes):
    counts = collections.Counter((h, w) for h, w, _ in shapes)
    if image_size is None:
        image_size = max(counts, key=lambda hw: (counts[hw], hw[0] * hw[1]))
        if len(counts) > 1:
            notes.append(f"images come in {len(counts)} sizes; the most common, {image_size[0]}x{image_size[1]}, "
                         f"is the input size and the {sum(counts.values()) - counts[image_size]} others are "
                         f"resized to it (resize={resize}); pass image_size to choose another")
    else:
        other = sum(n for hw, n in counts.items() if hw != tuple(image_size))
        if other:
            notes.append(f"{other} of {len(shapes)} images are resized to {image_size[0]}x{image_size[1]} "
                         f"(resize={resize})")
    return tuple(image_size)


def _choose_channels(shapes, channels, notes):
    colour = sum(1 for _, _, c in shapes if c >= 3)
    gray = len(shapes) - colour
    if channels is None:
        channels = 3 if colour else 1
        if colour and gray:
            notes.append(f"{gray} grayscale images are converted to RGB (channels=3; pass channels=1 for grayscale)")
    elif channels == 1 and colour:
        notes.append(f"{colour} colour images are converted to grayscale (channels=1)")
    elif channels == 3 and gray:
        notes.append(f"{gray} grayscale images are converted to RGB (channels=3)")
    return channels


def _warn_skipped(skipped):
    if skipped:
        shown = "; ".join(skipped[:5]) + (f"; and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        warnings.warn(f"skipped {len(skipped)} unreadable file(s): {shown}.", UserDataWarning, stacklevel=4)


def _stratified_split(labels, fraction, seed):
    """Indices (train, validation): ``fraction`` of each class, at least one when a class has two or more."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    labels = np.asarray(labels)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = int(round(len(idx) * fraction))
        if fraction > 0 and n_val == 0 and len(idx) >= 2:
            n_val = 1
        val.extend(idx[:n_val])
        train.extend(idx[n_val:])
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(val, dtype=np.int64))


def _note_unused(folder, used, notes, record):
    """Name the files of ``folder`` that were not read, in the notes and the record."""
    from .checks import unused_files_note

    note, unused = unused_files_note(folder, used, IMAGE_EXTENSIONS)
    record["left_out"] = unused
    if note:
        notes.append(note)


def _file_dataset(paths, labels, image_size, resize, channels, masks=None, mask_table=None):
    import tensorflow as tf

    resize_image, resize_mask = _resize_fn(image_size, resize)

    def load_image(path):
        x = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        x = tf.cast(tf.ensure_shape(x, (None, None, channels)), tf.float32) / 255.0
        return tf.ensure_shape(resize_image(x), (*image_size, channels))

    if masks is None:
        def fn(path, label):
            return load_image(path), label

        ds = tf.data.Dataset.from_tensor_slices((list(paths), np.asarray(labels, np.int32)))
    else:
        from .masks import mask_reader

        read_mask = mask_reader(np.arange(256) if mask_table is None else mask_table)

        def fn(path, mask_path):
            m = resize_mask(read_mask(mask_path))
            return load_image(path), tf.cast(tf.ensure_shape(m, (*image_size, 1))[..., 0], tf.int32)

        ds = tf.data.Dataset.from_tensor_slices((list(paths), list(masks)))
    return ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


def _classification_files(folder, class_names=None):
    """``(class_names, paths, labels)`` of one folder of class subfolders."""
    subs = _subfolders(folder)
    if not subs:
        images = _list_images(folder)
        if images:
            raise ValueError(
                f"data folder {folder} holds {len(images)} images but no class subfolders; put each class's "
                f"images in a folder named after the class ({os.path.join(folder, 'cat', '1.png')}, "
                f"{os.path.join(folder, 'dog', '2.png')})."
            )
        raise ValueError(
            f"data folder {folder} has no class subfolders and no images; a classification folder holds one "
            f"subfolder of images per class ({os.path.join(folder, 'cat', '1.png')}, ...)."
        )
    names = list(class_names) if class_names is not None else subs
    unknown = [s for s in subs if s not in names]
    if unknown:
        raise ValueError(
            f"data folder {folder} has class folder {unknown[0]!r}, which the training classes "
            f"({', '.join(names)}) do not include."
        )
    paths, labels = [], []
    for s in subs:
        files = _list_images(os.path.join(folder, s))
        if not files:
            raise ValueError(
                f"class folder {os.path.join(folder, s)} holds no images ({', '.join(IMAGE_EXTENSIONS)}); "
                "add images or remove the folder."
            )
        paths += files
        labels += [names.index(s)] * len(files)
    return names, paths, labels


def _default_test(kept, record):
    """A split layout without test/: the validation split serves as test (or the training split)."""
    if "test" in kept or "train" not in kept:
        return
    if "validation" in kept:
        kept["test"] = kept["validation"]
        record["test_split"] = "the validation split (the folder has no test/ folder)"
    else:
        kept["test"] = kept["train"]
        record["test_split"] = "the training split (no validation or test images)"


def _load_classification_folder(folder, image_size, resize, channels, validation_split, seed, notes, record,
                                class_names=None):
    layout = _split_layout(folder)
    if layout is None:
        if _is_segmentation_folder(folder):
            raise ValueError(
                f"data folder {folder} holds images/ and masks/, a segmentation layout; train a segmenter "
                "(such as deeplab_aspp) on it, or give a folder of class subfolders to a classifier."
            )
        layout = {"all": folder}
    from .checks import check_classes_trainable, check_split_keeps_training

    names = list(class_names) if class_names is not None else None
    if names is not None:
        from .checks import match_class_names

        for split_folder in layout.values():
            match_class_names(_subfolders(split_folder), names, what="the model")
    files = {}
    for split in ("train", "validation", "test", "all"):
        if split in layout:
            split_names, paths, labels = _classification_files(layout[split], names)
            names = names or split_names
            files[split] = (paths, labels)
    check_classes_trainable(names, f"data folder {folder}")
    present = sorted({n for paths, labels in files.values() for n in (names[i] for i in set(labels))}, key=names.index)
    if len(present) < len(names):
        notes.append(f"the folder holds {len(present)} of the {len(names)} classes ({', '.join(present)})")
    _note_unused(folder, [p for paths, _ in files.values() for p in paths], notes, record)
    shapes, skipped = [], []
    kept = {}
    for split, (paths, labels) in files.items():
        ok_paths, ok_labels = [], []
        for path, label in zip(paths, labels):
            try:
                shape, _ = _probe(path)
            except ValueError as err:
                skipped.append(str(err))
                continue
            shapes.append(shape)
            ok_paths.append(path)
            ok_labels.append(label)
        if not ok_paths:
            raise ValueError(f"data folder {layout[split]} holds no readable image; every file failed to decode.")
        kept[split] = (ok_paths, np.asarray(ok_labels, np.int32))
    _warn_skipped(skipped)
    image_size = _choose_size(shapes, image_size, resize, notes)
    channels = _choose_channels(shapes, channels, notes)
    record["skipped"] = skipped
    make = lambda p, l: (lambda: _file_dataset(p, l, image_size, resize, channels))  # noqa: E731
    splits = {}
    if "all" in kept:
        paths, labels = kept.pop("all")
        tr, va = _stratified_split(labels, validation_split, seed)
        check_split_keeps_training(labels, labels[tr], names, validation_split, folder)
        kept["train"] = ([paths[i] for i in tr], labels[tr])
        if len(va):
            kept["validation"] = ([paths[i] for i in va], labels[va])
            kept["test"] = kept["validation"]
            record["test_split"] = "the validation split (the folder has no test/ folder)"
        else:
            kept["test"] = (paths, labels)
            record["test_split"] = "every image (validation_split=0 and no test/ folder)"
    else:
        if "validation" not in kept and "train" in kept and validation_split > 0:
            paths, labels = kept["train"]
            tr, va = _stratified_split(labels, validation_split, seed)
            check_split_keeps_training(labels, labels[tr], names, validation_split, layout["train"])
            kept["train"] = ([paths[i] for i in tr], labels[tr])
            if len(va):
                kept["validation"] = ([paths[i] for i in va], labels[va])
        _default_test(kept, record)
    for split, (paths, labels) in kept.items():
        splits[split] = _Split(make(paths, labels), len(paths), os.path.dirname(paths[0]) if paths else "")
    if "train" not in splits:  # an evaluation folder (test/ only): the test images serve every purpose
        splits["train"] = splits["test"]
    return "classification", names, (*image_size, channels), splits


def _read_class_names(folder):
    """``(names, ignore value)`` of ``folder/classes.txt``, or ``(None, None)`` without one."""
    from .masks import parse_class_lines

    path = os.path.join(folder, CLASS_NAMES_FILE)
    if not os.path.isfile(path):
        return None, None
    with open(path, encoding="utf-8") as f:
        return parse_class_lines(f, path)


def _segmentation_pairs(folder):
    images_dir, masks_dir = os.path.join(folder, "images"), os.path.join(folder, "masks")
    images = _list_images(images_dir)
    if not images:
        raise ValueError(f"segmentation folder {images_dir} holds no images ({', '.join(IMAGE_EXTENSIONS)}).")
    masks = {}
    for path in _list_images(masks_dir):
        stem = os.path.splitext(os.path.relpath(path, masks_dir))[0]
        masks[stem] = path
    pairs = []
    for path in images:
        stem = os.path.splitext(os.path.relpath(path, images_dir))[0]
        if stem not in masks:
            raise ValueError(
                f"image {path} has no mask (looked for {os.path.join(masks_dir, stem)}.png); every image needs a "
                "mask with the same file stem."
            )
        pairs.append((path, masks.pop(stem)))
    if masks:
        extra = sorted(masks.values())[0]
        raise ValueError(f"mask {extra} has no image of the same file stem in {images_dir}; remove it or add the image.")
    return pairs


def _segmentation_names(folder, layout, class_names, num_classes, ignore_index):
    """``(names or None, ignore value or None)`` from the arguments and the folders' ``classes.txt``."""
    names, ignore = (list(class_names), None) if class_names else (None, None)
    for where in (folder, *layout.values()):
        if names is None:
            names, ignore = _read_class_names(where)
    if ignore_index is not None and ignore is not None and ignore != ignore_index:
        raise ValueError(f"ignore_index={ignore_index} but {CLASS_NAMES_FILE} says 'ignore: {ignore}'; they must agree.")
    if names is not None and num_classes is not None and len(names) != num_classes:
        raise ValueError(f"{len(names)} class names but num_classes={num_classes}; they must agree.")
    return names, ignore_index if ignore_index is not None else ignore


def _load_segmentation_folder(folder, image_size, resize, channels, validation_split, seed, num_classes,
                              class_names, notes, record, ignore_index=None):
    from .checks import check_split_keeps_training
    from .masks import MaskRefusal, read_pair, value_table

    layout = _split_layout(folder)
    if layout is None:
        if not _is_segmentation_folder(folder):
            raise ValueError(
                f"segmentation folder {folder} needs an images/ and a masks/ folder (masks: PNGs of class ids with "
                f"the images' file stems, optional {CLASS_NAMES_FILE}); it has: "
                f"{', '.join(_subfolders(folder)) or 'no folders'}."
            )
        layout = {"all": folder}
    names, ignore = _segmentation_names(folder, layout, class_names, num_classes, ignore_index)
    limit = len(names) if names is not None else num_classes
    shapes, skipped, kept, values, used = [], [], {}, set(), []
    for split, split_folder in layout.items():
        ok = []
        for image_path, mask_path in _segmentation_pairs(split_folder):
            used += [image_path, mask_path]
            try:
                image_shape, found = read_pair(image_path, mask_path, limit, names, ignore, _probe)
            except MaskRefusal as err:
                raise ValueError(str(err)) from None
            except ValueError as err:
                skipped.append(str(err))
                continue
            values |= found
            shapes.append(image_shape)
            ok.append((image_path, mask_path))
        if not ok:
            raise ValueError(f"segmentation folder {split_folder} holds no readable image and mask pair.")
        kept[split] = ok
    _warn_skipped(skipped)
    record["skipped"] = skipped
    _note_unused(folder, used, notes, record)
    table, names, note = value_table(values, names=names, ignore_index=ignore, num_classes=num_classes,
                                     where=f"the masks in {folder}")
    if note:
        notes.append(note)
    record["ignore_index"] = ignore
    image_size = _choose_size(shapes, image_size, resize, notes)
    channels = _choose_channels(shapes, channels, notes)

    def make(pairs):
        return lambda: _file_dataset([p for p, _ in pairs], None, image_size, resize, channels,
                                     masks=[m for _, m in pairs], mask_table=table)

    if "all" in kept:
        pairs = kept.pop("all")
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(pairs))
        n_val = int(round(len(pairs) * validation_split))
        if validation_split > 0 and n_val == 0 and len(pairs) >= 2:
            n_val = 1
        check_split_keeps_training(np.zeros(len(pairs)), np.zeros(len(pairs) - n_val), None, validation_split, folder)
        kept["train"] = [pairs[i] for i in sorted(order[n_val:])]
        if n_val:
            kept["validation"] = [pairs[i] for i in sorted(order[:n_val])]
            kept["test"] = kept["validation"]
            record["test_split"] = "the validation split (the folder has no test/ folder)"
        else:
            kept["test"] = pairs
            record["test_split"] = "every image (validation_split=0 and no test/ folder)"
    else:
        if "validation" not in kept and "train" in kept and validation_split > 0:
            pairs = kept["train"]
            tr, va = _stratified_split(np.zeros(len(pairs)), validation_split, seed)
            check_split_keeps_training(np.zeros(len(pairs)), np.zeros(len(tr)), None, validation_split, layout["train"])
            kept["train"] = [pairs[i] for i in tr]
            if len(va):
                kept["validation"] = [pairs[i] for i in va]
        _default_test(kept, record)
    splits = {split: _Split(make(pairs), len(pairs), "") for split, pairs in kept.items()}
    if "train" not in splits:
        splits["train"] = splits["test"]
    return "segmentation", names, (*image_size, channels), splits


# ----------------------------------------------------------------------------- tfds


def tfds_data_dir(data_dir=None):
    """Where tensorflow-datasets data sets are looked for: ``data_dir``, ``$TFDS_DATA_DIR``,
    ``$KERASDIL_DATA_DIR``, else tensorflow-datasets' default (None)."""
    if data_dir:
        return os.path.abspath(os.path.expanduser(os.fspath(data_dir)))
    env = os.environ.get(TFDS_DATA_DIR_ENV, "").strip()
    if env:
        return os.path.abspath(os.path.expanduser(env))
    env = data_dir_from_env()
    return os.path.abspath(env) if env else None


def _load_tfds(spec, data_dir, image_size, resize, channels, validation_split, num_classes, class_names, notes,
               record, ignore_index=None):
    import tensorflow_datasets as tfds

    parts = spec[len(TFDS_PREFIX):].split(":")
    if not parts[0] or len(parts) > 2:
        raise ValueError(f"a tensorflow-datasets source is tfds:NAME or tfds:NAME:CONFIG; got {spec!r}.")
    name, config = parts[0], (parts[1] if len(parts) == 2 else None)
    if name == "mnist_scenes":
        from . import scenes_tfds  # noqa: F401  (registers the builder)
    directory = tfds_data_dir(data_dir)
    where = directory or "tensorflow-datasets' default folder (~/tensorflow_datasets)"
    try:
        builder = tfds.builder(name, config=config, data_dir=directory)
    except Exception as err:  # unknown name or config: tfds raises several types
        if config is not None and "config" in str(err).lower():
            try:
                known = ", ".join(c.name for c in tfds.builder_cls(name).BUILDER_CONFIGS) or "none"
            except Exception:  # noqa: BLE001  (a data set known only from its prepared files)
                known = "unknown"
            raise ValueError(f"tensorflow-datasets data set {name!r} has no config {config!r} (its configs: {known}).") \
                from None
        raise ValueError(
            f"tensorflow-datasets knows no data set {name!r} and none is prepared under {where} "
            f"({type(err).__name__}); check the name (tfds.list_builders())."
        ) from None
    if not builder.is_prepared():
        if name in _LOCAL_BUILDERS:
            stderr_notice(f"preparing tfds:{name}{':' + config if config else ''} in {where} from local MNIST "
                          "(nothing is downloaded)")
            builder.download_and_prepare()
        else:
            raise ValueError(
                f"tensorflow-datasets data set {name}{':' + config if config else ''} is not prepared under {where}; "
                f"kerasdil never downloads, so prepare it first (tfds build {name} --data_dir DIR) and pass "
                "--data-dir DIR or set $TFDS_DATA_DIR."
            )
    info = builder.info
    if not info.supervised_keys:
        raise ValueError(f"tensorflow-datasets data set {name} has no supervised (input, label) keys to train on.")
    image_key, label_key = info.supervised_keys[:2]
    image_feature, label_feature = info.features[image_key], info.features[label_key]
    label_shape = tuple(getattr(label_feature, "shape", ()) or ())
    task = "segmentation" if len(label_shape) >= 2 else "classification"
    shape = tuple(getattr(image_feature, "shape", ()) or ())
    if len(shape) != 3:
        raise ValueError(f"tensorflow-datasets data set {name}: {image_key!r} is not an image (shape {shape}).")
    if image_size is None:
        if None in shape[:2]:
            raise ValueError(f"images of tfds:{name} have no fixed size; pass image_size (--image-size H,W).")
        image_size = tuple(shape[:2])
    elif tuple(shape[:2]) != tuple(image_size):
        notes.append(f"images resized to {image_size[0]}x{image_size[1]} (resize={resize})")
    source_channels = shape[2] or 3
    if channels is None:
        channels = 1 if source_channels in (1, 2) else 3
    elif (channels == 1) != (source_channels in (1, 2)):
        notes.append(f"images converted from {source_channels} to {channels} channel(s)")
    if task == "classification":
        names = list(class_names or getattr(label_feature, "names", None) or [])
        num_classes = num_classes or len(names) or getattr(label_feature, "num_classes", None)
        if not num_classes:
            raise ValueError(f"tfds:{name}: {label_key!r} is not a class label; pass num_classes.")
        names = names or [str(i) for i in range(num_classes)]
    else:
        names = list(class_names or [])
        if not names and name == "mnist_scenes":
            from .scenes import SCENE_CLASS_NAMES

            names = list(SCENE_CLASS_NAMES)
        if not names and not num_classes:
            raise ValueError(f"tfds:{name} has masks without class names; pass num_classes.")
        names = names or [str(i) for i in range(num_classes)]
        num_classes = len(names)
    available = dict(info.splits)
    val_name = next((s for s in ("validation", "val") if s in available), None)
    plan = {}
    if "train" in available:
        if val_name is None and validation_split > 0:
            percent = int(round(validation_split * 100))
            plan["train"] = f"train[:{100 - percent}%]"
            plan["validation"] = f"train[{100 - percent}%:]"
        else:
            plan["train"] = "train"
    if val_name:
        plan["validation"] = val_name
    if "test" in available:
        plan["test"] = "test"
    elif "validation" in plan:
        plan["test"] = plan["validation"]
        record["test_split"] = f"the validation split ({plan['validation']}; the data set has no test split)"
    if not plan:
        raise ValueError(f"tfds:{name} has no train or test split (it has: {', '.join(available)}).")
    if "train" not in plan:
        plan["train"] = plan.get("test")
    table = None
    if ignore_index is not None and task == "segmentation":
        from .masks import IGNORED

        table = np.arange(256)
        table[ignore_index] = IGNORED
        notes.append(f"mask value {ignore_index} is ignored in training and scoring")
    preprocess = _preprocess_tensor(image_size, resize, channels, task, table)
    import tensorflow as tf

    def make(split):
        return lambda: builder.as_dataset(split=split, as_supervised=True, shuffle_files=False).map(
            preprocess, num_parallel_calls=tf.data.AUTOTUNE)

    splits = {}
    for split, tfds_split in plan.items():
        try:
            count = int(info.splits[tfds_split].num_examples)
        except Exception:  # noqa: BLE001  (a sliced split tfds cannot count)
            count = None
        splits[split] = _Split(make(tfds_split), count, tfds_split)
    record["tfds"] = {"name": name, "config": builder.builder_config.name if builder.builder_config else None,
                      "data_dir": builder.data_dir, "splits": plan}
    return task, names, (*image_size, channels), splits


# ----------------------------------------------------------------------------- arrays, tf.data


def _infer_task(label_rank_per_example):
    return "segmentation" if label_rank_per_example >= 2 else "classification"


def _in_memory_split(value, what):
    """``(x, y)`` arrays or a tf.data dataset -> (unbatched dataset, count, image shape, label rank, max label)."""
    import tensorflow as tf

    if isinstance(value, tf.data.Dataset):
        spec = value.element_spec
        if not isinstance(spec, tuple) or len(spec) != 2:
            raise ValueError(f"{what}: a tf.data dataset must yield (image, label) pairs; it yields {spec}.")
        x_spec, y_spec = spec
        if x_spec.shape.rank == 4:  # batched
            value = value.unbatch()
            x_spec, y_spec = value.element_spec
        if x_spec.shape.rank not in (2, 3):
            raise ValueError(f"{what}: images must be (H, W) or (H, W, C); the dataset yields {x_spec.shape}.")
        label_rank = y_spec.shape.rank
        count = int(value.cardinality())
        return value, (count if count >= 0 else None), tuple(x_spec.shape.as_list()), label_rank, None
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(
            f"{what} must be (x, y) arrays, a tf.data.Dataset of (image, label) pairs, a folder or 'tfds:NAME'; "
            f"got {type(value).__name__}."
        )
    x, y = np.asarray(value[0]), np.asarray(value[1])
    if x.ndim not in (3, 4) or x.shape[0] == 0:
        raise ValueError(f"{what}: images must be an array (N, H, W) or (N, H, W, C) with N >= 1; got shape {x.shape}.")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)) or x.dtype == np.bool_:
        raise ValueError(f"{what}: images must be numbers (uint8 0..255 or floats in [0, 1]); got dtype {x.dtype}.")
    if len(y) != len(x):
        raise ValueError(f"{what}: {len(x)} images but {len(y)} labels; they must match.")
    if not np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_:
        raise ValueError(f"{what}: labels must be integer class ids; got dtype {y.dtype}.")
    if y.ndim == 4 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.min() < 0:
        raise ValueError(f"{what}: labels must be class ids 0, 1, 2, ...; got {int(y.min())}.")
    if x.ndim == 3:
        x = x[..., None]
    if y.ndim == 3 and y.shape[1:] != x.shape[1:3]:
        raise ValueError(f"{what}: masks of {y.shape[1]}x{y.shape[2]} but images of {x.shape[1]}x{x.shape[2]}.")
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    return dataset, len(x), tuple(x.shape[1:]), y.ndim - 1, int(y.max())


def _load_in_memory(source, image_size, resize, channels, validation_split, seed, num_classes, class_names, notes,
                    record, ignore_index=None):
    import tensorflow as tf

    if isinstance(source, dict):
        unknown = set(source) - {"train", "validation", "test"}
        if unknown or "train" not in source:
            raise ValueError(f"a dict of splits needs a 'train' entry and may add 'validation' and 'test'; "
                             f"got {', '.join(sorted(source))}.")
        given = {k: v for k, v in source.items() if v is not None}
    else:
        given = {"train": source}
    parts = {split: _in_memory_split(value, f"data[{split!r}]" if isinstance(source, dict) else "data")
             for split, value in given.items()}
    ranks = {rank for _, _, _, rank, _ in parts.values()}
    if len(ranks) != 1:
        raise ValueError("the splits mix class labels and masks; give all of one kind.")
    task = _infer_task(ranks.pop())
    from .masks import array_mask_table

    mask_table = array_mask_table(given, class_names, num_classes, ignore_index, notes, record) \
        if task == "segmentation" else None
    if mask_table is not None:
        class_names, num_classes = mask_table[1], len(mask_table[1])
        parts = {k: (d, n, shape, rank, None) for k, (d, n, shape, rank, _) in parts.items()}  # checked by the table
    shape = parts["train"][2]
    if len(shape) == 2:
        shape = (*shape, 1)
    if image_size is None:
        if None in shape[:2]:
            raise ValueError("the dataset's images have no fixed size; pass image_size (height, width).")
        image_size = tuple(shape[:2])
    source_channels = shape[2] or 3
    if channels is None:
        channels = 1 if source_channels in (1, 2) else 3
    if num_classes is None and class_names:
        num_classes = len(class_names)
    if num_classes is None:
        tops = [top for _, _, _, _, top in parts.values()]
        if any(top is None for top in tops):
            # a tf.data source: one pass over its labels
            tops = []
            for dataset, _, _, _, _ in parts.values():
                tops.append(int(dataset.map(lambda x, y: tf.reduce_max(tf.cast(y, tf.int64))).reduce(
                    tf.constant(0, tf.int64), tf.maximum)))
            notes.append("the number of classes was counted from one pass over the labels")
        num_classes = max(tops) + 1
        if num_classes < 2:
            raise ValueError("the labels hold a single class; classification and segmentation need two or more.")
    for split, (_, _, _, _, top) in parts.items():
        if top is not None and top >= num_classes:
            raise ValueError(f"data[{split!r}] has label {top}, past the {num_classes} classes (0..{num_classes - 1}).")
    names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
    if len(names) != num_classes:
        raise ValueError(f"{len(names)} class names for {num_classes} classes; they must agree.")
    preprocess = _preprocess_tensor(image_size, resize, channels, task, mask_table and mask_table[0])
    splits = {}
    train_ds, train_count = parts["train"][0], parts["train"][1]
    if "validation" not in parts and validation_split > 0 and not isinstance(given["train"], tf.data.Dataset):
        x, y = np.asarray(given["train"][0]), np.asarray(given["train"][1])
        labels = y if task == "classification" else np.zeros(len(y), np.int64)
        tr, va = _stratified_split(labels.reshape(len(y), -1)[:, 0] if task == "classification" else labels,
                                   validation_split, seed)
        if len(va):
            parts["validation"] = (tf.data.Dataset.from_tensor_slices((x[va], y[va])), len(va), None, None, None)
            train_ds, train_count = tf.data.Dataset.from_tensor_slices((x[tr], y[tr])), len(tr)
    for split, (dataset, count, _, _, _) in parts.items():
        if split == "train":
            dataset, count = train_ds, train_count
        splits[split] = _Split((lambda d=dataset: d.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)), count, split)
    if "test" not in splits and "validation" in splits:
        splits["test"] = splits["validation"]
        record["test_split"] = "the validation split (no test data given)"
    elif "test" not in splits:
        splits["test"] = splits["train"]
        record["test_split"] = "the training data (no validation or test data given)"
    return task, names, (*image_size, channels), splits


def _describe_in_memory(source):
    def one(value):
        if isinstance(value, (tuple, list)) and len(value) == 2:
            x = np.asarray(value[0])
            return f"arrays x{tuple(x.shape)} {x.dtype}"
        return f"tf.data dataset {getattr(value, 'element_spec', '')}"

    if isinstance(source, dict):
        return "{" + ", ".join(f"{k}: {one(v)}" for k, v in source.items() if v is not None) + "}"
    return one(source)


# ----------------------------------------------------------------------------- entry point


def load_data(
    source,
    *,
    task=None,
    image_size=None,
    resize="pad",
    channels=None,
    validation_split=DEFAULT_VALIDATION_SPLIT,
    seed=0,
    data_dir=None,
    num_classes=None,
    class_names=None,
    ignore_index=None,
):
    """Resolve the user's data into a :class:`DataSpec` (see the module docstring for the sources).

    Args:
        source: a folder, ``"tfds:NAME[:CONFIG]"``, ``(x, y)`` arrays, a ``tf.data.Dataset``
            of ``(image, label)``, a dict ``{"train": ..., "validation": ..., "test": ...}``,
            or a :class:`DataSpec` (returned as is).
        task: "classification" or "segmentation"; default: what the data holds. A folder
            of the other kind is refused with a sentence that says so.
        image_size: (height, width) of the model input; default the data's (most common) size.
        resize: "pad", "crop" or "stretch": how images of another size are brought to it.
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

    Returns:
        :class:`DataSpec`.

    Raises:
        FileNotFoundError: a folder that does not exist.
        ValueError: anything wrong with the data, in one sentence that names the file or
            folder: no class folders or no images, a mask past the class count, an image
            without a mask, a tfds data set that is not prepared, images of another task, ...

    Example:
        >>> spec = load_data("scenes/", task="segmentation", image_size=(64, 80))
        >>> train = spec.dataset("train", batch_size=16)
    """
    if _series_source(source):  # time series: kerasdil.data.series
        from .series import load_series

        return load_series(source, task=task, validation_split=validation_split, seed=seed, num_classes=num_classes,
                           class_names=class_names)
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
        folder = os.path.abspath(os.path.expanduser(os.fspath(source)))
        label = folder
        if not os.path.exists(folder):
            raise FileNotFoundError(f"data folder {folder} does not exist.")
        if not os.path.isdir(folder):
            raise ValueError(f"--data {folder} is a file; give a folder of images, 'tfds:NAME', 'sample' or an .npz file.")
        layout = _split_layout(folder)
        probe = next(iter(layout.values())) if layout else folder
        segmentation = _is_segmentation_folder(probe)
        if task == "segmentation" and not segmentation:
            raise ValueError(
                f"a segmenter needs an images/ and a masks/ folder (masks: PNGs of class ids with the images' file "
                f"stems) in {probe}; it has: {', '.join(_subfolders(probe)) or 'no folders'}."
            )
        if segmentation and task != "classification":
            kind = "segmentation_folder"
            found = _load_segmentation_folder(folder, image_size, resize, channels, validation_split, seed,
                                              num_classes, class_names, notes, record, ignore_index)
        else:
            kind = "image_folder"
            found = _load_classification_folder(folder, image_size, resize, channels, validation_split, seed,
                                                notes, record, class_names)
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
    sizes = {k: v.count for k, v in splits.items()}
    shown = ("train", "validation") if record.get("test_split") else ("train", "validation", "test")
    counts = " / ".join(f"{sizes[s]:,} {s}" if sizes.get(s) is not None else f"? {s}" for s in shown if s in sizes)
    if record.get("test_split"):
        counts += f"; no test split: final scores are on {record['test_split'].split(' (')[0]}"
    h, w, c = input_shape
    description = (f"data: {label} ({found_task}, {len(names)} classes, {counts}; {h}x{w}x{c}, resize={resize})"
                   + "".join(f"; {n}" for n in notes))
    record.update(
        source=label, kind=kind, task=found_task, num_classes=len(names), class_names=list(names),
        input_shape=list(input_shape), image_size=[h, w], resize=resize, channels=c,
        validation_split=validation_split, seed=seed, splits=sizes, notes=notes,
    )
    record.setdefault("skipped", [])
    return DataSpec(found_task, len(names), list(names), tuple(input_shape), description, record, splits)


def write_data_record(spec, out_dir):
    """Write ``spec.record`` to ``out_dir/data.json`` (atomically); returns the path."""
    import json

    from kerasdil.io import write_text_atomic

    path = os.path.join(out_dir, "data.json")
    write_text_atomic(path, json.dumps(spec.record, indent=2, default=str))
    return path


__all__ = [
    "CLASS_NAMES_FILE",
    "DEFAULT_VALIDATION_SPLIT",
    "DataSpec",
    "IMAGE_EXTENSIONS",
    "RESIZE_POLICIES",
    "UserDataWarning",
    "is_user_data",
    "load_data",
    "tfds_data_dir",
    "write_data_record",
]
