"""What `kerasdil zoo list / info` print without TensorFlow (the entries' records and stage plans)
agrees with the builders and with the models they build."""

import inspect
import subprocess
import sys

import pytest

from kerasdil._cli.zoo import describe
from kerasdil.receptive import receptive_field, receptive_field_of_model
from kerasdil.zoo import create_model, list_models, model_info
from kerasdil.zoo.stats import model_stats


def _built(model):
    stats, rf = model_stats(model), receptive_field_of_model(model)
    return dict(params=stats["params"], trainable_params=stats["trainable_params"], macs=stats["macs"],
                receptive_field=tuple(rf.size), stride=tuple(int(s) for s in rf.stride), holes=rf.holes)


@pytest.mark.parametrize("name", list_models())
def test_default_config_read_from_source_equals_the_builder_signature(name):
    info = model_info(name)
    signature = {k: p.default for k, p in inspect.signature(info.builder).parameters.items()
                 if p.default is not inspect.Parameter.empty and k not in ("weights", "name")}
    from kerasdil.zoo.registry import _declared_defaults

    assert _declared_defaults(info.record.builder) is not None  # read without importing the builder
    assert info.default_config == signature


@pytest.mark.parametrize("name", [n for n in list_models() if model_info(n).record.summary])
def test_planned_counts_and_receptive_field_equal_the_built_default_model(name):
    assert describe(name) == _built(create_model(name))


@pytest.mark.parametrize("name, config", [
    ("mnist_dsdc", dict(stem="pool", width=18, dilation_schedule=((1, 2, 5), (1, 2, 3)), stage_filters=None)),
    ("mnist_dsdc", dict(stem="space_to_depth", width=16, batchnorm=False, include_top=False)),
    ("mnist_conv", dict(stem="strided", width=8, batchnorm=False)),
    ("deeplab_aspp", dict(output_stride=16, decoder=False, aspp_rates=(1, 2))),
    ("deeplab_aspp", dict(output_stride=4, backbone_classes=None, width=8, decoder_filters=16)),
    ("deeplab_aspp", dict(stem="strided", width=16, dilation_schedule=((), (1, 2), (1, 2, 3), (1, 2)),
                          stage_filters=(16, 32, 64, 64), aspp_filters=32, decoder="light")),
    ("unet_baseline", dict(input_shape=(32, 48, 3), num_classes=5, filters=(8, 16))),
    ("lraspp_mobilenetv3", dict(input_shape=(96, 112, 3), num_classes=5, alpha=0.75, head_filters=32)),
])
def test_planned_counts_follow_the_builder_arguments(name, config):
    info = model_info(name)
    tally, specs = info.record.summary(**{**info.default_config, **config})
    rf = receptive_field(specs)
    planned = dict(params=tally.params, trainable_params=tally.trainable, macs=tally.macs,
                   receptive_field=tuple(rf.size), stride=tuple(int(s) for s in rf.stride), holes=rf.holes)
    assert planned == _built(create_model(name, **config))


@pytest.mark.parametrize("name, config", [
    ("unet_baseline", dict(filters=(16, 24, 32))),
    ("lraspp_mobilenetv3", dict(alpha=0.75, head_filters=64)),
])
def test_the_peers_counts_without_building_equal_count_params(name, config):
    info = model_info(name)
    tally, _ = info.record.summary(**{**info.default_config, **config})
    assert tally.params == create_model(name, **config).count_params()


def test_zoo_info_prints_the_planned_numbers_without_tensorflow():
    code = ("import sys; from kerasdil.cli import main; main(['zoo', 'info', 'deeplab_aspp']); "
            "main(['zoo', 'list']); assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    planned = describe("deeplab_aspp")
    assert f"params          {planned['params']:,} ({planned['trainable_params']:,} trainable)" in r.stdout
    assert f"MACs/image      {planned['macs']:,}" in r.stdout
    assert all(n in r.stdout for n in list_models())


def test_zoo_info_build_counts_an_entry_without_a_plan():
    assert describe("keras_io_convnet") is None
    assert describe("keras_io_convnet", build=True)["params"] == create_model("keras_io_convnet").count_params()


def test_zoo_info_says_why_an_entry_has_no_counts_and_how_to_get_them():
    code = ("import sys; from kerasdil.cli import main; main(['zoo', 'info', 'keras_io_convnet']); "
            "assert 'tensorflow' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.strip().startswith("params"))
    assert "no plain-Python layer plan" in line and "`kerasdil zoo info keras_io_convnet --build` counts them" in line
