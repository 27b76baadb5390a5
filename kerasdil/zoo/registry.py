"""The zoo registry: register_model, list_models, create_model, model_info.

After timm: every zoo entry is known by its record (``kerasdil/zoo/*_record.py``,
see :mod:`kerasdil.zoo.record`); ``create_model(name, **kwargs)`` imports and
calls its builder; ``list_models("mnist_*")`` filters with fnmatch patterns.
Pretrained weights live in ``kerasdil/zoo/weights`` as ``<model>-<tag>.npz``
with a ``<model>-<tag>.json`` card (sha256, builder config, recipe, metrics)
written by the tool that trained them, so the package ships them and they load
offline. The registry is plain Python: it imports a builder's module (and
TensorFlow) only when a model is built.
"""

import dataclasses
import fnmatch
import inspect

from kerasdil.zoo import baselines_record, mnist_record, segmentation_record
from kerasdil.zoo.record import (
    DEFAULT_FINETUNING_RECIPE,
    DEFAULT_TRAINING_RECIPE,
    PretrainedWeights,
    ZooRecord,
    find_pretrained,
    weights_dir,
)

__all__ = ["ModelInfo", "PretrainedWeights", "create_model", "list_models", "model_info", "register_model",
           "weights_dir"]

_REGISTRY = {}


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one zoo entry: its :class:`~kerasdil.zoo.record.ZooRecord`,
    with the input shape a caller may have changed (``dataclasses.replace``)."""

    name: str
    task: str
    family: str
    input_shape: tuple
    num_classes: int
    description: str
    record: ZooRecord

    @property
    def builder(self):
        """The builder function (its module is imported on first use)."""
        return self.record.load_builder()

    @property
    def default_config(self):
        """The builder's default arguments (without ``weights`` and ``name``)."""
        return {
            k: p.default
            for k, p in inspect.signature(self.builder).parameters.items()
            if p.default is not inspect.Parameter.empty and k not in ("weights", "name")
        }

    @property
    def pretrained(self):
        """Dict tag -> PretrainedWeights for the weights shipped with the package."""
        return find_pretrained(self.name)

    @property
    def training_recipe(self):
        """The training recipe (a copy, dict) of this entry."""
        return dict(self.record.training_recipe)

    @property
    def finetuning_recipe(self):
        """The fine-tuning recipe (a copy, dict) of this entry."""
        return dict(self.record.finetuning_recipe)


def _add(record):
    _REGISTRY[record.name] = ModelInfo(
        name=record.name, task=record.task, family=record.family, input_shape=record.input_shape,
        num_classes=record.num_classes, description=record.description, record=record,
    )


from kerasdil.zoo.series_dsdc import record as _series_dsdc_record  # noqa: E402  (until entries are discovered)

for _record in (*baselines_record.RECORDS, *mnist_record.RECORDS, *segmentation_record.RECORDS, *_series_dsdc_record.RECORDS):
    _add(_record)


def register_model(*, task, family, input_shape, num_classes, description="", training_recipe=None,
                   finetuning_recipe=None, backbone_layers=(), cost=None):
    """Decorator that adds a builder function to the zoo under its ``__name__``.

    The zoo's own entries are described by records (``kerasdil/zoo/*_record.py``);
    this decorator makes a record for a builder of yours.

    Args:
        task: "classification" or "segmentation".
        family: module family, e.g. "mnist", "segmentation", "baselines".
        input_shape: default input shape (H, W, C).
        num_classes: default number of classes.
        description: one line for ``kerasdil zoo list``; default the docstring's first line.
        training_recipe, finetuning_recipe, backbone_layers, cost: the rest of the
            record (see :class:`~kerasdil.zoo.record.ZooRecord`); the recipes default
            to ``kerasdil.train``'s and ``kerasdil.finetune``'s.

    Returns:
        The decorator; the builder itself is returned unchanged.

    Example:
        >>> @register_model(task="classification", family="mnist", input_shape=(28, 28, 1), num_classes=10)
        ... def my_net(input_shape=(28, 28, 1), num_classes=10, weights=None): ...
    """

    def decorator(fn):
        _add(ZooRecord(
            name=fn.__name__, builder=fn, task=task, family=family, input_shape=tuple(input_shape),
            num_classes=num_classes, description=description or (fn.__doc__ or "").strip().splitlines()[0],
            training_recipe=DEFAULT_TRAINING_RECIPE if training_recipe is None else training_recipe,
            finetuning_recipe=DEFAULT_FINETUNING_RECIPE if finetuning_recipe is None else finetuning_recipe,
            backbone_layers=backbone_layers, cost=cost,
        ))
        return fn

    return decorator


def list_models(pattern="*", *, task=None, pretrained=False):
    """Names of registered models matching an fnmatch ``pattern``, sorted.

    Args:
        pattern: e.g. "*", "mnist_*", "*aspp*".
        task: keep only "classification" or "segmentation" models.
        pretrained: keep only models that ship pretrained weights.

    Example:
        >>> list_models("mnist_*")
        ['mnist_conv', 'mnist_dsdc']
    """
    names = []
    for name, info in sorted(_REGISTRY.items()):
        if not fnmatch.fnmatch(name, pattern):
            continue
        if task is not None and info.task != task:
            continue
        if pretrained and not info.pretrained:
            continue
        names.append(name)
    return names


def model_info(name):
    """The ``ModelInfo`` of a registered model.

    Raises:
        ValueError: if ``name`` is not registered (the message lists what is).
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown zoo model {name!r}; registered models: {', '.join(sorted(_REGISTRY)) or 'none'}."
        ) from None


def create_model(name, **kwargs):
    """Build a registered model: ``create_model("mnist_dsdc", weights="mnist")``.

    A shipped weights tag is also a preset: the builder arguments recorded in its
    card (``model_info(name).pretrained[tag].config``) are used for every argument
    not given here, so ``create_model("mnist_dsdc:mnist_v1")`` builds the
    architecture those weights were trained with even where the builder's
    defaults have moved on.

    Args:
        name: a registered model name (see ``list_models()``); ``"name:tag"`` is
            short for ``create_model(name, weights=tag)``.
        **kwargs: passed to the builder.

    Returns:
        A ``keras.Model``.

    Raises:
        ValueError: unknown name, or arguments the builder rejects.
    """
    if ":" in name and "weights" not in kwargs:
        name, kwargs["weights"] = name.split(":", 1)
    info = model_info(name)
    params = inspect.signature(info.builder).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            import difflib

            hints = [f"{k!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(k, params, 1))
                     else repr(k) for k in unknown]
            raise ValueError(f"{name} does not take {', '.join(hints)}; its arguments are {', '.join(params)}.")
    weights = kwargs.get("weights")
    if isinstance(weights, str) and weights in info.pretrained:
        preset = {k: v for k, v in info.pretrained[weights].config.items() if k in params}
        kwargs = {**preset, **kwargs}
    return info.builder(**kwargs)


class UntrainedModelWarning(UserWarning):
    """A zoo name without a weights tag was used where a trained model is expected."""


def warn_if_untrained(spec, what="model"):
    """Warn when ``spec`` is a bare zoo name (``"mnist_dsdc"``, no ``:tag``) used where a
    trained model is expected (evaluate, export, a teacher, a fine-tuning source):
    such a model has random weights. Returns True when it warned."""
    import warnings

    if not isinstance(spec, str) or ":" in spec:  # callers have already sent file paths elsewhere
        return False
    try:
        info = model_info(spec)
    except ValueError:
        return False
    tags = ", ".join(f"{spec}:{t}" for t in info.pretrained) or "none shipped"
    warnings.warn(
        f"{what} {spec!r} names an architecture without weights, so it is randomly initialised; "
        f"pretrained weights: {tags}.", UntrainedModelWarning, stacklevel=3)
    return True
