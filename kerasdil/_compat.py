"""Every private Keras, keras-tuner and TensorFlow name kerasdil relies on, in one place.

Private names (a leading underscore, ``keras.src``, ``keras_tuner.src``,
``tensorflow.python``) carry no compatibility promise: an upgrade may move or
drop any of them. kerasdil reaches them only through the functions below, so an
upgrade breaks one module, and ``tests/test_compat.py`` checks each of them
against the installed packages. When one is gone, the accessor raises
:class:`PrivateAPIError`, which names the private name, the installed version
and the versions kerasdil is tested with.

Methods that kerasdil overrides in subclasses must keep Keras's or
keras-tuner's private names; they are listed in :data:`OVERRIDDEN_HOOKS` and
checked by the same tests.

This module imports nothing heavy at module level (``kerasdil.receptive``
uses it and must stay fast to import).
"""

import contextlib

#: The versions the accessors below were written and tested against.
TESTED_VERSIONS = {"keras": "3.15", "tensorflow": "2.21", "keras-tuner": "1.4"}

#: Private methods kerasdil overrides in subclasses: {(package, class): (method names)}.
#: ``kerasdil.optimizers`` overrides the optimizer hooks with a fused update;
#: ``kerasdil.tune.tuners`` overrides the oracle's trial writer to write atomically.
OVERRIDDEN_HOOKS = {
    ("keras", "keras.optimizers.Optimizer"): ("_apply_weight_decay", "_backend_update_step"),
    ("keras-tuner", "keras_tuner.Oracle"): ("_save_trial",),
}


class PrivateAPIError(AttributeError):
    """A private name kerasdil uses is missing from the installed Keras, keras-tuner or TensorFlow.

    A subclass of ``AttributeError``, so code that already falls back on a missing
    attribute keeps doing so.
    """


def installed_version(package):
    """The installed version of ``package`` ("keras", "tensorflow", "keras-tuner"), or "not installed"."""
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _missing(package, name, error=None):
    detail = f" ({type(error).__name__}: {error})" if error is not None else ""
    return PrivateAPIError(
        f"kerasdil uses {name}, a private part of {package} that the installed {package} "
        f"{installed_version(package)} does not have{detail}; kerasdil is tested with {package} "
        f"{TESTED_VERSIONS[package]}.x: install that version, or update kerasdil/_compat.py for this one."
    )


def _attribute(obj, package, name):
    try:
        return getattr(obj, name)
    except AttributeError as e:
        raise _missing(package, f"{type(obj).__name__}.{name}", e) from None


def _import(package, module):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise _missing(package, f"the module {module}", e) from None


# ---------------------------------------------------------------------- Keras


def flatten_layers(layer, recursive=True):
    """Every layer inside ``layer`` (not ``layer`` itself), nested ones too if ``recursive``.

    Keras's ``Layer._flatten_layers``: unlike ``model.layers`` it also reaches the
    sub-layers of composite layers.
    """
    method = _attribute(layer, "keras", "_flatten_layers")
    return list(method(include_self=False, recursive=recursive))


def has_flatten_layers(layer):
    """Whether ``layer`` is a Keras layer that can list its sub-layers (see :func:`flatten_layers`)."""
    return hasattr(layer, "_flatten_layers")


def tracked_layers(layer):
    """The sub-layers ``layer`` tracks directly (Keras's ``Layer._layers``); [] when it has none."""
    return list(getattr(layer, "_layers", None) or [])


def built_input_shapes(layer):
    """``{argument name: shape}`` that ``layer`` was built with (Keras's ``Layer._build_shapes_dict``); {} if unbuilt."""
    return dict(getattr(layer, "_build_shapes_dict", None) or {})


def nodes_by_depth(model):
    """A functional model's graph nodes by depth (Keras's ``Functional._nodes_by_depth``), or None.

    None for layers and models that have no functional graph.
    """
    return getattr(model, "_nodes_by_depth", None)


def output_node(tensor):
    """The graph node that produced the symbolic ``tensor`` of a functional model.

    Keras's ``KerasTensor._keras_history`` and ``Operation._inbound_nodes``.
    """
    operation, node_index, _ = _attribute(tensor, "keras", "_keras_history")
    return _attribute(operation, "keras", "_inbound_nodes")[node_index]


def adam_slots(optimizer, variable):
    """``(first moment, second moment)`` variables of a built Keras Adam/AdamW for ``variable``.

    Keras's ``Adam._momentums`` and ``Adam._velocities``, indexed by
    ``Optimizer._get_variable_index``.
    """
    index = _attribute(optimizer, "keras", "_get_variable_index")(variable)
    momentums = _attribute(optimizer, "keras", "_momentums")
    velocities = _attribute(optimizer, "keras", "_velocities")
    return momentums[index], velocities[index]


def uses_weight_decay(optimizer, variable):
    """Whether a Keras optimizer decays ``variable`` (``Optimizer._use_weight_decay``: honours
    ``exclude_from_weight_decay``)."""
    return _attribute(optimizer, "keras", "_use_weight_decay")(variable)


def in_stateless_scope():
    """Whether Keras is tracing a ``stateless_call`` (``keras.src.backend.common.stateless_scope``)."""
    module = _import("keras", "keras.src.backend.common.stateless_scope")
    return _attribute(module, "keras", "in_stateless_scope")()


# ---------------------------------------------------------------- keras-tuner


def trial_status():
    """keras-tuner's ``TrialStatus`` (public as ``keras_tuner.engine.trial``)."""
    module = _import("keras-tuner", "keras_tuner.engine.trial")
    return _attribute(module, "keras-tuner", "TrialStatus")


def trial_class():
    """keras-tuner's ``Trial`` (public as ``keras_tuner.engine.trial``)."""
    module = _import("keras-tuner", "keras_tuner.engine.trial")
    return _attribute(module, "keras-tuner", "Trial")


def tuner_display_class():
    """keras-tuner's progress printer ``Display`` (``keras_tuner.src.engine.oracle``), for a subclass."""
    module = _import("keras-tuner", "keras_tuner.src.engine.oracle")
    return _attribute(module, "keras-tuner", "Display")


def distribute_utils():
    """keras-tuner's ``keras_tuner.src.distribute.utils`` (``has_chief_oracle``, ``is_chief_oracle``)."""
    module = _import("keras-tuner", "keras_tuner.src.distribute.utils")
    for name in ("has_chief_oracle", "is_chief_oracle"):
        _attribute(module, "keras-tuner", name)
    return module


@contextlib.contextmanager
def oracle_client_timeout(seconds):
    """Within the block, a worker waits ``seconds`` for each call to the chief's oracle.

    keras-tuner's module constant ``keras_tuner.src.distribute.oracle_client.TIMEOUT``
    (read at each call); the old value is put back afterwards. ``seconds`` None
    leaves it alone.
    """
    if seconds is None:
        yield
        return
    client = _import("keras-tuner", "keras_tuner.src.distribute.oracle_client")
    saved = _attribute(client, "keras-tuner", "TIMEOUT")
    client.TIMEOUT = seconds
    try:
        yield
    finally:
        client.TIMEOUT = saved


def add_oracle_servicer(oracle, server):
    """Serve ``oracle`` on the gRPC ``server`` as keras-tuner's chief does.

    keras-tuner's ``oracle_chief.OracleServicer`` and its generated gRPC service
    (``keras_tuner.src.protos``).
    """
    chief = _import("keras-tuner", "keras_tuner.src.distribute.oracle_chief")
    protos = _import("keras-tuner", "keras_tuner.src.protos")
    servicer = _attribute(chief, "keras-tuner", "OracleServicer")(oracle)
    service = _attribute(protos, "keras-tuner", "get_service_grpc")()
    _attribute(service, "keras-tuner", "add_OracleServicer_to_server")(servicer, server)
    return servicer


def oracle_retry_queue(oracle):
    """The oracle's list of trial ids waiting to be run again (``Oracle._retry_queue``)."""
    return _attribute(oracle, "keras-tuner", "_retry_queue")


def oracle_state_file(oracle):
    """Path of the oracle's state file (``Oracle._get_oracle_fname()``)."""
    return _attribute(oracle, "keras-tuner", "_get_oracle_fname")()


def oracle_trial_dir(oracle, trial_id):
    """Folder of one trial (``Oracle._get_trial_dir(trial_id)``)."""
    return _attribute(oracle, "keras-tuner", "_get_trial_dir")(trial_id)


def oracle_is_duplicate(oracle, values):
    """Whether ``values`` were already tried (``Oracle._duplicate``)."""
    return _attribute(oracle, "keras-tuner", "_duplicate")(values)


def oracle_random_values(oracle):
    """Untried random hyperparameter values, or None when none are left (``Oracle._random_values``)."""
    return _attribute(oracle, "keras-tuner", "_random_values")()


def raise_oracle_collisions(oracle, at_least):
    """Let the oracle draw at least ``at_least`` times before it gives up on finding an untried
    candidate (``Oracle._max_collisions``)."""
    current = _attribute(oracle, "keras-tuner", "_max_collisions")
    oracle._max_collisions = max(current, at_least)


def tuner_is_worker(tuner):
    """Whether ``tuner`` runs as a worker of a distributed search (``BaseTuner._is_worker()``)."""
    return _attribute(tuner, "keras-tuner", "_is_worker")()


def tuner_state_file(tuner):
    """Path of the tuner's state file (``BaseTuner._get_tuner_fname()``)."""
    return _attribute(tuner, "keras-tuner", "_get_tuner_fname")()


def run_and_update_trial(tuner, trial, *fit_args, **fit_kwargs):
    """Run one trial and report it to the oracle, as keras-tuner's own search loop does
    (``BaseTuner._try_run_and_update_trial``)."""
    return _attribute(tuner, "keras-tuner", "_try_run_and_update_trial")(trial, *fit_args, **fit_kwargs)


# ----------------------------------------------------------------- TensorFlow


def convert_variables_to_constants(concrete_function):
    """``concrete_function`` with its variables folded into constants.

    TensorFlow's ``tensorflow.python.framework.convert_to_constants.convert_variables_to_constants_v2``.
    """
    module = _import("tensorflow", "tensorflow.python.framework.convert_to_constants")
    return _attribute(module, "tensorflow", "convert_variables_to_constants_v2")(concrete_function)


def set_tflite_per_channel(converter, per_channel):
    """Make the TFLite ``converter`` quantize int8 weights per output channel (True) or per tensor.

    The converter's ``_experimental_disable_per_channel`` flag.
    """
    _attribute(converter, "tensorflow", "_experimental_disable_per_channel")
    converter._experimental_disable_per_channel = not per_channel
