"""Checks on the user's data and options that must fail before anything is allocated or written.

Each check raises one ``ValueError`` sentence that says what was wrong and what to do:

* :func:`check_limit` -- ``limit`` (``--limit``) is a positive integer;
* :func:`check_image_memory` -- an input size whose single images cannot fit in memory;
* :func:`check_model_memory` -- a model and batch size whose activations cannot fit in memory,
  estimated from the layers' output shapes before any batch is run;
* :func:`match_class_names` -- the classes of a data set matched to a model's by name;
* :func:`check_classes_trainable` -- training needs two classes or more;
* :func:`large_image_note` -- what a large input costs, and a smaller ``--image-size`` to try.

Nothing here imports TensorFlow at module level.

Example:
    >>> from kerasdil.data.checks import check_limit, match_class_names
    >>> check_limit(100)
    100
    >>> match_class_names(["cat", "dog"], ["cat", "dog", "fox"], what="model")
    ['cat', 'dog', 'fox']
"""

from __future__ import annotations

import os

import numpy as np

#: Bytes of one float32 value.
_FLOAT_BYTES = 4
#: An input above this many pixels gets a note on its cost (a 1024x1024 image).
LARGE_IMAGE_PIXELS = 1024 * 1024
#: Longest side of the image size suggested for large inputs.
SUGGESTED_SIDE = 512
#: Channels of the first layers of the zoo's models: the least a model holds per input pixel.
_FIRST_LAYER_CHANNELS = 16


def available_memory_bytes():
    """Memory the process can still allocate (``MemAvailable`` of ``/proc/meminfo``), or None when unknown.

    Example:
        >>> available_memory_bytes() > 0
        True
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(count):
    """``1536`` -> ``'1.5 KB'``; decimal units, one decimal."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} PB"


def check_limit(limit, flag="limit"):
    """Return ``limit`` when it is None or an integer >= 1; raise ValueError otherwise.

    Args:
        limit: the number of examples to keep, or None for all.
        flag: how the message names the option (``"--limit"`` on the command line).

    Returns:
        ``limit`` unchanged.

    Raises:
        ValueError: ``limit`` is 0, negative, a bool or not an integer.

    Example:
        >>> check_limit(None) is None
        True
    """
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise ValueError(f"{flag} must be an integer >= 1 (the number of images or series to use); got {limit!r}.")
    return int(limit)


def suggested_size(height, width, side=SUGGESTED_SIDE):
    """``(h, w)`` with the aspect ratio of ``height x width`` and the longest side ``side`` (multiples of 8)."""
    scale = side / max(height, width)
    return max(8, int(round(height * scale / 8)) * 8), max(8, int(round(width * scale / 8)) * 8)


def check_image_memory(input_shape, *, what="the images", available=None):
    """Refuse an input size whose images alone cannot fit in memory, before any is decoded.

    A model holds at least a few feature maps of ``_FIRST_LAYER_CHANNELS`` channels at the
    input's size for each image; when that exceeds the available memory for a single
    image, no batch size can train or run the model.

    Args:
        input_shape: ``(height, width, channels)``.
        what: how the message names the images.
        available: bytes available (default :func:`available_memory_bytes`).

    Raises:
        ValueError: the size cannot fit, with what one image costs and a size to try.

    Example:
        >>> check_image_memory((64, 64, 3))
    """
    height, width, channels = (int(v) for v in input_shape)
    available = available_memory_bytes() if available is None else available
    if available is None:
        return
    per_image = height * width * max(channels, _FIRST_LAYER_CHANNELS) * _FLOAT_BYTES * 2
    if per_image > available:
        h, w = suggested_size(height, width)
        raise ValueError(
            f"{what} are {height}x{width}x{channels}: a model's first layers alone take about "
            f"{format_bytes(per_image)} per image, more than the {format_bytes(available)} of memory available; "
            f"choose a smaller size (image_size, --image-size {h},{w})."
        )


def large_image_note(height, width):
    """A note on what a large input costs and a smaller size to try, or None for ordinary sizes.

    Example:
        >>> large_image_note(3000, 4000)[:40]
        'images are 3000x4000 (12.0 megapixels): '
    """
    if height * width <= LARGE_IMAGE_PIXELS:
        return None
    h, w = suggested_size(height, width)
    cost = height * width * _FIRST_LAYER_CHANNELS * _FLOAT_BYTES
    return (f"images are {height}x{width} ({height * width / 1e6:.1f} megapixels): the model is built at that size, "
            f"and each of its full-size feature maps takes {format_bytes(cost)} or more per image; "
            f"pass image_size (--image-size {h},{w}) to train faster at a smaller size")


def _layer_output_elements(layer):
    """Elements per example of the outputs of ``layer`` and, for nested models, of their layers."""
    total, largest = 0, 0
    subs = getattr(layer, "layers", None) or ()
    for sub in subs:
        sub_total, sub_largest = _layer_output_elements(sub)
        total += sub_total
        largest = max(largest, sub_largest)
    if subs:  # a nested model: its outputs are its last layers' outputs, counted above
        return total, largest
    try:
        outputs = layer.output
    except (AttributeError, ValueError):  # a layer never called symbolically
        return total, largest
    for tensor in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
        shape = getattr(tensor, "shape", None)
        if shape is None or any(d is None for d in tuple(shape)[1:]):
            continue
        elements = int(np.prod(tuple(shape)[1:], dtype=np.int64))
        total += elements
        largest = max(largest, elements)
    return total, largest


def estimate_model_bytes(model, batch_size, *, training):
    """Estimated peak memory of one batch through ``model``, from its layers' output shapes.

    Training keeps every layer's output for the backward pass and a gradient of each
    (about three times their sum); inference holds a few of the largest outputs at once.

    Args:
        model: a built ``keras.Model`` with a fixed input size.
        batch_size: examples per batch.
        training: estimate a training step (True) or a prediction (False).

    Returns:
        Bytes, as an int.

    Example:
        >>> estimate_model_bytes(model, 32, training=True)
    """
    total, largest = _layer_output_elements(model)
    per_example = (3 * total if training else 4 * largest) * _FLOAT_BYTES
    return int(per_example) * int(batch_size)


def check_model_memory(model, batch_size, *, training, available=None, batch_flag="--batch-size",
                       size_flag="--image-size"):
    """Refuse a model and batch size whose activations cannot fit in memory, before any batch runs.

    Args:
        model: a built ``keras.Model``.
        batch_size: examples per batch.
        training: a training step (True) or a prediction (False).
        available: bytes available (default :func:`available_memory_bytes`).
        batch_flag, size_flag: how the message names the batch-size and input-size options.

    Raises:
        ValueError: the estimate exceeds the available memory; the message gives the
            estimate, the largest batch that fits (if any) and a smaller input size.

    Example:
        >>> check_model_memory(model, 32, training=True)
    """
    available = available_memory_bytes() if available is None else available
    if available is None:
        return
    need = estimate_model_bytes(model, batch_size, training=training)
    if need <= available:
        return
    per_example = max(need // max(int(batch_size), 1), 1)
    fits = int(available // per_example)
    height, width = (tuple(model.input_shape)[1:3] + (None, None))[:2]
    size = ""
    if height and width:
        h, w = suggested_size(height, width)
        size = f"a smaller input ({size_flag} {h},{w})" if h * w < height * width else ""
    advice = [f"{batch_flag} {fits}" if fits >= 1 else "", size]
    advice = " or ".join(a for a in advice if a) or "a smaller model"
    shape = "x".join(str(d) for d in tuple(model.input_shape)[1:])
    raise ValueError(
        f"{'training' if training else 'running'} {model.name!r} on {shape} inputs in batches of {batch_size} needs "
        f"about {format_bytes(need)} ({format_bytes(per_example)} per {example_noun(tuple(model.input_shape)[1:], False)}), more than the "
        f"{format_bytes(available)} of memory available; use {advice}."
    )


def check_classes_trainable(class_names, source="the data"):
    """Training needs two classes or more: raise ValueError naming the one class found.

    Example:
        >>> check_classes_trainable(["cat", "dog"])
    """
    if len(class_names) < 2:
        found = f"only the class {class_names[0]!r}" if class_names else "no class"
        raise ValueError(
            f"{source} holds {found}; a model needs two classes or more to learn to tell them apart "
            "(add a folder of images for each other class)."
        )


def match_class_names(data_names, model_names, *, what="the model"):
    """The class names to read a data set with so that its classes are the model's, matched by name.

    Args:
        data_names: the data's class names (folder names, ``classes.txt``).
        model_names: the classes the model predicts, in the order of its outputs.
        what: how the message names the model.

    Returns:
        ``model_names`` as a list: every data class is one of them (a data set may hold
        fewer classes than the model).

    Raises:
        ValueError: a data class the model does not know, with both lists.

    Example:
        >>> match_class_names(["1", "0"], ["0", "1", "2"])
        ['0', '1', '2']
    """
    model_names = [str(n) for n in model_names]
    unknown = [str(n) for n in data_names if str(n) not in model_names]
    if unknown:
        raise ValueError(
            f"the data's classes ({', '.join(map(str, data_names))}) are not all classes of {what} "
            f"({', '.join(model_names)}): {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} unknown to it; "
            "classes are matched by name, so rename the folders (or classes.txt) to the model's class names."
        )
    return model_names


# The checks the CLI and the run engine make on a user's data: importable, not a surface of their own.
__all__ = []


def check_split_keeps_training(all_labels, train_labels, class_names, validation_split, where):
    """Refuse a validation split that holds back every training image of a class (or of all classes).

    Args:
        all_labels: class ids before the split (for segmentation, zeros: one group).
        train_labels: class ids left for training.
        class_names: names of the class ids (None for segmentation).
        validation_split: the share held back, for the message.
        where: the folder or data set, for the message.

    Raises:
        ValueError: a class (or the whole data) left without training images.

    Example:
        >>> check_split_keeps_training([0, 0, 1, 1], [0, 1], ["a", "b"], 0.5, "data/")
    """
    all_labels, train_labels = np.asarray(all_labels), np.asarray(train_labels)
    if len(train_labels) == 0:
        raise ValueError(
            f"validation_split={validation_split:g} holds back all {len(all_labels)} images of {where}, leaving none "
            "to train on; lower it (--validation-split 0.2) or add images."
        )
    lost = [c for c in np.unique(all_labels) if not np.any(train_labels == c)]
    if lost and class_names is not None:
        counts = ", ".join(f"{class_names[c]!r} ({int(np.sum(all_labels == c))} images)" for c in lost[:5])
        raise ValueError(
            f"validation_split={validation_split:g} holds back every image of class {counts} in {where}, leaving "
            "none to train on; lower it (--validation-split 0.2) or add images of that class."
        )


def readable_error(err):
    """TensorFlow's error text without its internal ``{{function_node ...}}`` prefix and ``[Op:...]`` suffix.

    Example:
        >>> readable_error(ValueError("{{function_node __wrapped__DecodeImage}} Unknown image file format. [Op:DecodeImage]"))
        'Unknown image file format'
    """
    import re

    text = str(getattr(err, "message", None) or err).strip()
    text = re.sub(r"\{\{[^}]*\}\}", "", text)
    text = re.sub(r"\[Op:[^\]]*\]", "", text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else type(err).__name__
    return first.split(". One of ")[0].rstrip(". ")


def unused_files(folder, used, known_names=("classes.txt",)):
    """Files under ``folder`` (hidden ones aside) that are neither in ``used`` nor named in ``known_names``, sorted.

    Example:
        >>> unused_files("flowers/", used=set(paths))
        ['flowers/notes.txt']
    """
    used = {os.path.abspath(p) for p in used}
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = os.path.abspath(os.path.join(root, name))
            if not name.startswith(".") and name not in known_names and path not in used:
                found.append(path)
    return found


def unused_files_note(folder, used, extensions):
    """A note naming the files of ``folder`` that were not read (None when every file was), for the data line."""
    unused = unused_files(folder, used)
    if not unused:
        return None, []
    shown = ", ".join(os.path.relpath(p, folder) for p in unused[:3]) + (f" and {len(unused) - 3} more"
                                                                       if len(unused) > 3 else "")
    return (f"{len(unused)} file(s) left out, not images in the folder layout ({'/'.join(extensions)} in class "
            f"folders or images/ and masks/): {shown}"), unused


def check_class_names_agree(spec, model_names, what="the model"):
    """Refuse data whose class names (folders, ``classes.txt``) differ from a model's, listing both.

    Numbered names (``"0"``, ``"1"``, ... as a segmentation folder without ``classes.txt``
    gets) stand for class ids and agree with any names of the same count.

    Example:
        >>> check_class_names_agree(spec, ["background", "cat"], "model run/model.keras")
    """
    if model_names is None:
        return
    names = [str(n) for n in spec.class_names]
    numbered = names == [str(i) for i in range(len(names))]
    if names != [str(n) for n in model_names] and not (numbered and len(names) == len(model_names)):
        raise ValueError(
            f"the data's classes ({', '.join(names)}) differ from the classes of {what} "
            f"({', '.join(map(str, model_names))}); classes are matched by name, never by position, so name "
            "the data's classes (folders, classes.txt) as the model's."
        )


def example_noun(input_shape, plural=True):
    """What one example of a model input ``input_shape`` (without the batch) is called: series for
    ``(steps, channels)``, images otherwise.

    Example:
        >>> example_noun((150, 1)), example_noun((28, 28, 1), plural=False)
        ('series', 'image')
    """
    if len(tuple(input_shape)) == 2:
        return "series"
    return "images" if plural else "image"


def describe_limit(sizes, limit, flag="--limit", noun="images"):
    """What ``limit`` keeps of each split, for the data line ("" without a limit).

    Args:
        sizes: ``{split: number of examples}`` before the limit (None where unknown).
        limit: the limit, or None.
        noun: what the examples are ("images", "series").

    Example:
        >>> describe_limit({"train": 2000, "validation": 200, "test": 500}, 50)
        '; --limit 50 keeps 50 of 2,000 train and 50 of 500 test images'
    """
    if limit is None:
        return ""
    kept = [f"{min(limit, n):,} of {n:,} {split}" if n is not None else f"at most {limit:,} {split}"
            for split, n in sizes.items() if split in ("train", "test")]
    return f"; {flag} {limit} keeps {' and '.join(kept)} {noun}" if kept else ""
