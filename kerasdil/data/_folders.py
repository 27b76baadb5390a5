"""Image folders (class subfolders) and segmentation folders (images/ + masks/) as data sources."""

from __future__ import annotations

import collections
import os
import warnings

import numpy as np

from ._spec import CLASS_NAMES_FILE, IMAGE_EXTENSIONS, SPLIT_FOLDERS, UserDataWarning, _resize_fn, _Split


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


def _load_folder(source, task, image_size, resize, channels, validation_split, seed, num_classes, class_names, notes,
                 record, ignore_index):
    """An image folder or a segmentation folder: ``(kind, label, found)`` for :func:`kerasdil.data.sources.load_data`."""
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
    return kind, label, found
