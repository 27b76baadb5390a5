"""One record per zoo entry: what the library knows about it besides its layers.

After timm's default configs and keras-hub's presets, each zoo entry is one
folder ``kerasdil/zoo/<entry>/`` whose ``record.py`` (plain Python) defines
``RECORDS = (ZooRecord(...), ...)`` beside its builder (``model.py``): its task, input spec, the builder that makes it, its shipped weights
(tag, file, sha256, read from the cards in ``kerasdil/zoo/<entry>/weights``), its
training and fine-tuning recipes, the layers that form its backbone, and its
cost model (parameters and MACs computed without building it). ``train``,
``finetune``, ``tune``, ``export`` and the CLI read the record; nothing
restates it elsewhere.

Records are plain Python (no TensorFlow), so listing and describing the zoo and
planning a schedule search stay fast.

Example:
    >>> from kerasdil.zoo.registry import model_info
    >>> record = model_info("mnist_dsdc").record
    >>> record.training_recipe["epochs"], record.input_shape
    (50, (28, 28, 1))
"""

import dataclasses
import importlib
import json
import os
import types
from importlib import resources
from typing import Callable, Mapping, Optional, Tuple, Union


#: Names (prefixes) of the layers that make up a kerasdil backbone: the stem, the
#: pools and the DSDC stages of mnist_dsdc and deeplab_aspp (see kerasdil.finetune).
BACKBONE_LAYER_PREFIXES = ("stem", "pool", "stage")

#: The input a record defaults to, by task: ``(input_shape, num_classes)`` of the task's default
#: data. Classification: MNIST digits. Segmentation: MNIST scenes (background and ten digits) on
#: a 64 x 80 canvas: M2NIST's 64 x 84 divides only by 4 (84 = 4 * 21), so for output strides 8
#: and 16 the zoo uses 64 x 80, which divides by 16;
#: ``deeplab_aspp(input_shape=(64, 84, 1), output_stride=4)`` runs on the M2NIST size.
TASK_INPUTS = types.MappingProxyType({"classification": ((28, 28, 1), 10), "segmentation": ((64, 80, 1), 11)})
#: The training recipe of a model whose record gives none (``kerasdil.train``).
DEFAULT_TRAINING_RECIPE = types.MappingProxyType(
    dict(epochs=20, batch_size=64, learning_rate=1e-3, weight_decay=1e-4, augment=True, validation_size=5000))
#: The fine-tuning recipe of a model whose record gives none (``kerasdil.finetune``).
DEFAULT_FINETUNING_RECIPE = types.MappingProxyType(
    dict(head_epochs=1, epochs=4, batch_size=32, learning_rate=1e-3, finetune_learning_rate=1e-4,
         weight_decay=1e-4, augment=True))
#: How a run on the user's own data is sized (``kerasdil.run.size_schedule``), in place of the
#: MNIST recipe's epoch count: ``passes`` over the training images, at least ``min_steps``
#: optimizer steps; early stopping on the validation loss after ``patience`` (a share of
#: the epochs, at least ``min_patience`` epochs) without improvement, never before
#: ``min_steps``, best weights restored. tools/bench_user_data.py measures these defaults.
#: A fine-tune spends ``head_share`` of the steps on the new layers (backbone frozen) and the
#: rest on every layer at no less than ``finetune_learning_rate`` (mnist_dsdc's MNIST recipe uses
#: 1e-4, which leaves the long phase underfit on a few hundred photos). The batch is at most
#: ``max_batch_share`` of the training images (a power of two, at least 16), so small data still
#: gives many steps per epoch.
DEFAULT_DATA_RECIPE = types.MappingProxyType(
    dict(min_steps=3000, passes=30, patience=0.25, min_patience=8, head_share=0.2, max_batch_share=0.1,
         finetune_learning_rate=1e-3))


@dataclasses.dataclass(frozen=True)
class PretrainedWeights:
    """One set of shipped weights: where it is, what it is for, how it was made."""

    tag: str
    path: str
    sha256: str
    config: dict
    recipe: str = ""
    metrics: dict = dataclasses.field(default_factory=dict)


#: name -> the folder of the zoo entry that registers it (None for register_model's); the
#: registry fills it as it finds the entries (importing kerasdil.zoo runs it first).
ENTRY_FOLDERS = {}


def weights_dir(name=None):
    """The folder of the weights shipped for zoo entry ``name``: ``kerasdil/zoo/<entry>/weights``.

    Args:
        name: a registered model name. None (deprecated) gives the ``kerasdil/zoo``
            folder, under which each entry keeps its own ``weights`` folder.

    Returns:
        str: the folder (it may not exist when the entry ships no weights).

    Raises:
        ValueError: ``name`` is not registered.

    Example:
        >>> os.path.basename(weights_dir("mnist_dsdc"))
        'weights'
    """
    if name is None:
        import warnings

        warnings.warn("weights_dir() without a model name is deprecated: each zoo entry keeps its weights in "
                      "kerasdil/zoo/<entry>/weights; call weights_dir(name).", DeprecationWarning, stacklevel=2)
        return str(resources.files("kerasdil.zoo"))
    if name not in ENTRY_FOLDERS:
        raise ValueError(f"unknown zoo model {name!r}; registered models: {', '.join(sorted(ENTRY_FOLDERS))}.")
    folder = ENTRY_FOLDERS[name]
    if folder is None:
        raise ValueError(f"zoo model {name!r} was added with register_model: it has no folder and ships no weights.")
    return os.path.join(folder, "weights")


def find_pretrained(name, folder=None):
    """``{tag: PretrainedWeights}`` of the weights shipped for zoo model ``name``.

    Weights live in the entry's ``weights`` folder (:func:`weights_dir`) as
    ``<model>-<tag>.npz`` with a ``<model>-<tag>.json`` card (file, sha256,
    builder config, recipe, metrics) written by the tool that trained them.
    A model registered with ``register_model`` (no folder) ships none.
    """
    found = {}
    if folder is None:
        try:
            folder = weights_dir(name)
        except ValueError:
            return found
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


@dataclasses.dataclass(frozen=True, eq=False)
class ZooRecord:
    """Everything about one zoo entry that is not its layers.

    Attributes:
        name: the zoo name, e.g. "mnist_dsdc".
        builder: the builder function, or where it is as ``"module:function"``
            (imported only when a model is built, so reading records stays cheap);
            default ``"kerasdil.zoo.<name>.model:<name>"``, the function named like
            the model in the ``model.py`` of the entry folder named like it.
        task: the :mod:`kerasdil.tasks` task: "classification" (default) or "segmentation".
        family: module family, e.g. "mnist", "segmentation", "baselines".
        input_shape: the default input (H, W, C); data sets are made at this size.
        num_classes: the default number of classes. Both are the builder's
            defaults; a record that gives none has its task's (``TASK_INPUTS``).
        description: one line for ``kerasdil zoo list``.
        training_recipe: ``kerasdil.train``'s settings (epochs, batch_size,
            learning_rate, weight_decay, augment, validation_size); the shipped
            weights were trained with them (see the model card). A record states
            only the keys that differ from ``DEFAULT_TRAINING_RECIPE``; the other
            recipes likewise fill in their defaults.
        finetuning_recipe: ``kerasdil.finetune``'s settings (head_epochs, epochs,
            batch_size, learning_rate, finetune_learning_rate, weight_decay, augment).
        data_recipe: how runs on the user's own data are sized (``DEFAULT_DATA_RECIPE``'s
            keys: min_steps, passes, patience, min_patience, head_share, max_batch_share,
            finetune_learning_rate); MNIST runs
            keep ``training_recipe``.
        backbone_layers: name prefixes of the layers that form the backbone
            (frozen first when fine-tuning); empty when the model has none.
        cost: ``(schedule, width, input_shape, num_classes, **options) -> (params, macs)``
            without building the model, for the schedule search; None when the
            search does not cover the model. tests/test_tune*.py pin it against
            the built model.
        summary: ``(**builder arguments) -> (Tally, [LayerSpec]) or None``, plain
            Python: parameters, MACs and the receptive-field chain of the model
            the builder would make, from the stage plan the builder itself uses
            (``kerasdil zoo info`` prints them without TensorFlow); None when
            only the built model knows them. tests/test_zoo_plans.py pins it.
        search_families: where the entry's schedule-search families are, as
            ``"module:attribute"`` naming a sequence of dicts of
            :class:`kerasdil.tune.SearchFamily` fields (plain data, read by
            ``kerasdil.tune``); None when the entry is not searchable.
    """

    name: str
    builder: Union[str, Callable, None] = None
    task: str = "classification"
    family: str = ""
    input_shape: Optional[Tuple[int, ...]] = None
    num_classes: Optional[int] = None
    description: str = ""
    training_recipe: Mapping = dataclasses.field(default_factory=lambda: DEFAULT_TRAINING_RECIPE)
    finetuning_recipe: Mapping = dataclasses.field(default_factory=lambda: DEFAULT_FINETUNING_RECIPE)
    backbone_layers: Tuple[str, ...] = ()
    cost: Optional[Callable] = None
    summary: Optional[Callable] = None
    search_families: Optional[str] = None
    data_recipe: Mapping = dataclasses.field(default_factory=lambda: DEFAULT_DATA_RECIPE)

    def __post_init__(self):
        if self.input_shape is None or self.num_classes is None:
            if self.task not in TASK_INPUTS:
                raise ValueError(f"ZooRecord {self.name!r} of task {self.task!r} needs an input_shape and a num_classes "
                                 "(its builder's defaults).")
            shape, classes = TASK_INPUTS[self.task]
            object.__setattr__(self, "input_shape", shape if self.input_shape is None else self.input_shape)
            object.__setattr__(self, "num_classes", classes if self.num_classes is None else self.num_classes)
        if self.builder is None:
            object.__setattr__(self, "builder", f"{__package__}.{self.name}.model:{self.name}")
        # Read-only: a caller that wants to change a recipe takes a copy (train.recipe does). A record
        # states only what differs from the default recipes.
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        for field, default in (("training_recipe", DEFAULT_TRAINING_RECIPE),
                               ("finetuning_recipe", DEFAULT_FINETUNING_RECIPE), ("data_recipe", DEFAULT_DATA_RECIPE)):
            object.__setattr__(self, field, types.MappingProxyType({**default, **getattr(self, field)}))
        object.__setattr__(self, "backbone_layers", tuple(self.backbone_layers))

    @property
    def weights(self):
        """``{tag: PretrainedWeights}`` shipped for this entry (tag, file, sha256, config)."""
        return find_pretrained(self.name)

    def load_builder(self):
        """The builder function (imports its module the first time)."""
        return _load(self.builder)

    def load_search_families(self):
        """The entry's search families (a tuple; empty when it has none)."""
        return tuple(_load(self.search_families)) if self.search_families else ()


def _load(where):
    """``where`` itself if callable, else the attribute named by ``"module:attribute"``."""
    if not isinstance(where, str):
        return where
    module, _, attribute = where.partition(":")
    return getattr(importlib.import_module(module), attribute)
