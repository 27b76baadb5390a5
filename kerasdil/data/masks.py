"""Segmentation masks read as their files store them, and the table that turns stored values into classes.

A mask PNG is read with Pillow in its own mode, so the class id a file holds is the
class id kerasdil trains on: a 1-bit PNG holding 1 reads as 1 (TensorFlow's PNG
decoder scales it to 255), a palette PNG reads as its palette indices (TensorFlow
returns the palette colours), 8-bit grayscale as it is.

:func:`value_table` maps stored values to training labels: class ids stay, the ignore
value (``ignore_index``, or ``classes.txt``'s ``ignore: 255`` line) becomes -1, which
the segmentation loss, metrics and scores leave out, and masks that hold only 0 and
255 are binary (255 is class 1).

Example:
    >>> from kerasdil.data.masks import read_mask, value_table
    >>> mask = read_mask("masks/0001.png")          # (H, W) uint8 class ids
    >>> table, names, note = value_table({0, 255}, names=None, ignore_index=None, num_classes=None)
    >>> table[255], names
    (1, ['0', '1'])
"""

from __future__ import annotations

import os

import numpy as np

#: Label of a pixel left out of the loss and the scores.
IGNORED = -1
#: The line of ``classes.txt`` that names the ignore value (``ignore: 255``).
IGNORE_KEY = "ignore"


class MaskFormatError(ValueError):
    """A mask file readable but not a mask of class ids (16-bit, colour)."""


def read_mask(path):
    """The class ids a mask file stores, as a ``(H, W)`` uint8 array.

    Args:
        path: a PNG (1-bit, palette, 8-bit grayscale; an RGB(A) file whose channels are equal).

    Returns:
        ``(H, W)`` uint8.

    Raises:
        ValueError: a file Pillow cannot read, a 16-bit mask, or a colour mask, naming the file.

    Example:
        >>> read_mask("masks/0001.png").shape
        (96, 96)
    """
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    try:
        with Image.open(path) as image:
            mode = image.mode
            array = np.array(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"mask {path} cannot be decoded ({str(err).splitlines()[0] if str(err) else type(err).__name__})") \
            from None
    if mode.startswith("I") or array.dtype.itemsize > 1 and mode not in ("1", "P"):
        raise MaskFormatError(f"mask {path} is a 16-bit PNG; save masks as 8-bit PNGs of class ids 0..255.")
    if mode == "1":
        array = array.astype(np.uint8)  # booleans: the bit the file stores, not 255
    if array.ndim == 3:
        channels = array[..., :3] if array.shape[-1] >= 3 else array[..., :1]
        if not all(np.array_equal(channels[..., 0], channels[..., i]) for i in range(channels.shape[-1])):
            raise MaskFormatError(
                f"mask {path} is a colour image; save each mask as a single-channel PNG whose pixel values are "
                "class ids (0, 1, 2, ...), not a colour palette."
            )
        array = channels[..., 0]
    return np.ascontiguousarray(array, dtype=np.uint8)


def parse_class_lines(lines, path):
    """``(names, ignore value or None)`` from the lines of a ``classes.txt``.

    A line ``ignore: V`` (V in 0..255) names the mask value left out of training and
    scoring; every other non-empty line is a class name, class 0 first.

    Raises:
        ValueError: a bad ignore line, an empty file, or a name given twice.

    Example:
        >>> parse_class_lines(["background", "cat", "ignore: 255"], "classes.txt")
        (['background', 'cat'], 255)
    """
    names, ignore = [], None
    for line in (text.strip() for text in lines):
        if not line:
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == IGNORE_KEY:
            if not value.strip().isdigit() or int(value) > 255:
                raise ValueError(f"class-names file {path} has {line!r}; write the ignored mask value as "
                                 "'ignore: 255' (a value 0..255).")
            ignore = int(value)
            continue
        names.append(line)
    if not names:
        raise ValueError(f"class-names file {path} is empty; write one class name per line (class 0 first).")
    if len(set(names)) != len(names):
        raise ValueError(f"class-names file {path} names a class twice; every line must be a different name.")
    return names, ignore


def check_ignore_index(ignore_index):
    """Return ``ignore_index`` when None or a mask value 0..255; raise ValueError otherwise."""
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)) \
            or not 0 <= ignore_index <= 255:
        raise ValueError(f"ignore_index must be a mask value 0..255 (such as 255); got {ignore_index!r}.")
    return int(ignore_index)


def value_table(values, *, names, ignore_index, num_classes, where="the masks"):
    """How stored mask values become training labels.

    Args:
        values: the set of values the masks hold.
        names: class names (``classes.txt`` or given), or None.
        ignore_index: the value left out of training and scoring, or None.
        num_classes: the class count when given, or None.
        where: the folder, for messages.

    Returns:
        ``(table, names, note)``: an int32 array of 256 labels (-1 for the ignored value),
        the class names, and a note for the data line (or None).

    Raises:
        ValueError: a value past the classes, or 255 among other values with no class
            list and no ignore index (255 as a class would make 254 empty classes).

    Example:
        >>> value_table({0, 1, 2}, names=None, ignore_index=None, num_classes=None)[1]
        ['0', '1', '2']
    """
    values = sorted(int(v) for v in values)
    classes = [v for v in values if v != ignore_index]
    table = np.arange(256, dtype=np.int32)
    note = None
    if ignore_index is not None:
        table[ignore_index] = IGNORED
    count = len(names) if names is not None else num_classes
    if count is None and classes and set(classes) <= {0, 255} and 255 in classes:
        table[255] = 1
        return table, ["0", "1"], (f"binary masks: {where} hold only 0 and 255, read as classes 0 and 1 "
                                   "(add classes.txt to name them)")
    if count is not None and classes and max(classes) >= count:
        raise ValueError(
            f"{where} hold the value {max(classes)}, past the {count} classes (ids 0..{count - 1}); fix the masks or "
            f"the class count{', or name the ignored value (ignore_index)' if max(classes) == 255 else ''}."
        )
    if count is None:
        top = max(classes, default=0)
        if top >= 128 and top not in (ignore_index,) and len(classes) <= top // 2:
            raise ValueError(
                f"{where} hold the values {', '.join(map(str, values[:8]))}{' ...' if len(values) > 8 else ''}: "
                f"as class ids that would be {top + 1} classes, {top + 1 - len(classes)} of them never seen. "
                f"If {top} marks pixels to leave out, pass ignore_index={top} (--ignore-index {top}) or add "
                f"'ignore: {top}' to classes.txt; if every value is a class, list the classes in classes.txt."
            )
        count = top + 1
        if count < 2:
            raise ValueError(f"{where} hold only class 0; segmentation needs at least two classes.")
        names = [str(i) for i in range(count)]
        absent = sorted(set(range(count)) - set(classes))
        note = (f"{count} classes from the largest mask value"
                + (f" (ids {', '.join(map(str, absent[:6]))} never appear)" if absent else "")
                + " (add classes.txt to name them)")
    if ignore_index is not None:
        ignored = "present" if ignore_index in values else "absent from the masks"
        note = "; ".join(filter(None, [note, f"mask value {ignore_index} is ignored in training and scoring "
                                              f"({ignored})"]))
    return table, list(names), note


def mask_reader(table):
    """A tf function ``path -> (H, W, 1) float32 labels``: the file's stored values through ``table``."""
    import tensorflow as tf

    lookup = tf.constant(table, tf.int32)

    def read(path):
        m = tf.numpy_function(lambda p: read_mask(p.decode()), [path], tf.uint8, stateful=False)
        m = tf.gather(lookup, tf.cast(tf.ensure_shape(m, (None, None)), tf.int32))
        return tf.cast(m[..., None], tf.float32)

    return read


def read_pair(image_path, mask_path, limit, names, ignore, probe):
    """``(image shape, values of the mask)`` of one image and mask pair of a segmentation folder.

    Args:
        limit: the class count (None: not yet known); ``names``: the class names or None;
        ignore: the ignored mask value or None; probe: ``path -> (shape, image)`` decoding an image.

    Raises:
        ValueError: a file to skip (undecodable, not a PNG), naming it.
        MaskRefusal: a mask that refuses the whole folder (colour, 16-bit, wrong size, past the classes).
    """
    image_shape, _ = probe(image_path)
    if not mask_path.lower().endswith(".png"):
        raise ValueError(f"mask {mask_path} is not a PNG (masks must be lossless PNGs of class ids)")
    try:
        mask = read_mask(mask_path)
    except MaskFormatError as err:
        raise MaskRefusal(str(err)) from None
    if image_shape[:2] != mask.shape:
        raise MaskRefusal(
            f"image {image_path} is {image_shape[0]}x{image_shape[1]} but its mask {mask_path} is "
            f"{mask.shape[0]}x{mask.shape[1]}; a mask must be the size of its image."
        )
    values = set(np.unique(mask).tolist()) - {ignore}
    top = max(values, default=0)
    if limit is not None and top >= limit:
        source = f"classes.txt lists {limit}" if names is not None else f"num_classes={limit}"
        raise MaskRefusal(
            f"mask {mask_path} has class id {top}, past the {limit} classes ({source}, ids 0..{limit - 1}); "
            "fix the mask or the class count" + (", or name the ignored value (--ignore-index)." if top == 255 else ".")
        )
    return image_shape, values | ({ignore} & set(np.unique(mask).tolist()))


class MaskRefusal(Exception):
    """A mask that refuses the whole folder (not one file to skip); the message is the sentence to raise."""


def array_mask_table(given, class_names, num_classes, ignore_index, notes, record):
    """``(table, names)`` for segmentation masks given as numpy arrays (binary 0/255, ignore value), or None."""
    values = set()
    for value in given.values():
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            return None  # a tf.data source: its values are not known without a pass
        values |= set(np.unique(np.asarray(value[1])).tolist())
    if ignore_index is None and max(values, default=0) < 255 and not (values <= {0, 255}):
        return None
    table, names, note = value_table(values, names=list(class_names) if class_names else None,
                                     ignore_index=ignore_index, num_classes=num_classes, where="the masks")
    if note:
        notes.append(note)
    record["ignore_index"] = ignore_index
    return table, names


# How load_data reads mask files: importable, not a surface of its own (load_data is).
__all__ = []
