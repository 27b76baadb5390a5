"""kerasdil._compat: every private Keras, keras-tuner and TensorFlow name still resolves.

When an upgrade moves one of them, the test of that accessor fails with
``PrivateAPIError``'s message: the private name, the installed version and the
version kerasdil is tested with.
"""

import os

import numpy as np
import pytest

from kerasdil import _compat


def _versions():
    return ", ".join(f"{p} {_compat.installed_version(p)} (tested: {v})" for p, v in _compat.TESTED_VERSIONS.items())


@pytest.fixture(scope="module")
def model():
    import keras

    inputs = keras.Input((4,), name="x")
    inner = keras.Sequential([keras.layers.Dense(3, name="inner_dense")], name="inner")
    outputs = keras.layers.Dense(2, name="head")(inner(inputs))
    return keras.Model(inputs, outputs, name="probe")


# ---------------------------------------------------------------------- Keras


def test_flatten_layers_reaches_nested_layers(model):
    names = [layer.name for layer in _compat.flatten_layers(model)]
    assert {"inner", "inner_dense", "head"} <= set(names), names
    assert "inner_dense" not in [layer.name for layer in _compat.flatten_layers(model, recursive=False)]
    assert _compat.has_flatten_layers(model)


def test_tracked_layers_and_built_input_shapes(model):
    inner = model.get_layer("inner")
    assert "inner_dense" in [layer.name for layer in _compat.tracked_layers(inner)]
    assert _compat.tracked_layers(inner.get_layer("inner_dense")) == []
    shapes = _compat.built_input_shapes(model.get_layer("head"))
    assert [tuple(s) for s in shapes.values()] == [(None, 3)], shapes


def test_functional_graph_nodes(model):
    by_depth = _compat.nodes_by_depth(model)
    assert by_depth, "Functional._nodes_by_depth is empty or gone"
    node = _compat.output_node(model.outputs[0])
    assert node.operation is model.get_layer("head")
    assert any(node is n for level in by_depth.values() for n in level)
    assert _compat.nodes_by_depth(object()) is None  # a layer without a graph


def test_adam_slots_and_weight_decay(model):
    import keras

    optimizer = keras.optimizers.AdamW(1e-3, weight_decay=0.1)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    optimizer.build(model.trainable_variables)
    for variable in model.trainable_variables:
        momentum, velocity = _compat.adam_slots(optimizer, variable)
        assert tuple(momentum.shape) == tuple(velocity.shape) == tuple(variable.shape)
        assert _compat.uses_weight_decay(optimizer, variable) == ("bias" not in variable.name)


def test_in_stateless_scope():
    import keras

    assert _compat.in_stateless_scope() is False
    with keras.StatelessScope():
        assert _compat.in_stateless_scope() is True


# ---------------------------------------------------------------- keras-tuner


def _build(hp):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(hp.Choice("units", [1, 2]))])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_keras_tuner_names(tmp_path):
    import keras_tuner as kt

    status = _compat.trial_status()
    assert {"RUNNING", "COMPLETED", "IDLE", "STOPPED"} <= set(vars(status))
    idle = _compat.trial_class()(kt.HyperParameters(), trial_id=None, status=status.IDLE)
    assert idle.status == status.IDLE
    tuner = kt.RandomSearch(_build, objective="loss", max_trials=2, directory=str(tmp_path), project_name="p",
                            seed=1)
    oracle = tuner.oracle
    assert not _compat.tuner_is_worker(tuner)
    assert os.path.dirname(_compat.tuner_state_file(tuner)).startswith(str(tmp_path))
    assert _compat.oracle_state_file(oracle).startswith(str(tmp_path))
    assert _compat.oracle_trial_dir(oracle, "00").startswith(str(tmp_path))
    assert isinstance(_compat.oracle_retry_queue(oracle), list)
    _compat.raise_oracle_collisions(oracle, 1000)
    assert oracle._max_collisions >= 1000
    values = _compat.oracle_random_values(oracle)
    assert values["units"] in (1, 2)
    assert _compat.oracle_is_duplicate(oracle, values) is False

    trial = oracle.create_trial(tuner.tuner_id)
    tuner.on_trial_begin(trial)
    x = np.zeros((4, 2), "float32")
    _compat.run_and_update_trial(tuner, trial, x, x[:, :1], epochs=1, verbose=0)
    tuner.on_trial_end(trial)
    assert oracle.trials[trial.trial_id].status == status.COMPLETED
    display = _compat.tuner_display_class()
    assert callable(getattr(display, "on_trial_begin", None)) and callable(getattr(display, "on_trial_end", None))


def test_keras_tuner_distribution_names():
    pytest.importorskip("grpc")
    import grpc
    from concurrent import futures

    import keras_tuner as kt

    utils = _compat.distribute_utils()
    assert utils.has_chief_oracle() in (True, False)
    from keras_tuner.src.distribute import oracle_client

    before = oracle_client.TIMEOUT
    with _compat.oracle_client_timeout(7):
        assert oracle_client.TIMEOUT == 7
    assert oracle_client.TIMEOUT == before
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    oracle = kt.oracles.RandomSearchOracle(objective="loss", max_trials=1)
    servicer = _compat.add_oracle_servicer(oracle, server)
    assert servicer.oracle is oracle
    server.stop(0)


# ----------------------------------------------------------------- TensorFlow


def test_tensorflow_names():
    import tensorflow as tf

    weight = tf.Variable(2.0)

    @tf.function(input_signature=[tf.TensorSpec((1, 2), tf.float32)])
    def double(x):
        return x * weight

    concrete = double.get_concrete_function()
    frozen = _compat.convert_variables_to_constants(concrete)
    ops = {node.op for node in frozen.graph.as_graph_def().node}
    assert "Const" in ops and not ops & {"VarHandleOp", "ReadVariableOp"}, ops

    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], double)
    _compat.set_tflite_per_channel(converter, False)
    assert converter._experimental_disable_per_channel is True
    _compat.set_tflite_per_channel(converter, True)
    assert converter._experimental_disable_per_channel is False


# ------------------------------------------------------------ overrides, errors


@pytest.mark.parametrize("owner", sorted(_compat.OVERRIDDEN_HOOKS))
def test_overridden_hooks_exist(owner):
    import importlib

    package, dotted = owner
    module_name, _, class_name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    for method in _compat.OVERRIDDEN_HOOKS[owner]:
        assert callable(getattr(cls, method, None)), (
            f"{dotted}.{method} is gone from the installed {package}; kerasdil overrides it "
            f"(see kerasdil/_compat.py OVERRIDDEN_HOOKS), so its override would never run. {_versions()}."
        )


def test_missing_private_name_is_one_clear_error():
    with pytest.raises(_compat.PrivateAPIError) as info:
        _compat.flatten_layers(object())
    text = str(info.value)
    assert "object._flatten_layers" in text
    assert f"tested with keras {_compat.TESTED_VERSIONS['keras']}.x" in text
    assert _compat.installed_version("keras") in text
    assert isinstance(info.value, AttributeError)  # callers that fall back on AttributeError keep working


def test_tested_versions_name_installed_packages():
    for package in _compat.TESTED_VERSIONS:
        assert _compat.installed_version(package) != "not installed", package
