"""One entry point for a run's data, whatever its source.

:func:`resolve_data` takes what ``train``, ``finetune`` and ``tune`` take as
``data`` (MNIST as ``kerasdil.data`` reads it, MNIST scenes for segmenters, or the
user's own data as :func:`kerasdil.data.sources.load_data` reads it: image folders,
mask folders, ``"tfds:NAME"``, arrays, a ``tf.data.Dataset``) and returns a
:class:`DataPlan`: what the model must be built for, what a run records about the
data, and :meth:`DataPlan.pipelines`, the ``(train, validation, test)`` pipelines
with a one-line description. The run engine asks the plan; it never asks which
kind of source it has.

Example:
    >>> from kerasdil.data.pipeline import resolve_data
    >>> from kerasdil.tasks import get_task
    >>> from kerasdil.zoo import model_info
    >>> info = model_info("mnist_dsdc")
    >>> plan = resolve_data("path/to/folder", info=info)
    >>> parts = plan.pipelines(get_task(info.task), info, batch_size=32)
    >>> print(parts.description)
"""

import collections
import dataclasses

#: A run's data: three batched ``tf.data`` pipelines (validation / test may be None) and one line about them.
Pipelines = collections.namedtuple("Pipelines", ["train", "validation", "test", "description"])


def data_info_for(info, model_kwargs):
    """``info`` (a zoo ``ModelInfo``) with the ``input_shape`` that ``model_kwargs`` ask for.

    The task's data sets are made at ``info.input_shape`` (for segmentation,
    the scene canvas), so a model built for another size gets data of its size.

    Raises:
        ValueError: a malformed ``input_shape``.
    """
    shape = (model_kwargs or {}).get("input_shape")
    if shape is None:
        return info
    if (
        isinstance(shape, (str, bytes))
        or not hasattr(shape, "__len__")
        or len(shape) != len(info.input_shape)
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
    ):
        raise ValueError(
            f"{info.name}: `input_shape` must be {len(info.input_shape)} known positive sizes like "
            f"{tuple(info.input_shape)} (the data are made at that size), got {shape!r}."
        )
    return dataclasses.replace(info, input_shape=tuple(shape))


class DataPlan:
    """A run's data source, resolved: the MNIST family (``spec`` None) or the user's data (a ``DataSpec``).

    Attributes:
        source: the ``data`` argument as given.
        spec: the user's ``kerasdil.data.sources.DataSpec``, or None for MNIST and MNIST scenes.
        options: the user data's ``load_data`` options as given (recorded in run.json).
    """

    def __init__(self, source, spec=None, options=None):
        self.source, self.spec, self.options = source, spec, dict(options or {})

    @property
    def is_user_data(self):
        """True for the user's own data (recipes are then sized by it)."""
        return self.spec is not None

    @property
    def class_names(self):
        """The data's class names, or None for MNIST (the task's own names)."""
        return self.spec.class_names if self.spec is not None else None

    @property
    def noun(self):
        """What the examples are called in messages: "series" for time series, else "images"."""
        from kerasdil.data.checks import example_noun

        return example_noun(self.spec.input_shape) if self.spec is not None else "images"

    @property
    def num_train(self):
        """Training examples of the user's data (None for MNIST: the recipe's epochs apply)."""
        return self.spec.sizes().get("train") if self.spec is not None else None

    @property
    def num_validation(self):
        """Validation examples of the user's data (None for MNIST or when unknown)."""
        return self.spec.sizes().get("validation") if self.spec is not None else None

    def model_kwargs(self, info, model_kwargs):
        """``model_kwargs`` with the data's ``input_shape`` and ``num_classes``.

        Raises:
            ValueError: ``model_kwargs`` contradict the data.
        """
        kwargs = dict(model_kwargs or {})
        if self.spec is None:
            return kwargs
        for key, value in (("input_shape", list(self.spec.input_shape)), ("num_classes", self.spec.num_classes)):
            given = kwargs.get(key)
            if given is not None and (list(given) if key == "input_shape" else given) != value:
                raise ValueError(
                    f"{info.name}: model_kwargs {key}={given!r} but the data gives {value!r}; drop it from "
                    "model_kwargs, or bring the data to it (image_size, channels)."
                )
            kwargs[key] = tuple(value) if key == "input_shape" else value
        if self.spec.record.get("validity_channel"):  # padded series: the model reads the mask, not the padding
            import inspect

            if "validity_channel" not in inspect.signature(info.builder).parameters:
                raise ValueError(f"{info.name} does not mask padded series; bring them to one length with "
                                 "unequal='resample' (--series-unequal resample).")
            kwargs["validity_channel"] = True
        return kwargs

    def augment(self, task_name, augment):
        """The augmentation a run gets: a segmentation recipe's augmentation is new MNIST scenes
        every epoch, which the user's masks do not have."""
        return False if self.spec is not None and task_name == "segmentation" else augment

    def describe(self):
        """What run.json records for the data: the argument, or the user data's source line."""
        if self.source is None:
            return None
        if self.spec is not None:
            return self.spec.record["source"]  # an absolute folder path, so evaluate finds it from anywhere
        return str(self.source)

    def record_options(self):
        """``{"data_options": ...}`` for run.json with the user's data, else ``{}`` (old runs resume unchanged)."""
        return {"data_options": dict(self.options)} if self.spec is not None else {}

    def write_record(self, out_dir):
        """Write ``data.json`` (what was read and how) into ``out_dir`` for the user's data."""
        if self.spec is not None:
            from kerasdil.data.sources import write_data_record

            write_data_record(self.spec, out_dir)

    def pipelines(self, task, info, *, batch_size, augment=False, limit=None, seed=0, validation_size=5000,
                  **dataset_kwargs):
        """The run's :data:`Pipelines`.

        Args:
            task: the ``kerasdil.tasks`` task of the model.
            info: the zoo ``ModelInfo`` (with the ``input_shape`` the model is built for).
            batch_size, augment, limit, seed: as ``train`` takes them.
            validation_size: MNIST: training images held out for validation.
            **dataset_kwargs: MNIST scenes: the task's ``datasets`` options (``canvas_size``, ``jitter``, ...).
        """
        if self.spec is None:
            return Pipelines(*task.datasets(info, batch_size=batch_size, source=self.source, augment=augment,
                                            limit=limit, seed=seed, validation_size=validation_size,
                                            **dataset_kwargs))
        from kerasdil.data.checks import describe_limit  # what --limit keeps, on the data line

        spec = self.spec
        return Pipelines(spec.dataset("train", batch_size=batch_size, augment=augment, limit=limit, seed=seed),
                         spec.dataset("validation", batch_size=batch_size, shuffle=False),
                         spec.dataset("test", batch_size=batch_size, shuffle=False, limit=limit),
                         spec.description + describe_limit(spec.sizes(), limit, noun=self.noun))


def resolve_data(data, *, info, model_kwargs=None, data_options=None, seed=0, task=None):
    """The :class:`DataPlan` of ``data`` for zoo model ``info``, checked before anything is written.

    Args:
        data: MNIST as ``kerasdil.data`` takes it ("sample", an .npz file, a folder holding
            mnist.npz, None), or the user's data as ``kerasdil.data.sources.load_data``
            takes it (folders, "tfds:NAME[:CONFIG]", arrays, a ``tf.data.Dataset``, a ``DataSpec``).
        info: the zoo ``ModelInfo`` of the model the data is for; for a series entry
            (``family="series"``) arrays and datasets are read as time series
            (``kerasdil.data.series.load_series``).
        model_kwargs: builder arguments; an ``input_shape`` sets the image size and channels
            the user's data is brought to, unless ``data_options`` name them.
        data_options: ``load_data``'s options for the user's data.
        seed: the validation split's seed.
        task: the task name; default ``info.task``.

    Returns:
        :class:`DataPlan`.

    Raises:
        ValueError: data options given for MNIST, or data ``load_data`` refuses.
    """
    from kerasdil.data.sources import is_user_data, load_data

    if not is_user_data(data):
        if data_options:
            raise ValueError(
                f"data options ({', '.join(sorted(data_options))}) apply to your own data (an image folder, "
                "'tfds:NAME', arrays); MNIST sources take none."
            )
        return DataPlan(data)
    options = dict(data_options or {})
    shape = (model_kwargs or {}).get("input_shape")
    series = info.family == "series"  # arrays and datasets for a series model are series, not images
    if shape is not None and len(shape) == 3 and not series:
        options.setdefault("image_size", tuple(shape[:2]))
        options.setdefault("channels", shape[2])
    options.setdefault("seed", seed)
    return DataPlan(data, load_data(data, task=task or info.task, series=series, **options), data_options)
