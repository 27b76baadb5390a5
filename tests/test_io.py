"""kerasdil.io: files written whole or not at all; the benchmarks' JSON + markdown reports."""

import json
import os

import numpy as np
import pytest

from kerasdil.io import write_bytes_atomic, write_json_atomic, write_report, write_text_atomic


def test_atomic_writers_replace_whole_files_and_leave_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    write_text_atomic(str(path), "old")
    assert write_text_atomic(str(path), "new ü") == str(path)
    assert path.read_text(encoding="utf-8") == "new ü"
    write_bytes_atomic(str(tmp_path / "b.bin"), b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    write_json_atomic(str(tmp_path / "c.json"), {"x": np.float32(0.5)}, default=lambda o: o.item())
    assert json.loads((tmp_path / "c.json").read_text()) == {"x": 0.5}
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.bin", "c.json"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "kept.json"
    write_text_atomic(str(path), "{}")
    with pytest.raises(TypeError):
        write_text_atomic(str(path), b"bytes are not text")
    assert path.read_text() == "{}" and os.listdir(tmp_path) == ["kept.json"]


def test_write_report_writes_json_and_markdown(tmp_path, capsys):
    json_path, md_path = write_report(str(tmp_path / "new"), "bench", {"rows": [1]}, ["| a |", "|---|"])
    assert json.loads(open(json_path).read()) == {"rows": [1]}
    assert open(md_path).read() == "| a |\n|---|\n"
    assert "| a |" in capsys.readouterr().out
