"""The zoo registry: register_model, list_models, create_model, model_info.

After timm: every zoo entry is one folder ``kerasdil/zoo/<entry>/`` whose
``record`` module (plain Python) defines ``RECORDS``; the registry finds the
entries by walking kerasdil.zoo's subpackages, so adding a model adds a folder
and edits nothing else. ``create_model(name, **kwargs)`` imports and calls its
builder; ``list_models("mnist_*")`` filters with fnmatch patterns. Pretrained
weights live in the entry's ``weights`` folder as ``<model>-<tag>.npz`` with a
``<model>-<tag>.json`` card (sha256, builder config, recipe, metrics) written
by the tool that trained them, so the package ships them and they load
offline. The registry is plain Python: it imports a builder's module (and
TensorFlow) only when a model is built.
"""

import ast
import dataclasses
import fnmatch
import importlib
import importlib.util
import inspect
import os
import pkgutil

from kerasdil.zoo.record import (
    ENTRY_FOLDERS,
    PretrainedWeights,
    ZooRecord,
    find_pretrained,
    weights_dir,
)


_REGISTRY = {}
_FOLDERS = ENTRY_FOLDERS  # name -> its entry's folder (None for register_model's)


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
        """The builder's default arguments (without ``weights`` and ``name``).

        Read from the builder's source without importing it (so without
        TensorFlow) when its defaults are literals or names imported from the
        entry's own plain-Python modules; otherwise from the imported builder.
        """
        defaults = _declared_defaults(self.record.builder)
        if defaults is None:
            defaults = {k: p.default for k, p in inspect.signature(self.builder).parameters.items()
                        if p.default is not inspect.Parameter.empty}
        return {k: v for k, v in defaults.items() if k not in ("weights", "name")}

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


def _declared_defaults(builder):
    """The defaults of ``builder`` ("module:function") read from its source, or None.

    A default may be a literal or an expression over names that the builder's
    module imports from its own entry's modules (``plan``, ``record``: plain
    Python, imported here); anything else gives None.
    """
    if not isinstance(builder, str):
        return None
    module, _, function = builder.partition(":")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    entry = module.rpartition(".")[0]
    namespace = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(entry + "."):
            imported = importlib.import_module(node.module)
            namespace.update({a.asname or a.name: getattr(imported, a.name) for a in node.names})
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
    if not found:
        return None
    args = found[0].args
    pairs = list(zip(args.args[len(args.args) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    try:
        return {a.arg: eval(compile(ast.Expression(d), spec.origin, "eval"), {"__builtins__": {}}, dict(namespace))
                for a, d in pairs}
    except Exception:  # a default this reading cannot evaluate: the caller imports the builder
        return None


def _add(record, folder=None):
    if folder is not None and _FOLDERS.get(record.name) is not None:
        raise ValueError(f"zoo model {record.name!r} is registered twice (in {_FOLDERS[record.name]} and {folder}); every name belongs to one entry.")
    _REGISTRY[record.name] = ModelInfo(
        name=record.name, task=record.task, family=record.family, input_shape=record.input_shape,
        num_classes=record.num_classes, description=record.description, record=record,
    )
    _FOLDERS[record.name] = folder


def entry_packages():
    """The zoo entries: ``{package name: folder}`` of kerasdil.zoo's subpackages that have a ``record`` module."""
    zoo_folder = os.path.dirname(os.path.abspath(__file__))
    found = {}
    for module in pkgutil.iter_modules([zoo_folder]):
        if not module.ispkg:
            continue
        package = f"{__package__}.{module.name}"
        if importlib.util.find_spec(f"{package}.record") is not None:
            found[package] = os.path.join(zoo_folder, module.name)
    return found


def _discover():
    for package, folder in sorted(entry_packages().items()):
        records = getattr(importlib.import_module(f"{package}.record"), "RECORDS", None)
        if not isinstance(records, (tuple, list)) or not all(isinstance(r, ZooRecord) for r in records):
            raise TypeError(f"{package}.record must define RECORDS, a tuple of kerasdil.zoo.record.ZooRecord.")
        for record in records:
            _add(record, folder)


def entry_folder(name):
    """The folder of the zoo entry that registers ``name`` (None for a model added with register_model).

    Raises:
        ValueError: ``name`` is not registered.
    """
    model_info(name)
    return _FOLDERS[name]


def builder_names():
    """``{builder function name: "module:function"}`` of every entry whose builder is named by a string.

    This is what ``from kerasdil.zoo import <builder>`` imports lazily.
    """
    names = {}
    for info in _REGISTRY.values():
        if isinstance(info.record.builder, str):
            names[info.record.builder.partition(":")[2]] = info.record.builder
    return names


_discover()


def register_model(*, task, family, input_shape, num_classes, description="", training_recipe=None,
                   finetuning_recipe=None, backbone_layers=(), cost=None):
    """Decorator that adds a builder function to the zoo under its ``__name__``.

    The zoo's own entries are folders with a record (``kerasdil/zoo/<entry>/record.py``);
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
            training_recipe=training_recipe or {}, finetuning_recipe=finetuning_recipe or {},
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
