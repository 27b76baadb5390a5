"""The data of a search: MNIST images, MNIST scenes or the user's own data, and the input shape.

Re-exported by :mod:`kerasdil.tune.tuners`.
"""

from __future__ import annotations


def _load_data(data, limit, validation_size, batch_size, seed, augment, log):
    from kerasdil.data import load_mnist_arrays, mnist

    arrays = load_mnist_arrays(data)
    log(arrays.describe())
    n_train = arrays.num_train
    if validation_size is None:
        validation_size = 5000 if n_train >= 20000 else max(1, n_train // 5)
    train = mnist("train", source=arrays, batch_size=batch_size, validation_size=validation_size, limit=limit,
                  seed=seed, augment=augment)
    val_limit = None if limit is None else max(1, min(validation_size, limit // 4 or 1))
    val = mnist("validation", source=arrays, batch_size=batch_size, validation_size=validation_size, limit=val_limit)
    # The third value: how many images score each trial (what the report's sampling-noise floor needs).
    return train, val, validation_size if val_limit is None else min(validation_size, val_limit)


def _check_scenes(scenes, family, input_shape):
    """``search(scenes=...)`` checked by ``SceneConfig`` at the search's canvas, as JSON-ready values, or None."""
    if scenes is None:
        return None
    if family.task != "segmentation":
        raise ValueError(f"scenes= applies to segmenters (deeplab_aspp) only, not {family.name}.")
    from kerasdil.data.scenes import SceneConfig

    fields = [f for f in SceneConfig.__dataclass_fields__ if f != "canvas_size"]
    if not isinstance(scenes, dict) or set(scenes) - set(fields):
        raise ValueError(f"scenes= must be a dict of {', '.join(fields)} (the canvas is input_shape), got {scenes!r}.")
    pairs = {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in scenes.items()}
    config = SceneConfig(canvas_size=tuple(input_shape[:2]), **pairs).as_dict()  # one sentence for a bad value
    return {k: config[k] for k in scenes} or None


def _load_scenes(info, input_shape, data, limit, validation_size, batch_size, seed, augment, log, scenes=None):
    """Train and validation MNIST-scenes pipelines at the search's input size, from the segmentation task
    (``scenes``: SceneConfig fields such as ``scale_range``)."""
    from kerasdil.tasks import get_task

    task = get_task(info.task)
    kwargs = {} if validation_size is None else {"validation_size": validation_size}
    kwargs.update({key: tuple(value) for key, value in (scenes or {}).items()})
    # num_test=1: the task also builds a test split, which the search never reads.
    train, val, _, text = task.datasets(info, batch_size=batch_size, source=data, augment=augment, limit=limit,
                                        seed=seed, num_test=1, canvas_size=tuple(input_shape[:2]), **kwargs)
    log(text.replace(" / 1 test scenes", " scenes") + " (the test split is not used)")
    if val is None:
        raise ValueError("the search needs validation scenes for its objective; give validation_size= of 1 or more.")
    return train, val


def _user_data(data, data_options, family, info, input_shape, seed):
    """The user's data for a search (``kerasdil.data.pipeline.resolve_data``), or None for MNIST sources."""
    from kerasdil.data.pipeline import resolve_data
    from kerasdil.data.sources import is_user_data

    options = dict(data_options or {})
    if is_user_data(data) and input_shape is not None and info.family != "series":  # images take the size
        options.setdefault("image_size", tuple(input_shape)[:2])
        if len(tuple(input_shape)) == 3:
            options.setdefault("channels", tuple(input_shape)[2])
    plan = resolve_data(data, info=info, data_options=options, seed=seed, task=family.task)
    return plan if plan.is_user_data else None


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}= must be a positive int, got {value!r}.")


def _input_shape(model, info, family, input_shape):
    """The search's input shape: the zoo entry's, or another one a segmenter takes."""
    default = tuple(info.input_shape)
    if input_shape is None:
        return default
    shape = tuple(input_shape)
    if len(shape) == 2:
        shape = shape + default[2:]
    if len(shape) != 3 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape):
        raise ValueError(f"input_shape must be (height, width[, channels]) of positive ints, got {input_shape!r}.")
    if shape != default and family.task != "segmentation":
        raise ValueError(f"{model} is searched at its own input size {default[0]}x{default[1]} (MNIST images); "
                         "only segmenters take another input size.")
    if shape[2] != default[2]:
        raise ValueError(f"{model} takes {default[2]} input channel(s) (MNIST scenes), got {shape[2]}.")
    return shape
