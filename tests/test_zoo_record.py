"""kerasdil.zoo.record: one record per zoo entry, read by train, finetune, tune and the CLI."""

import inspect
import os
import subprocess
import sys

import pytest

from kerasdil.zoo import list_models, model_info
from kerasdil.zoo.record import BACKBONE_LAYER_PREFIXES, DEFAULT_FINETUNING_RECIPE, ZooRecord

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAINING_KEYS = {"epochs", "batch_size", "learning_rate", "weight_decay", "augment", "validation_size"}
#: Keys a recipe may add: label smoothing, and the function that sizes it by the user's data.
OPTIONAL_TRAINING_KEYS = {"label_smoothing"}
FINETUNING_KEYS = set(DEFAULT_FINETUNING_RECIPE)


@pytest.mark.parametrize("name", list_models())
def test_every_entry_has_a_complete_record_that_matches_its_builder(name):
    info = model_info(name)
    record = info.record
    assert isinstance(record, ZooRecord) and record.name == name
    assert (info.task, info.input_shape, info.num_classes) == (record.task, record.input_shape, record.num_classes)
    assert record.task in ("classification", "segmentation")
    assert TRAINING_KEYS <= set(record.training_recipe) <= TRAINING_KEYS | OPTIONAL_TRAINING_KEYS
    assert set(record.finetuning_recipe) == FINETUNING_KEYS
    builder = record.load_builder()
    assert builder.__name__ == name
    defaults = inspect.signature(builder).parameters
    # The builder's defaults are the record's input spec.
    assert tuple(defaults["input_shape"].default) == record.input_shape
    assert defaults["num_classes"].default == record.num_classes
    for tag, weights in record.weights.items():
        assert os.path.isfile(weights.path) and len(weights.sha256) == 64, tag


def test_records_are_read_only():
    record = model_info("mnist_dsdc").record
    with pytest.raises(TypeError):
        record.training_recipe["epochs"] = 1
    with pytest.raises(AttributeError):
        record.task = "segmentation"


def test_train_and_finetune_read_their_recipes_from_the_records():
    from kerasdil.finetune import FINETUNE_RECIPES, finetune_recipe
    from kerasdil.train import RECIPES, recipe

    for name in list_models():
        record = model_info(name).record
        assert RECIPES[name] == dict(record.training_recipe)
        assert recipe(name) == dict(record.training_recipe)
        assert finetune_recipe(name) == dict(record.finetuning_recipe)
    assert set(FINETUNE_RECIPES) == {"deeplab_aspp", "series_dsdc"}
    mine = recipe("mnist_dsdc")
    mine["epochs"] = 1  # a copy: the record is untouched
    assert model_info("mnist_dsdc").record.training_recipe["epochs"] != 1
    with pytest.raises(TypeError):
        RECIPES["mnist_dsdc"] = {}


def test_the_search_reads_its_cost_model_and_defaults_from_the_records():
    from kerasdil.tune.constraints import DEEPLAB_ASPP, MNIST_DSDC
    from kerasdil.zoo.deeplab_aspp import plan

    deeplab = model_info("deeplab_aspp").record
    assert MNIST_DSDC.cost is model_info("mnist_dsdc").record.cost
    assert DEEPLAB_ASPP.cost is deeplab.cost
    assert (DEEPLAB_ASPP.input_shape, DEEPLAB_ASPP.num_classes, DEEPLAB_ASPP.task) == (
        deeplab.input_shape, deeplab.num_classes, deeplab.task)
    assert dict(DEEPLAB_ASPP.default_options)["aspp_rates"] == plan.ASPP_RATES_AT_OS8


def test_backbone_layer_prefixes_are_defined_once():
    from kerasdil import finetune
    from kerasdil.zoo.deeplab_aspp import record

    assert finetune.BACKBONE_LAYER_PREFIXES is BACKBONE_LAYER_PREFIXES
    assert record.BACKBONE_LAYER_PREFIXES is BACKBONE_LAYER_PREFIXES
    assert model_info("deeplab_aspp").record.backbone_layers == BACKBONE_LAYER_PREFIXES


def test_the_tasks_live_outside_the_zoo():
    from kerasdil.tasks import SegmentationTask, get_task

    assert get_task("segmentation").__class__ is SegmentationTask
    assert SegmentationTask.__module__ == "kerasdil.tasks"


def test_reading_the_records_imports_no_tensorflow():
    code = (
        "import sys\n"
        "from kerasdil.zoo import list_models, model_info\n"
        "from kerasdil.tune.constraints import DEEPLAB_ASPP\n"
        "import kerasdil.train, kerasdil.finetune\n"
        "records = [model_info(n).record for n in list_models()]\n"
        "assert len(records) == 8, records\n"
        "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_register_model_still_adds_a_builder_of_yours():
    from kerasdil.zoo import create_model, register_model
    from kerasdil.zoo.registry import _REGISTRY

    @register_model(task="classification", family="test", input_shape=(4, 4, 1), num_classes=2)
    def tiny_test_model(input_shape=(4, 4, 1), num_classes=2, weights=None, name="tiny_test_model"):
        """A stand-in builder."""
        return ("built", input_shape, num_classes)

    try:
        assert "tiny_test_model" in list_models("tiny_*")
        info = model_info("tiny_test_model")
        assert info.description == "A stand-in builder." and info.builder is tiny_test_model
        assert info.default_config == {"input_shape": (4, 4, 1), "num_classes": 2}
        assert create_model("tiny_test_model", num_classes=3) == ("built", (4, 4, 1), 3)
    finally:
        _REGISTRY.pop("tiny_test_model", None)


def test_a_record_states_only_what_differs_from_the_defaults():
    from kerasdil.zoo.record import DEFAULT_TRAINING_RECIPE, TASK_INPUTS

    record = ZooRecord(name="mnist_dsdc", family="mnist", training_recipe=dict(epochs=3))
    assert record.builder == "kerasdil.zoo.mnist_dsdc.model:mnist_dsdc" and record.task == "classification"
    assert (record.input_shape, record.num_classes) == TASK_INPUTS["classification"]
    assert dict(record.training_recipe) == {**DEFAULT_TRAINING_RECIPE, "epochs": 3}
    assert dict(record.finetuning_recipe) == dict(DEFAULT_FINETUNING_RECIPE)
    segmenter = ZooRecord(name="x", task="segmentation")
    assert (segmenter.input_shape, segmenter.num_classes) == TASK_INPUTS["segmentation"]
    with pytest.raises(ValueError, match="needs an input_shape"):
        ZooRecord(name="x", task="detection")
