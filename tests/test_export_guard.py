"""Export under non-finite numbers, hostile files and kills: refused at entry, failed
when broken, and a folder that is never left half-committed."""

import json
import os
import subprocess
import sys
import time
import warnings
import zipfile

import numpy as np
import pytest

from kerasdil.data import SampleDataWarning

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
FAST = dict(data="sample", max_samples=60, latency_repeats=0, batch_size=16, num_representative=32)

warnings.filterwarnings("ignore", category=SampleDataWarning)


def _main(*args):
    from kerasdil.cli import main

    return main(list(args))


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.mark.slow
def test_nan_calibration_data_is_refused_before_the_converter_runs(tmp_path):
    rep = np.random.default_rng(0).random((100, 28, 28, 1), dtype=np.float32)
    rep[0, 0, 0, 0] = np.nan
    rep[7, 1, 1, 0] = np.inf
    np.save(tmp_path / "r.npy", rep)
    out = tmp_path / "o"
    # A subprocess: before the check, TFLite's calibrator killed the process with SIGSEGV here.
    r = subprocess.run(
        [sys.executable, "-m", "kerasdil.cli", "export", "mnist_dsdc:mnist", "--out", str(out), "--format", "tflite",
         "--quantize", "int8", "--representative", str(tmp_path / "r.npy"), "--data", "sample", "--samples", "100",
         "--repeats", "0"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=ENV,
    )
    assert r.returncode == 2, r.stderr[-2000:]
    assert "representative data holds 2 NaN or infinite values in 2 of its 100 samples (the first is sample 0)" \
        in r.stderr
    assert "Traceback" not in r.stderr and not out.exists()


def test_nan_test_data_is_refused_and_a_nan_model_fails_without_a_metric(tmp_path):
    import keras

    from kerasdil.export import export
    from kerasdil.zoo import mnist_dsdc

    model = mnist_dsdc(width=2)
    x = np.full((8, 28, 28, 1), np.nan, np.float32)
    with pytest.raises(ValueError, match="test data holds 6,272 NaN or infinite values in 8 of its 8 samples"):
        export(model, tmp_path / "nan_data", formats="tflite", test_data=(x, np.zeros(8, int)), latency_repeats=0)
    assert not (tmp_path / "nan_data").exists()

    for v in model.weights:
        if v.path.endswith("kernel"):
            v.assign(np.full(v.shape, np.nan, dtype=keras.backend.standardize_dtype(v.dtype)))
    report = export(model, tmp_path / "nan_model", formats="tflite,onnx", **FAST)
    assert not report.passed
    assert report.keras["metric"] is None
    for artifact in report.artifacts:
        assert artifact.metric is None and not artifact.passed
        assert any("NaN or infinite outputs" in f for f in artifact.failures), artifact.failures
    text = (tmp_path / "nan_model" / "export_report.json").read_text()
    json.loads(text, parse_constant=lambda t: pytest.fail(f"non-JSON token {t}"))
    assert "PASS" not in report.to_markdown().split("## Ops")[0].replace("| pass |", "")


def test_parity_of_non_finite_outputs_fails_instead_of_reading_zero():
    from kerasdil.export.parity import compare, judge

    ref = np.array([[0.2, 0.8], [0.5, 0.5]], np.float32)
    out = np.array([[np.nan, np.nan], [0.5, 0.5]], np.float32)
    parity = compare(ref, out)
    assert parity["max_abs_diff"] is None and parity["non_finite"] == {"keras": 0, "artifact": 2}
    for q in ("float32", "float16", "dynamic", "int8"):
        _, ok, failure = judge(q, parity, None, "classification")
        assert not ok and "NaN or infinite outputs (2 from the artifact)" in failure


def test_a_text_file_as_representative_data_never_suggests_allow_pickle(tmp_path, capsys):
    bad = tmp_path / "r.npy"
    bad.write_text("these are not pixels\n")
    rc = _main("export", "mnist_dsdc", "--out", str(tmp_path / "o"), "--format", "tflite", "--quantize", "int8",
               "--representative", str(bad), "--data", "sample", "--repeats", "0")
    err = capsys.readouterr().err
    assert rc == 2 and "is not a .npy / .npz of plain arrays" in err
    assert "allow_pickle" not in err and err.count("\n") == 1


def test_a_keras_file_with_a_huge_config_is_refused_from_its_zip_directory(tmp_path):
    from kerasdil.export import load_model

    path = tmp_path / "big.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", "{}")
        with z.open("config.json", "w", force_zip64=True) as f:
            block = b" " * (1 << 20)
            for _ in range(80):  # 80 MiB of spaces: a file of about 80 KB
                f.write(block)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(FileNotFoundError):
        load_model(str(tmp_path / "missing.keras"))  # imports Keras first: the time below is the check's
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"config.json of 83,886,080 bytes"):
        load_model(str(path))
    assert time.perf_counter() - start < 2.0


def _fake_stage(out, pid, names, content):
    stage = out / f".kerasdil-export-{pid}-0badc0de.tmp"
    stage.mkdir()
    for name in names:
        (stage / name).write_text(content + name)
    return stage


def test_a_commit_killed_midway_is_completed_by_the_next_export_into_the_folder(tmp_path, monkeypatch):
    from kerasdil.export import _files

    out = tmp_path / "out"
    out.mkdir()
    names = ["model_float32.tflite", "model.onnx", "export_report.json", "export_report.md"]
    for name in names:
        (out / name).write_text("old " + name)
    stage = _fake_stage(out, os.getpid(), names, "new ")
    real, calls = os.replace, []

    def killed_after_three_renames(src, dst):
        calls.append(dst)
        if len(calls) == 1 + 4 + 2:  # the journal, four old files aside, one new in: then the process dies
            raise SystemExit("killed")
        return real(src, dst)

    monkeypatch.setattr(_files.os, "replace", killed_after_three_renames)
    with pytest.raises(SystemExit):
        _files.commit(str(stage), str(out), names)
    monkeypatch.setattr(_files.os, "replace", real)
    # Mid-commit: new artifacts in place, and no report at all, so none describes the mix.
    assert not (out / "export_report.json").exists() and not (out / "export_report.md").exists()
    journal = out / _files.JOURNAL
    entry = json.loads(journal.read_text())
    journal.write_text(json.dumps({**entry, "pid": _dead_pid()}))  # its process is gone now
    stale = _fake_stage(out, _dead_pid(), ["model_float32.tflite"], "stale ")  # a killed export's staging
    live = _fake_stage(out, os.getppid(), ["model_float32.tflite"], "live ")  # a running export's

    done = _files.tidy(str(out))
    assert any("completed the interrupted commit" in d for d in done) and stale.name in done
    assert sorted(os.listdir(out)) == sorted(names + [live.name])
    for name in names:
        assert (out / name).read_text() == "new " + name


def test_a_later_export_removes_staging_left_by_a_killed_one(tmp_path):
    from kerasdil.export import export
    from kerasdil.zoo import mnist_dsdc

    out = tmp_path / "out"
    out.mkdir()
    stale = _fake_stage(out, _dead_pid(), ["model_int8.tflite"], "half ")
    (out / f"model.onnx.{_dead_pid()}-0badc0de.tmp").write_text("half")
    report = export(mnist_dsdc(width=2), out, formats="tflite", **FAST)
    assert report.passed
    assert sorted(os.listdir(out)) == ["export_report.json", "export_report.md", "model_float32.tflite"]
    assert not stale.exists()


def test_a_commit_that_fails_midway_keeps_its_staging_for_the_next_export(tmp_path, monkeypatch):
    import errno

    from kerasdil.export import _files

    out = tmp_path / "out"
    out.mkdir()
    names = ["model.onnx", "export_report.json"]
    for name in names:
        (out / name).write_text("old " + name)
    real, calls = os.replace, []

    def failing_fourth_rename(src, dst):
        calls.append(dst)
        if len(calls) == 4:  # the journal, two old files aside, then the disk fails
            raise OSError(errno.EIO, "Input/output error", dst)
        return real(src, dst)

    with pytest.raises(OSError, match="Input/output"):
        with _files.staging(str(out)) as stage:
            for name in names:
                with open(os.path.join(stage, name), "w") as f:
                    f.write("new " + name)
            monkeypatch.setattr(_files.os, "replace", failing_fourth_rename)
            _files.commit(stage, str(out), names)
    monkeypatch.setattr(_files.os, "replace", real)
    assert os.path.isdir(stage)  # not removed: it holds the new files and the replaced old ones
    _files.tidy(str(out))
    assert sorted(os.listdir(out)) == sorted(names)
    assert [(out / n).read_text() for n in names] == ["new " + n for n in names]
