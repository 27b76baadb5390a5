"""tensorflow-datasets data sets already prepared on disk (``tfds:NAME[:CONFIG]``) as a data source."""

from __future__ import annotations

import os

import numpy as np

from ._common import data_dir_from_env, stderr_notice
from ._spec import _LOCAL_BUILDERS, TFDS_DATA_DIR_ENV, TFDS_PREFIX, _preprocess_tensor, _Split


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


def _tfds_builder(spec, data_dir):
    """The prepared tfds builder of ``tfds:NAME[:CONFIG]`` (kerasdil's own builders are prepared here), and its name."""
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
    return builder, name


def _tfds_class_names(name, task, label_key, label_feature, num_classes, class_names):
    """The class names of a tfds data set: given, from its label feature, or ``0..num_classes-1``."""
    if task == "classification":
        names = list(class_names or getattr(label_feature, "names", None) or [])
        num_classes = num_classes or len(names) or getattr(label_feature, "num_classes", None)
        if not num_classes:
            raise ValueError(f"tfds:{name}: {label_key!r} is not a class label; pass num_classes.")
        return names or [str(i) for i in range(num_classes)]
    names = list(class_names or [])
    if not names and name == "mnist_scenes":
        from .scenes import SCENE_CLASS_NAMES

        names = list(SCENE_CLASS_NAMES)
    if not names and not num_classes:
        raise ValueError(f"tfds:{name} has masks without class names; pass num_classes.")
    return names or [str(i) for i in range(num_classes)]


def _tfds_split_plan(name, info, validation_split, record):
    """Which tfds split (or slice of one) serves as train, validation and test."""
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
    return plan


def _load_tfds(spec, data_dir, image_size, resize, channels, validation_split, num_classes, class_names, notes,
               record, ignore_index=None):
    builder, name = _tfds_builder(spec, data_dir)
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
    names = _tfds_class_names(name, task, label_key, label_feature, num_classes, class_names)
    plan = _tfds_split_plan(name, info, validation_split, record)
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
