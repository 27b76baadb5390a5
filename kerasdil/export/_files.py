"""Writing artifacts safely: collision checks, a staging folder, atomic renames.

Every artifact of one export is first written inside a hidden staging folder in
``out_dir`` (same file system, so renames are atomic) and moved into place only
after every conversion succeeded. An export that fails or is interrupted removes
its staging folder and leaves ``out_dir`` as it found it: no half-written file
ever carries a final name.
"""

import contextlib
import os
import shutil
import uuid

from kerasdil.io import TEMPORARY_SUFFIX, write_bytes_atomic, write_text_atomic

STAGING_PREFIX = ".kerasdil-export-"
STAGING_SUFFIX = TEMPORARY_SUFFIX


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
        shutil.rmtree(stage, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(out_dir)  # only succeeds when empty
        raise
    else:
        shutil.rmtree(stage, ignore_errors=True)


def commit(stage, out_dir, names):
    """Move ``names`` from the staging folder into ``out_dir``, replacing old ones.

    A file is replaced with one ``os.replace``. A folder (the SavedModel) cannot be
    renamed over a non-empty folder, so the old one is first renamed aside to a
    temporary name, the new one renamed in, and the old one deleted.
    """
    for name in names:
        src = os.path.join(stage, name)
        dst = os.path.join(out_dir, name)
        if os.path.isdir(src) and os.path.lexists(dst):
            aside = os.path.join(out_dir, f"{STAGING_PREFIX}old-{uuid.uuid4().hex[:8]}-{name}{STAGING_SUFFIX}")
            os.replace(dst, aside)
            os.replace(src, dst)
            if os.path.isdir(aside) and not os.path.islink(aside):
                shutil.rmtree(aside, ignore_errors=True)
            else:
                os.remove(aside)
        else:
            if os.path.isdir(dst) and not os.path.islink(dst):
                shutil.rmtree(dst)
            os.replace(src, dst)


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
