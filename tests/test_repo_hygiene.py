"""What the repository promises about itself: paths users have, public APIs only, tools documented."""

import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT_SUFFIXES = (".py", ".md", ".sh", ".json", ".cfg", ".txt", ".toml", ".yml", ".yaml")
# Private modules of the libraries kerasdil builds on: reachable only through kerasdil/_compat.py.
PRIVATE_IMPORT = re.compile(
    r"^\s*(?:from|import)\s+(tensorflow\.python|tensorflow\.lite\.python|keras\.src|keras_tuner\.src|"
    r"keras_tuner\.engine|tf2onnx\.(?!convert\b)\w+)", re.M)


def _tracked_files():
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        files = out.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [f for f in files if os.path.isfile(os.path.join(ROOT, f))]


def _read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
        return f.read()


def test_no_tracked_file_names_a_data_folder_users_do_not_have():
    shared = "../" + "shared"  # spelled in two parts so this file does not match itself
    offenders = [f for f in _tracked_files() if f.endswith(TEXT_SUFFIXES) and
                 (shared in _read(f) or "/work/" + "shared" in _read(f))]
    assert not offenders, f"these files name a local data folder instead of path/to/mnist.npz: {offenders}"


def test_private_library_modules_are_imported_only_by_the_compat_module():
    files = [f for f in _tracked_files() if f.endswith(".py") and f.startswith(("kerasdil/", "tools/"))]
    offenders = {f: PRIVATE_IMPORT.findall(_read(f)) for f in files if f != "kerasdil/_compat.py"}
    offenders = {f: names for f, names in offenders.items() if names}
    assert not offenders, f"route these private imports through kerasdil/_compat.py: {offenders}"


def test_every_tool_is_described_in_the_tools_readme():
    readme = _read("tools/README.md")
    tools = sorted(f for f in os.listdir(os.path.join(ROOT, "tools")) if f.endswith(".py"))
    missing = [t for t in tools if f"`{t}`" not in readme]
    assert not missing, f"tools/README.md does not describe {missing}"
