"""The files of a search: ``kerasdil_search.json``, atomic JSON writes, finding and checking a project folder.

Re-exported by :mod:`kerasdil.tune.tuners`.
"""

from __future__ import annotations

import glob
import os
from typing import Optional

#: kerasdil's description of a search, inside the keras-tuner project folder.
SEARCH_FILE = "kerasdil_search.json"


def _write_json(path, data):
    """Write ``path`` whole or not at all (a kill mid-write leaves the old file)."""
    from kerasdil.io import write_text_atomic as write_text  # a unique temporary name per call, then a rename

    from kerasdil._json import dumps  # a NaN score is written as null: the file stays valid JSON

    write_text(path, dumps(data, indent=1))


def load_search_file(project_dir: str) -> dict:
    """Read ``kerasdil_search.json`` of a project folder.

    Raises:
        FileNotFoundError: the folder holds no kerasdil search.
    """
    path = os.path.join(project_dir, SEARCH_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{project_dir!r} holds no kerasdil search ({SEARCH_FILE} is missing).")
    from kerasdil._json import read

    return read(path, _AFRESH)


_AFRESH = "restore it from a copy, or rerun kerasdil tune with --overwrite to start the search afresh"


def check_project_files(project_dir: str) -> None:
    """Refuse to resume a search whose state files are truncated or corrupt, naming the file.

    keras-tuner would stop with a bare "Expecting value: line 1 column 11" that names
    no file. Checked: the project's ``*.json`` (oracle, tuners, kerasdil's search
    file) and every ``trial_*/trial.json``.

    Raises:
        ValueError: a file is not valid JSON (the message names it and the way out).
    """
    from kerasdil._json import read

    paths = sorted(glob.glob(os.path.join(project_dir, "*.json")))
    paths += sorted(glob.glob(os.path.join(project_dir, "trial_*", "trial.json")))
    for path in paths:
        read(path, _AFRESH + " (its completed trials are then lost)")


def find_project(directory: str, project_name: Optional[str] = None) -> str:
    """The project folder of a search under ``directory`` (the folder itself, or its one project).

    Raises:
        FileNotFoundError: no search there.
        ValueError: several searches and no ``project_name`` to choose.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"search folder {directory!r} does not exist.")
    if project_name:
        path = os.path.join(directory, project_name)
        load_search_file(path)
        return path
    if os.path.isfile(os.path.join(directory, SEARCH_FILE)):
        return directory
    found = sorted(
        os.path.join(directory, d) for d in os.listdir(directory)
        if os.path.isfile(os.path.join(directory, d, SEARCH_FILE))
    )
    if not found:
        raise FileNotFoundError(f"{directory!r} holds no kerasdil search (no */{SEARCH_FILE}); run a search "
                                "(kerasdil.tune.search) there first.")
    if len(found) > 1:
        names = ", ".join(os.path.basename(p) for p in found)
        raise ValueError(f"{directory!r} holds several searches ({names}); pass project_name= to choose one.")
    return found[0]
