"""A zoo entry is one folder: adding one (and nothing else) makes it listed, buildable, trainable and
searchable; the shipped entries follow the same layout."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import kerasdil
from kerasdil.zoo import list_models, model_info
from kerasdil.zoo.registry import entry_packages

TOY = {
    "__init__.py": '"""Zoo entry toy_net: a two-stage DSDC classifier."""\n',
    "record.py": '''
        """toy_net's record and plan (plain Python)."""
        from kerasdil.backbones.plan import backbone_plan
        from kerasdil.zoo.record import ZooRecord


        def plan(schedule, width):
            return backbone_plan(schedule, (width, width), width=width, stem="pool")


        def summary(input_shape=(28, 28, 1), num_classes=10, dilation_schedule=((1,), (1, 2)), width=4, **_):
            stages = plan(dilation_schedule, width)
            tally, _ = stages.count(tuple(input_shape))
            tally.conv(1, 1, width, num_classes)  # the Dense head
            return tally, stages.layer_specs()


        def cost(schedule, width, input_shape, num_classes):
            tally, _ = summary(input_shape, num_classes, schedule, width)
            return tally.params, tally.macs


        RECORDS = (ZooRecord(
            name="toy_net", builder="kerasdil.zoo.toy_net.model:toy_net", task="classification", family="toy",
            input_shape=(28, 28, 1), num_classes=10, description="a toy DSDC classifier, one folder",
            training_recipe=dict(epochs=1, batch_size=32, learning_rate=1e-3, weight_decay=0.0, augment=False,
                                 validation_size=64),
            cost=cost, summary=summary, search_families="kerasdil.zoo.toy_net.search:FAMILIES"),)
    ''',
    "model.py": '''
        """toy_net's builder."""
        import keras

        from kerasdil.backbones.dsdc import dsdc_backbone
        from kerasdil.layers.heads import classification_head
        from kerasdil.zoo.toy_net.record import plan


        def toy_net(input_shape=(28, 28, 1), num_classes=10, dilation_schedule=((1,), (1, 2)), width=4, weights=None,
                    name="toy_net"):
            """A stem, two pooled DSDC stages, the classification head."""
            image = keras.Input(input_shape, name="image")
            stages = plan(dilation_schedule, width)
            x = dsdc_backbone(image, stages)[stages.stages[-1].name]
            return keras.Model(image, classification_head(x, num_classes, dropout=0.0), name=name)
    ''',
    "search.py": '''
        """toy_net's search family: two stages and a width."""
        from kerasdil.zoo.toy_net.record import cost, plan

        FAMILIES = (dict(
            name="toy_net", stages=2, layer_specs=lambda schedule, input_shape: plan(schedule, 4).layer_specs(),
            cost=cost, builder_kwargs=lambda schedule, width: {"dilation_schedule": schedule, "width": width},
            default_schedule=((1,), (1, 2)), default_width=4),)
    ''',
}


@pytest.fixture(scope="module")
def with_toy(tmp_path_factory):
    """A copy of the package with the toy entry added as one new folder; the environment that runs it."""
    root = tmp_path_factory.mktemp("toy")
    package = os.path.dirname(os.path.abspath(kerasdil.__file__))
    shutil.copytree(package, root / "kerasdil", ignore=shutil.ignore_patterns("__pycache__"))
    folder = root / "kerasdil" / "zoo" / "toy_net"
    folder.mkdir()
    for name, text in TOY.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    env = dict(os.environ, PYTHONPATH=str(root), TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    return root, env


def _run(env, cwd, *args):
    r = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r.stdout


@pytest.mark.slow
def test_a_new_folder_is_listed_built_trained_and_searched(with_toy):
    root, env = with_toy
    listed = _run(env, root, "-c", "from kerasdil.cli import main; main(['zoo', 'list']); main(['zoo', 'info', 'toy_net'])")
    assert "toy_net" in listed and "a toy DSDC classifier, one folder" in listed
    built = _run(env, root, "-c", textwrap.dedent("""
        from kerasdil.zoo import create_model, toy_net, __all__
        from kerasdil._cli.zoo import describe
        model = create_model("toy_net")
        assert "toy_net" in __all__ and toy_net.__name__ == "toy_net"
        assert describe("toy_net") == describe("toy_net", build=True)
        print(model.count_params())
    """))
    assert f"params          {int(built):,}" in listed
    _run(env, root, "-m", "kerasdil.cli", "train", "toy_net", "--data", "sample", "--epochs", "1", "--limit", "128",
         "--out", str(root / "run"), "--quiet")
    assert os.path.isfile(root / "run" / "model.keras")
    _run(env, root, "-m", "kerasdil.cli", "tune", "toy_net", "--tuner", "random", "--dir", str(root / "tune"),
         "--max-trials", "1", "--epochs", "1", "--depths", "1", "--rates", "1,2", "--widths", "4", "--data", "sample",
         "--limit", "128", "--validation-size", "64", "--batch-size", "32", "--verbose", "0")
    assert os.path.isdir(root / "tune")


def test_every_registered_name_belongs_to_one_entry_folder():
    folders = {name: model_info(name) and os.path.basename(kerasdil.zoo.registry.entry_folder(name))
               for name in list_models()}
    assert set(folders.values()) == {p.rpartition(".")[2] for p in entry_packages()}
    for name, folder in folders.items():
        assert model_info(name).record.builder.startswith(f"kerasdil.zoo.{folder}.")


def test_entry_packages_do_not_shadow_the_builders_of_the_same_name():
    from kerasdil.zoo import deeplab_aspp, mnist_dsdc
    from kerasdil.zoo.mnist_dsdc import plan  # noqa: F401  the entry's modules stay importable

    assert callable(mnist_dsdc) and mnist_dsdc.__name__ == "mnist_dsdc"
    assert callable(deeplab_aspp) and deeplab_aspp.__module__ == "kerasdil.zoo.deeplab_aspp.model"


@pytest.mark.parametrize("old, name, new", [
    ("kerasdil.zoo.segmentation_record", "MOBILE_CONFIG", "kerasdil.zoo.deeplab_aspp.plan"),
    ("kerasdil.zoo.segmentation", "deeplab_aspp", "kerasdil.zoo.deeplab_aspp.model"),
    ("kerasdil.zoo.backbones", "dilate_backbone", "kerasdil.backbones"),
    ("kerasdil.zoo.baselines", "lraspp_mobilenetv3", "kerasdil.zoo.lraspp_mobilenetv3.model"),
    ("kerasdil.zoo.mnist", "mnist_conv", "kerasdil.zoo.mnist_dsdc.model"),
])
def test_former_module_paths_forward_with_a_deprecation_warning(old, name, new):
    import importlib

    with pytest.warns(DeprecationWarning, match=new):
        value = getattr(importlib.import_module(old), name)
    assert value is getattr(importlib.import_module(new), name)
