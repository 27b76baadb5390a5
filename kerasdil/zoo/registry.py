"""The zoo registry: register_model, list_models, create_model, model_info.

After timm: a builder function is registered under its name with a small config
record; ``create_model(name, **kwargs)`` calls it; ``list_models("mnist_*")`` filters
with fnmatch patterns. Pretrained weights live in ``kerasdil/zoo/weights`` as
``<model>-<tag>.npz`` with a ``<model>-<tag>.json`` card (sha256, builder config,
recipe, metrics) written by the tool that trained them, so the package ships them
and they load offline.
"""

import dataclasses
import fnmatch
import json
import os
from importlib import resources

_REGISTRY = {}


@dataclasses.dataclass(frozen=True)
class PretrainedWeights:
    """One set of shipped weights: where it is, what it is for, how it was made."""

    tag: str
    path: str
    sha256: str
    config: dict
    recipe: str = ""
    metrics: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one zoo entry."""

    name: str
    builder: object
    task: str
    family: str
    input_shape: tuple
    num_classes: int
    description: str
    default_config: dict

    @property
    def pretrained(self):
        """Dict tag -> PretrainedWeights for the weights shipped with the package."""
        return _find_pretrained(self.name)


def weights_dir():
    """Directory of the weights shipped inside the installed package."""
    return str(resources.files("kerasdil.zoo") / "weights")


def _find_pretrained(name):
    found = {}
    folder = weights_dir()
    if not os.path.isdir(folder):
        return found
    for fname in sorted(os.listdir(folder)):
        if fname.startswith(name + "-") and fname.endswith(".json"):
            tag = fname[len(name) + 1 : -len(".json")]
            with open(os.path.join(folder, fname)) as f:
                card = json.load(f)
            found[tag] = PretrainedWeights(
                tag=tag,
                path=os.path.join(folder, card["file"]),
                sha256=card["sha256"],
                config=card.get("config", {}),
                recipe=card.get("recipe", ""),
                metrics=card.get("metrics", {}),
            )
    return found


def register_model(*, task, family, input_shape, num_classes, description=""):
    """Decorator that adds a builder function to the zoo under its ``__name__``.

    Args:
        task: "classification" or "segmentation".
        family: module family, e.g. "mnist", "segmentation", "baselines".
        input_shape: default input shape (H, W, C).
        num_classes: default number of classes.
        description: one line for ``kerasdil zoo list``.

    Returns:
        The decorator; the builder itself is returned unchanged.

    Example:
        >>> @register_model(task="classification", family="mnist", input_shape=(28, 28, 1), num_classes=10)
        ... def my_net(input_shape=(28, 28, 1), num_classes=10, weights=None): ...
    """

    def decorator(fn):
        import inspect

        defaults = {
            k: p.default
            for k, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty and k not in ("weights", "name")
        }
        _REGISTRY[fn.__name__] = ModelInfo(
            name=fn.__name__,
            builder=fn,
            task=task,
            family=family,
            input_shape=tuple(input_shape),
            num_classes=num_classes,
            description=description or (fn.__doc__ or "").strip().splitlines()[0],
            default_config=defaults,
        )
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
    import inspect

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
