"""tf.distribute helpers for ``kerasdil train --strategy mirrored|multiworker``.

``make_strategy(name)`` returns the strategy to build and compile a model under::

    from kerasdil.distribute import make_strategy
    strategy = make_strategy("multiworker")      # first, before any other TF op
    with strategy.scope():
        model = create_model("mnist_dsdc")
        model.compile(...)
    model.fit(train_ds, ...)                     # each worker runs the same script

Strategies
----------
``None``            TensorFlow's default strategy (one device, no distribution).
``"mirrored"``      ``tf.distribute.MirroredStrategy``: synchronous data parallelism
                    over the GPUs of one machine (the CPU when there is none).
``"multiworker"``   ``tf.distribute.MultiWorkerMirroredStrategy``: synchronous data
                    parallelism over several processes or machines, described by
                    the ``TF_CONFIG`` environment variable. Every worker runs the
                    same program; gradients are all-reduced after every step, so
                    the workers hold identical weights. The global batch is split
                    between the workers. Worker 0 is the chief (it writes the
                    checkpoints and the final model) unless the cluster names an
                    explicit ``"chief"`` task.

Synchronized BatchNormalization
-------------------------------
By default each replica normalises with the statistics of its own share of the
batch, and its moving averages follow that share. :func:`synchronize_batchnorm`
(``kerasdil train --sync-batchnorm``) makes every BatchNormalization layer of a
model, those inside kerasdil's blocks and nested backbones too, compute the
batch mean and variance over all replicas (``keras.layers.BatchNormalization
(synchronized=True)``): every replica then normalises with the statistics of the
global batch and all of them keep the same moving averages. It costs three
all-reduces per BN layer and step, and pays off when the per-replica batch is
small (segmentation).

``TF_CONFIG`` for two workers on one machine (worker 1 uses ``"index": 1``)::

    {"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]},
     "task": {"type": "worker", "index": 0}}

:func:`tf_config` writes it for you. Without ``TF_CONFIG`` the "multiworker"
strategy runs a single local worker (handy to check a script before launching
the cluster).

Ordering rule (TensorFlow's, not ours): MultiWorkerMirroredStrategy configures
collective ops in the eager context, which is possible only before TensorFlow
has run anything. Call ``make_strategy("multiworker")`` before building
datasets or models; :func:`make_strategy` turns TensorFlow's error into one
sentence that says so.
"""

from __future__ import annotations

import json
import os
from typing import Optional, Sequence

__all__ = ["make_strategy"]

#: Names accepted by :func:`make_strategy` (and ``kerasdil train --strategy``).
STRATEGIES = ("mirrored", "multiworker")

_TASK_TYPES = ("chief", "worker", "evaluator", "ps")


def _check_address(address, where: str) -> str:
    if not isinstance(address, str) or ":" not in address:
        raise ValueError(f"TF_CONFIG: {where} must be a 'host:port' string, got {address!r}.")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"TF_CONFIG: {where} must be a 'host:port' string with a port 1..65535, got {address!r}.")
    return address


def parse_tf_config(text: Optional[str] = None) -> Optional[dict]:
    """Read and validate ``TF_CONFIG`` (the environment variable by default).

    Args:
        text: the JSON text; None reads ``os.environ["TF_CONFIG"]``.

    Returns:
        The parsed dict, or None when ``TF_CONFIG`` is unset or empty.

    Raises:
        ValueError: not JSON, no ``cluster``/``task``, an unknown task type, an
            index outside the cluster, or an address that is not ``host:port``.

    Example:
        >>> parse_tf_config(tf_config(["127.0.0.1:2222", "127.0.0.1:2223"], 1))["task"]
        {'type': 'worker', 'index': 1}
    """
    if text is None:
        text = os.environ.get("TF_CONFIG", "")
    if not text or not text.strip():
        return None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e.msg} at character {e.pos}).") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) or not config["cluster"]:
        raise ValueError(
            'TF_CONFIG needs a "cluster" such as {"worker": ["host1:port", "host2:port"]}; '
            f"got {text.strip()[:200]!r}."
        )
    for task_type, addresses in config["cluster"].items():
        if task_type not in _TASK_TYPES:
            raise ValueError(
                f"TF_CONFIG: unknown task type {task_type!r} in the cluster; use {', '.join(_TASK_TYPES)}."
            )
        if isinstance(addresses, str) or not isinstance(addresses, Sequence) or not addresses:
            raise ValueError(f"TF_CONFIG: cluster[{task_type!r}] must be a non-empty list of 'host:port' strings.")
        for i, address in enumerate(addresses):
            _check_address(address, f"cluster[{task_type!r}][{i}]")
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task:
        raise ValueError('TF_CONFIG needs a "task" such as {"type": "worker", "index": 0}.')
    task_type = task["type"]
    if task_type not in config["cluster"]:
        raise ValueError(
            f"TF_CONFIG: task type {task_type!r} is not in the cluster ({', '.join(config['cluster'])})."
        )
    index = task.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(config["cluster"][task_type]):
        raise ValueError(
            f"TF_CONFIG: task index {index!r} is outside the {len(config['cluster'][task_type])} "
            f"{task_type!r} addresses (0..{len(config['cluster'][task_type]) - 1})."
        )
    return config


def tf_config(workers: Sequence[str], index: int, *, task_type: str = "worker", chief: Optional[str] = None) -> str:
    """The ``TF_CONFIG`` JSON text for one process of a multi-worker cluster.

    Args:
        workers: ``"host:port"`` of every worker, the same list on every worker.
        index: this process's position in ``workers`` (or in the chief list).
        task_type: "worker" (default) or "chief".
        chief: optional ``"host:port"`` of an explicit chief task.

    Returns:
        JSON text to put in ``os.environ["TF_CONFIG"]``.

    Raises:
        ValueError: as :func:`parse_tf_config`.

    Example:
        >>> os.environ["TF_CONFIG"] = tf_config(["10.0.0.1:2222", "10.0.0.2:2222"], 0)
    """
    cluster = {"worker": list(workers)}
    if chief is not None:
        cluster["chief"] = [chief]
    text = json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})
    parse_tf_config(text)
    return text


def num_workers(config: Optional[dict] = None) -> int:
    """Number of training processes (chief + workers) in ``TF_CONFIG``; 1 when unset."""
    config = parse_tf_config() if config is None else config
    if not config:
        return 1
    return len(config["cluster"].get("worker", [])) + len(config["cluster"].get("chief", []))


def worker_index(config: Optional[dict] = None) -> int:
    """This process's task index in ``TF_CONFIG`` (0 when unset)."""
    config = parse_tf_config() if config is None else config
    return int(config["task"].get("index", 0)) if config else 0


def is_chief(config: Optional[dict] = None) -> bool:
    """Whether this process writes checkpoints and final artifacts.

    True without ``TF_CONFIG``, for the ``"chief"`` task, and for worker 0 when
    the cluster names no chief (MultiWorkerMirroredStrategy's convention).
    """
    config = parse_tf_config() if config is None else config
    if not config:
        return True
    task_type = config["task"]["type"]
    if task_type == "chief":
        return True
    return task_type == "worker" and worker_index(config) == 0 and "chief" not in config["cluster"]


def _multiworker_class():
    """MultiWorkerMirroredStrategy whose ``reduce`` also takes a nested structure.

    Keras 3 (3.15 here) calls ``strategy.reduce("MEAN", batch, axis=None)`` on a
    whole ``(x, y)`` batch of per-replica values when ``fit`` starts (to learn
    the input shapes). MirroredStrategy accepts the nest; the multi-worker
    strategy does not and every ``fit`` fails with "Attempt to convert a value
    (PerReplica...)" (keras-team/keras#20585). Reducing element by element is
    what ``Strategy.reduce`` documents for nests, and both workers make the
    same calls, so the collectives stay matched.
    """
    import tensorflow as tf

    global _MULTIWORKER
    if _MULTIWORKER is None:

        class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
            __doc__ = _multiworker_class.__doc__

            def reduce(self, reduce_op, value, axis=None):
                if isinstance(value, (tuple, list, dict)):
                    base = super(MultiWorkerMirroredStrategy, self)
                    return tf.nest.map_structure(
                        lambda v: v if v is None else base.reduce(reduce_op, v, axis), value
                    )
                if axis is not None and _all_scalars(self.experimental_local_results(value)):
                    # Keras reduces per-replica scalar logs with axis=0, which a scalar lacks;
                    # across replicas the mean of scalars needs no axis.
                    axis = None
                return super().reduce(reduce_op, value, axis)

        _MULTIWORKER = MultiWorkerMirroredStrategy
    return _MULTIWORKER


_MULTIWORKER = None
_MULTIWORKER_INSTANCE = None


def _all_scalars(tensors) -> bool:
    shapes = [getattr(t, "shape", None) for t in tensors]
    return bool(shapes) and all(s is not None and s.rank == 0 for s in shapes)


def make_strategy(name: Optional[str] = None, *, devices: Optional[Sequence[str]] = None, communication: str = "auto"):
    """A ``tf.distribute`` strategy by name.

    Args:
        name: None (TensorFlow's default strategy), ``"mirrored"`` or
            ``"multiworker"``.
        devices: for "mirrored", the devices to mirror on (default: all GPUs,
            else the CPU).
        communication: for "multiworker", the collective implementation:
            "auto", "ring" (gRPC, works on CPU) or "nccl" (GPUs).

    Returns:
        A ``tf.distribute.Strategy``; build and compile models under its
        ``scope()``. "multiworker" returns the same strategy on every call in
        a process (TensorFlow allows one), so a script may create it first
        thing and library code may ask for it again later.

    Raises:
        ValueError: an unknown name or communication, or a malformed
            ``TF_CONFIG``.
        RuntimeError: "multiworker" asked for after TensorFlow already ran an
            op in this process (create the strategy first).

    Example:
        >>> strategy = make_strategy("mirrored")
        >>> with strategy.scope():
        ...     model = create_model("mnist_dsdc")
    """
    if name is not None and name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; use one of {', '.join(STRATEGIES)} (or none).")
    implementations = ("auto", "ring", "nccl")
    if communication not in implementations:
        raise ValueError(f"communication must be one of {', '.join(implementations)}, got {communication!r}.")
    if name == "multiworker":
        parse_tf_config()  # one clear sentence for a malformed TF_CONFIG, before TensorFlow's

    import tensorflow as tf

    if name is None:
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=list(devices) if devices else None)
    implementation = {
        "auto": tf.distribute.experimental.CommunicationImplementation.AUTO,
        "ring": tf.distribute.experimental.CommunicationImplementation.RING,
        "nccl": tf.distribute.experimental.CommunicationImplementation.NCCL,
    }[communication]
    global _MULTIWORKER_INSTANCE
    key = os.environ.get("TF_CONFIG", "")
    if _MULTIWORKER_INSTANCE is not None:
        # One per process: TensorFlow configures collectives once, so a second
        # strategy cannot be created; hand back the first (same cluster only;
        # "auto" accepts whatever communication the first one chose).
        first_key, first_communication, first = _MULTIWORKER_INSTANCE
        if first_key != key or communication not in ("auto", first_communication):
            raise RuntimeError(
                "this process already created a multiworker strategy with another TF_CONFIG or communication; "
                "TensorFlow allows one per process."
            )
        return first
    try:
        strategy = _multiworker_class()(
            communication_options=tf.distribute.experimental.CommunicationOptions(implementation=implementation)
        )
        _MULTIWORKER_INSTANCE = (key, communication, strategy)
        return strategy
    except (RuntimeError, ValueError) as e:
        if "startup" in str(e) or "initialized" in str(e) or "already" in str(e):
            raise RuntimeError(
                "the multiworker strategy must be created before TensorFlow runs anything else in the process: "
                "call make_strategy('multiworker') before building datasets or models."
            ) from e
        raise


def synchronize_batchnorm(model, synchronized=True):
    """Make every BatchNormalization layer of ``model`` use statistics over all replicas.

    Sets ``synchronized`` (the argument of ``keras.layers.BatchNormalization``)
    on every BatchNormalization layer found in ``model``, recursively: nested
    models, kerasdil's DSDC blocks and ASPP (their ``FusedBatchNormalization``
    then takes Keras's synchronized path instead of the fused kernel). Under a
    ``tf.distribute`` strategy the batch mean and variance are then all-reduced
    over the replicas in training; outside one, or with one replica, nothing
    changes. Call it before ``compile``/``fit`` trace the training step. Only the
    training computation changes: the saved model is the same architecture, and
    inference uses the moving statistics as before.

    Args:
        model: a ``keras.Model`` (or layer).
        synchronized: True to synchronize, False to undo.

    Returns:
        The number of BatchNormalization layers changed.

    Raises:
        ValueError: ``model`` is not a Keras layer, or the backend is not
            TensorFlow (synchronized BatchNormalization is TensorFlow-only).

    Example:
        >>> strategy = make_strategy("multiworker")
        >>> with strategy.scope():
        ...     model = create_model("deeplab_aspp")
        ...     synchronize_batchnorm(model)
        ...     model.compile(...)
    """
    import keras

    if not isinstance(model, keras.layers.Layer):
        raise ValueError(f"synchronize_batchnorm needs a keras.Model or layer, got {type(model).__name__}.")
    if synchronized and keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"synchronized BatchNormalization needs the TensorFlow backend; this Keras runs on {keras.backend.backend()!r}."
        )
    count = 0
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = bool(synchronized)
            count += 1
    return count
