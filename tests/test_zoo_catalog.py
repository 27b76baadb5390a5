"""kerasdil._zoo_catalog, what `kerasdil zoo list / info` print without TensorFlow, agrees
with the registry and with the models the builders make."""

import pytest

from kerasdil import _zoo_catalog
from kerasdil.receptive import receptive_field_of_model
from kerasdil.zoo import create_model, list_models, model_info
from kerasdil.zoo.stats import model_stats


def test_catalog_lists_exactly_the_registered_models():
    assert sorted(_zoo_catalog.ENTRIES) == list_models()


@pytest.mark.parametrize("name", sorted(_zoo_catalog.ENTRIES))
def test_catalog_entry_matches_the_registry_and_the_built_model(name):
    entry = _zoo_catalog.ENTRIES[name]
    info = model_info(name)
    registry = dict(task=info.task, family=info.family, input_shape=info.input_shape,
                    num_classes=info.num_classes, description=info.description, default_config=info.default_config)
    assert {k: entry[k] for k in registry} == registry
    model = create_model(name)
    stats = model_stats(model)
    rf = receptive_field_of_model(model)
    built = dict(params=stats["params"], trainable_params=stats["trainable_params"], macs=stats["macs"],
                 receptive_field=tuple(rf.size), stride=tuple(rf.stride), holes=rf.holes)
    assert {k: entry[k] for k in built} == built
    shipped = {tag: (w.path, w.sha256, w.recipe, w.metrics) for tag, w in info.pretrained.items()}
    cards = {tag: (c["path"], c["sha256"], c.get("recipe", ""), c.get("metrics", {}))
             for tag, c in _zoo_catalog.pretrained(name).items()}
    assert cards == shipped
