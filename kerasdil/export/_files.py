"""Writing artifacts safely: collision checks, a staging folder, atomic renames.

Every artifact of one export is first written inside a hidden staging folder in
``out_dir`` (same file system, so renames are atomic) and moved into place only
after every conversion succeeded. An export that fails or is interrupted removes
its staging folder and leaves ``out_dir`` as it found it: no half-written file
ever carries a final name.

The move into place (:func:`commit`) is one unit: a journal naming the staging
folder and the artifacts is written first, the old reports and artifacts are
stepped aside (reports first, so no report ever describes a mix of old and new
files), the new ones renamed in (reports last), and the journal removed. Ctrl-C
and SIGTERM wait for those few renames. If the process is killed outright
(SIGKILL, a crash) in between, the next export into that folder finds the
journal and completes the move (:func:`tidy`), and removes the staging folders
and temporary files of processes that no longer run.
"""

import contextlib
import json
import os
import re
import shutil
import uuid

from kerasdil._lock import pid_alive
from kerasdil.io import TEMPORARY_SUFFIX, write_bytes_atomic, write_text_atomic

STAGING_PREFIX = ".kerasdil-export-"
STAGING_SUFFIX = TEMPORARY_SUFFIX
#: The journal of a commit in progress, in the output folder.
JOURNAL = ".kerasdil-export-commit.json"
_ASIDE = "replaced"  # inside the staging folder: the artifacts a commit replaces, deleted with it
_STAGING_RE = re.compile(re.escape(STAGING_PREFIX) + r"(\d+)-[0-9a-f]{8}" + re.escape(STAGING_SUFFIX))
_TEMP_FILE_RE = re.compile(r".+\.(\d+)-[0-9a-f]{8}" + re.escape(STAGING_SUFFIX))


def tidy(out_dir):
    """Finish or remove what killed exports left in ``out_dir``.

    A commit journal of a dead process is rolled forward (its artifacts were all
    proven before the commit began); staging folders and temporary files of dead
    processes are deleted. Those of live processes (a concurrent export) are left.

    Returns:
        The names of the entries completed or removed.
    """
    if not os.path.isdir(out_dir):
        return []
    done = []
    journal = os.path.join(out_dir, JOURNAL)
    if os.path.exists(journal):
        try:
            with open(journal, encoding="utf-8") as f:
                entry = json.load(f)
            stage, names, pid = os.path.join(out_dir, entry["stage"]), list(entry["names"]), entry.get("pid")
        except (OSError, ValueError, KeyError, TypeError):
            entry = None  # written atomically before any rename: unreadable means no rename happened
        if entry is not None and pid_alive(pid) and pid != os.getpid():
            return done  # another export is committing right now
        if entry is not None and os.path.isdir(stage):
            _move_in(stage, out_dir, names)
            shutil.rmtree(stage, ignore_errors=True)  # what is left: the replaced artifacts
            done.append(f"completed the interrupted commit of {', '.join(names)}")
        with contextlib.suppress(FileNotFoundError):
            os.remove(journal)
    for name in os.listdir(out_dir):
        path = os.path.join(out_dir, name)
        stale = _STAGING_RE.fullmatch(name) or (os.path.isfile(path) and _TEMP_FILE_RE.fullmatch(name))
        if stale and not pid_alive(int(stale.group(1))):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.remove(path)
            done.append(name)
    return done


def check_out_dir(out_dir, names, *, force):
    """Refuse unusable or occupied output locations before any work is done.

    Args:
        out_dir: the output folder (created later if missing).
        names: the file / folder names the export will create inside it.
        force: overwrite existing artifacts of those names.

    Raises:
        FileExistsError: ``out_dir`` is a file, or an artifact exists and not ``force``.
        PermissionError: ``out_dir`` cannot be created or written.
    """
    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise FileExistsError(f"output path {out_dir} exists and is a file, not a folder; choose another --out.")
    parent = out_dir
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise PermissionError(
            f"cannot create output folder {out_dir}: {parent} is a file, not a folder; choose another --out."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write to {parent}; choose a writable --out folder.")
    if not force:
        for name in names:
            path = os.path.join(out_dir, name)
            if os.path.lexists(path):
                raise FileExistsError(
                    f"{path} already exists; pass --force (force=True) to overwrite it, or choose another --out."
                )


@contextlib.contextmanager
def staging(out_dir):
    """Create ``out_dir`` (if needed) and a staging folder inside it; yield the staging path.

    On any exception (KeyboardInterrupt included) the staging folder is removed, and
    so is ``out_dir`` if this call created it and it is empty again.
    """
    out_dir = os.path.abspath(out_dir)
    created = not os.path.exists(out_dir)
    try:
        os.makedirs(out_dir, exist_ok=True)
        stage = os.path.join(out_dir, f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}{STAGING_SUFFIX}")
        os.mkdir(stage)
    except OSError as e:
        raise PermissionError(f"cannot write to output folder {out_dir} ({e.strerror or e}); choose another --out.") from None
    try:
        yield stage
    except BaseException:
        if not _journal_names(out_dir, stage):  # a commit that failed midway is kept for tidy() to complete
            shutil.rmtree(stage, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(out_dir)  # only succeeds when empty
        raise
    else:
        shutil.rmtree(stage, ignore_errors=True)


def _journal_names(out_dir, stage):
    """Whether the commit journal in ``out_dir`` names ``stage`` (a commit of it began)."""
    try:
        with open(os.path.join(out_dir, JOURNAL), encoding="utf-8") as f:
            return json.load(f).get("stage") == os.path.basename(stage)
    except (OSError, ValueError, AttributeError):
        return False


def commit(stage, out_dir, names):
    """Move ``names`` from the staging folder into ``out_dir`` as one unit, replacing old ones.

    Put the reports last in ``names``: they are stepped aside first and renamed in
    last, so a report never sits beside a mix of old and new artifacts. See the
    module docstring for what a kill at any instant leaves.
    """
    from kerasdil._json import dumps

    journal = os.path.join(out_dir, JOURNAL)
    with _signals_deferred():
        write_text(journal, dumps({"stage": os.path.basename(stage), "names": list(names), "pid": os.getpid()}))
        _move_in(stage, out_dir, names)
        os.remove(journal)


def _step_aside(stage, out_dir, name):
    dst = os.path.join(out_dir, name)
    if os.path.lexists(dst):
        aside = os.path.join(stage, _ASIDE)
        os.makedirs(aside, exist_ok=True)
        target = os.path.join(aside, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        os.replace(dst, target)


def _move_in(stage, out_dir, names):
    """The renames of a commit; safe to run again after a kill (what is done stays done)."""
    pending = [n for n in names if os.path.lexists(os.path.join(stage, n))]
    for name in reversed(pending):  # reports first: out of the way before any artifact changes
        _step_aside(stage, out_dir, name)
    for name in pending:  # reports last
        _step_aside(stage, out_dir, name)  # appeared meanwhile (a roll-forward after a partial commit)
        os.replace(os.path.join(stage, name), os.path.join(out_dir, name))


@contextlib.contextmanager
def _signals_deferred():
    """Hold Ctrl-C and SIGTERM until the block ends (the main thread only; a few renames)."""
    import signal
    import threading

    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# Files are written by kerasdil.io's atomic writers (a temporary name, then a rename).
write_text = write_text_atomic
write_bytes = write_bytes_atomic


def size_of(path):
    """Bytes of a file, or the total of every file under a folder."""
    if os.path.isdir(path):
        return sum(
            os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files
        )
    return os.path.getsize(path)
