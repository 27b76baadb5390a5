"""numpy arrays, ``tf.data`` datasets and dicts of splits of them as a data source."""

from __future__ import annotations

import numpy as np

from ._folders import _stratified_split
from ._spec import _preprocess_tensor, _Split


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
