"""Distributed schedule search: keras-tuner's chief oracle and its workers.

keras-tuner's protocol: every process runs the same search; the environment
says who is who.

================================  ===========================================
``KERASTUNER_TUNER_ID``           ``"chief"`` for the oracle, ``"tuner<N>"`` for worker N
``KERASTUNER_ORACLE_IP``          address the chief listens on / workers dial
``KERASTUNER_ORACLE_PORT``        its port
================================  ===========================================

``kerasdil tune --chief HOST:PORT`` and ``--worker HOST:PORT --worker-id N``
set these for you (:func:`tuner_environment`). The chief serves the oracle over
gRPC and trains nothing; each worker asks it for a trial, trains it, reports
the score and asks again until the chief says the search is over. Workers need
``tensorboard`` importable (keras-tuner imports it for every trial on the
TensorFlow backend); it is part of the ``kerasdil[tune]`` extra.

Fault tolerance added here (see :mod:`kerasdil.tune.tuners`): workers send a
heartbeat while they train; the chief hands the trial of a worker it has not
heard from for ``lease_seconds`` to another worker, so a killed worker costs
one trial's progress, not the search. A worker that joins late, or restarts
with the same ``--worker-id``, simply takes part.

The oracle's gRPC port has no authentication and no encryption: anyone who can
reach it can read the search space and every trial's settings and scores, ask
for trials, report made-up scores (which decide the leaderboard and the best
model) and end the search. It runs no code it receives. ``--chief PORT`` (or
``:PORT``) therefore listens on loopback (127.0.0.1) only, and any other address
gets a warning: use one only on a network you trust, or tunnel the port (ssh -L).

All processes should see the same ``--dir`` (a shared filesystem when they run
on several machines): the chief keeps the oracle and trial files there, the
workers write the trial checkpoints that ``kerasdil tune-report`` exports.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from typing import Callable, Optional, Tuple

from kerasdil import _compat


#: Where ``--chief PORT`` / ``--chief :PORT`` listens: this machine only.
LOOPBACK = "127.0.0.1"

_ENV_KEYS = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


def parse_address(text: str, flag: str = "--chief") -> Tuple[str, int]:
    """``"127.0.0.1:8000"`` -> ``("127.0.0.1", 8000)``; ``"8000"`` or ``":8000"`` -> loopback.

    Raises:
        ValueError: not ``[HOST:]PORT`` with a port 1..65535.
    """
    host, _, port = str(text).strip().rpartition(":")
    host = host.strip("[]") or LOOPBACK
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{flag} takes HOST:PORT such as 127.0.0.1:8000 (or PORT alone for loopback), got {text!r}.")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine's loopback interface only (no lookup is made)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (for tests and local launches)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def tuner_environment(role: str, address: Optional[str] = None, worker_id: Optional[int] = None,
                      rpc_timeout: Optional[float] = None):
    """Set the ``KERASTUNER_*`` variables for one process of a distributed search.

    Args:
        role: "local" (clears them), "chief" or "worker".
        address: ``HOST:PORT`` of the chief.
        worker_id: worker number (0, 1, ...), for role "worker".
        rpc_timeout: seconds a worker waits for the chief on each call
            (keras-tuner's default is an hour).

    Yields:
        None; the previous environment is restored afterwards.

    Raises:
        ValueError: a missing or malformed address or worker id.
    """
    saved = {k: os.environ.get(k) for k in _ENV_KEYS}
    new = {}
    if role == "local":
        new = {k: None for k in _ENV_KEYS}
    elif role in ("chief", "worker"):
        flag = "--chief" if role == "chief" else "--worker"
        if address is None:
            raise ValueError(f"{flag} needs the chief's HOST:PORT.")
        host, port = parse_address(address, flag)
        if role == "chief" and not is_loopback(host):
            import warnings

            warnings.warn(
                f"the chief's oracle will listen on {host}:{port} without authentication: anyone who can reach that "
                "port can read the search and its scores, report made-up scores and end the search; use it only on "
                f"a network you trust (--chief {port} listens on loopback only).",
                stacklevel=3,
            )
        if role == "worker":
            if isinstance(worker_id, bool) or not isinstance(worker_id, int) or worker_id < 0:
                raise ValueError(f"--worker needs --worker-id N with N >= 0, got {worker_id!r}.")
            tuner_id = f"tuner{worker_id}"
        else:
            tuner_id = "chief"
        new = {"KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": host, "KERASTUNER_ORACLE_PORT": str(port)}
    else:
        raise ValueError(f"role must be 'local', 'chief' or 'worker', got {role!r}.")
    timeout = contextlib.nullcontext()
    if role == "worker":
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise ValueError(
                "tuning workers need tensorboard (keras-tuner imports it for every trial): "
                "pip install 'kerasdil[tune]' or pip install tensorboard."
            ) from None
        timeout = _compat.oracle_client_timeout(rpc_timeout)
    try:
        with timeout:
            for k, v in new.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def serve_oracle(oracle, *, poll_seconds: float = 0.5, log: Callable[[str], None] = print, max_workers: int = 8):
    """Serve ``oracle`` to the workers until the search is over (blocks).

    keras-tuner's ``oracle_chief.start_server`` with three changes: it fails
    at once with a clear message when the port cannot be bound, it checks for
    the end every ``poll_seconds`` (not every 20 s), and it expires the leases
    of silent workers (:meth:`ResumableOracleMixin.expire_dead_tuners`), so a
    dead worker's trial is rerun and the chief does not wait for it forever.

    The search is over once the oracle has said "stopped" to a worker, no
    trial is running, and no worker is waiting.

    Raises:
        OSError: the address cannot be bound (in use, or not this machine's).
    """
    import grpc
    from concurrent import futures

    host = os.environ["KERASTUNER_ORACLE_IP"]
    port = os.environ["KERASTUNER_ORACLE_PORT"]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers))
    servicer = _compat.add_oracle_servicer(oracle, server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:
        bound = 0
    if not bound:
        raise OSError(f"the chief cannot listen on {host}:{port} (port in use, or not an address of this machine).")
    server.start()
    log(f"chief: oracle serving on {host}:{port}; waiting for workers")
    try:
        while True:
            time.sleep(poll_seconds)
            if hasattr(oracle, "expire_dead_tuners"):
                oracle.expire_dead_tuners()
            if servicer.stop_triggered and not oracle.ongoing_trials and not oracle.tuner_ids:
                break
    finally:
        server.stop(grace=2)
    log("chief: search finished")
