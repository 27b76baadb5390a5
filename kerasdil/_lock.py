"""An exclusive lock on a run folder, so two runs never write into one folder at once."""

import contextlib
import os
import socket
import time

#: The lock file a training run holds in its folder while it runs.
LOCK_FILE = "train.lock"
# An empty lock file younger than this is being written by its owner right now.
_LOCK_GRACE_S = 10.0


def pid_alive(pid):
    """Whether process ``pid`` runs on this machine (True when that cannot be told)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by another user
        return True
    return True


class RunLock:
    """An exclusive lock on a run folder: the file ``LOCK_FILE`` holding "pid host".

    Created with ``O_CREAT | O_EXCL``, so of two runs started into one folder only
    one gets it; the other is refused at once with a clear sentence instead of dying
    at its first checkpoint on HDF5's file lock. A lock left by a process that no
    longer runs on this machine (killed with SIGKILL, or the machine rebooted) is
    taken over.

    Example:
        >>> lock = RunLock("runs/x"); lock.acquire(); ...; lock.release()
    """

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.path = os.path.join(out_dir, LOCK_FILE)
        self.held = False

    def _owner(self):
        """(pid, host) written in the lock file, or None while it is empty or unreadable."""
        try:
            with open(self.path) as f:
                pid, _, host = f.read().strip().partition(" ")
            return int(pid), host
        except (OSError, ValueError):
            return None

    def acquire(self):
        """Take the lock.

        Raises:
            FileExistsError: another live process holds it (the message names it and the way out).
        """
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is None:
                    try:
                        age = time.time() - os.path.getmtime(self.path)
                    except OSError:
                        continue  # removed meanwhile: try again
                    if age < _LOCK_GRACE_S:
                        owner = (None, socket.gethostname())
                pid, host = owner if owner else (None, None)
                here = host == socket.gethostname()
                if owner is not None and (not here or pid is None or pid_alive(pid)):
                    who = f"pid {pid}" + ("" if here else f" on {host}") if pid else "another process"
                    raise FileExistsError(
                        f"another kerasdil run ({who}) is writing into {self.out_dir}; wait for it to end or "
                        f"choose another --out (if no such run is alive, delete {self.path})."
                    ) from None
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.path)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as f:
                f.write(f"{os.getpid()} {socket.gethostname()}\n")
            self.held = True
            return self
        raise FileExistsError(f"cannot take the lock {self.path}; delete it if no kerasdil run is writing there.")

    def release(self):
        """Give the lock back (a no-op when not held)."""
        if self.held:
            self.held = False
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
