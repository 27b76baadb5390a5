"""Checks on the installed package (run in CI after a regular `pip install .`)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _installed_location(tmp_path):
    r = subprocess.run([sys.executable, "-c", "import kerasdil, os; print(os.path.dirname(kerasdil.__file__))"],
                       capture_output=True, text=True, cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    return r.stdout.strip() if r.returncode == 0 else None


def test_installed_package_carries_sample_data_and_weights(tmp_path):
    location = _installed_location(tmp_path)
    if location is None or os.path.realpath(location).startswith(os.path.realpath(ROOT)):
        pytest.skip("kerasdil is not installed as a regular package (CI installs it with `pip install .`)")
    code = (
        "import warnings; warnings.simplefilter('ignore');"
        "from kerasdil.data import load_mnist_arrays; a = load_mnist_arrays('sample'); print(a.num_train);"
        "from kerasdil.zoo import model_info, list_models;"
        "print(sorted(t for n in list_models() for t in model_info(n).pretrained))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                       env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "2000"
    zoo = os.path.join(ROOT, "kerasdil", "zoo")
    shipped = [f for entry in os.listdir(zoo) if os.path.isdir(os.path.join(zoo, entry, "weights"))
               for f in os.listdir(os.path.join(zoo, entry, "weights")) if f.endswith(".json")]
    assert shipped
    assert len(eval(lines[1])) == len(shipped)


def test_rf_command_answers_without_importing_tensorflow():
    code = "import sys; from kerasdil.cli import main; main(['rf', '1,2,5']); assert 'tensorflow' not in sys.modules"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "gridding-free" in r.stdout
