"""tools/bench_robustness.py on the embedded sample, with a saved peer instead of training one."""

import importlib.util
import json
import os

import pytest

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")


@pytest.fixture()
def bench(monkeypatch):
    monkeypatch.syspath_prepend(TOOLS)  # the tool imports tools/_report.py as a script would
    spec = importlib.util.spec_from_file_location("bench_robustness", os.path.join(TOOLS, "bench_robustness.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # TensorFlow traces two models' predict functions
def test_tables_count_the_cells_below_the_peer(bench, tmp_path, capsys):
    from kerasdil.zoo import keras_io_convnet

    peer = tmp_path / "peer.keras"
    keras_io_convnet().save(peer)  # untrained: a weak peer, so some cells differ
    out = tmp_path / "bench"
    argv = ["--data", "sample", "--models", "mnist_dsdc:mnist", "--peer-weights", str(peer),
            "--corruptions", "shift,contrast", "--severities", "1,5", "--limit", "24", "--out", str(out)]
    assert bench.main(argv) == 0
    result = json.loads((out / "bench_robustness.json").read_text())
    ours, theirs = result["models"]["mnist_dsdc:mnist"], result["models"]["keras_io_convnet (peer)"]
    below = sum(ours["accuracy"][n][s] < theirs["accuracy"][n][s] for n in ("shift", "contrast") for s in ("1", "5"))
    assert ours["cells_below_peer"] == below and theirs["cells_below_peer"] is None
    assert result["samples"] == 24 and result["peer"]["weights"] == str(peer)
    table = (out / "bench_robustness.md").read_text()
    assert f"| cells below the peer | {below} of 4 | - |" in table
    gaps = {(n, s): 100 * (ours["accuracy"][n][s] - theirs["accuracy"][n][s]) for n in ("shift", "contrast") for s in ("1", "5")}
    gap, corruption, severity = min((g, n, s) for (n, s), g in gaps.items())  # ties: the first name
    assert ours["worst_cell_against_peer"] == {"points": round(gap, 2), "corruption": corruption, "severity": severity}
    assert f"| worst cell against the peer (points) | {gap:+.2f} ({corruption} {severity}) | - |" in table
    assert "| shift fraction=0.25 (5) |" in table and "**mean over 4 cells**" in table
    assert (out / "robustness_examples.png").exists()
    assert table in capsys.readouterr().out + "\n"


def test_unknown_corruption_exits_2_before_any_work(bench, tmp_path, capsys):
    assert bench.main(["--data", "sample", "--corruptions", "fgo", "--out", str(tmp_path / "b")]) == 2
    assert "unknown corruption 'fgo'" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
