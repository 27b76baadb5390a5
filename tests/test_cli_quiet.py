"""The command line says what kerasdil says: no TensorFlow banners, converter chatter or
Keras warnings about kerasdil's own calls; `kerasdil --verbose` shows them."""

import os
import subprocess
import sys
import warnings

import pytest

from kerasdil._cli import _quiet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# TF_CPP_MIN_LOG_LEVEL=2 is what many users set; it does not hide load-time banners or cuInit.
ENV = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
NOISE = ("I0000", "W0000", "E0000", "absl", "cuInit", "oneDNN", "cuda", "shuffle=True", "fully_quantize",
         "XNNPACK", "Traceback")


def _run(code_or_args, timeout=300):
    cmd = [sys.executable, *(["-c", code_or_args] if isinstance(code_or_args, str) else ["-m", "kerasdil.cli",
                                                                                          *code_or_args])]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=timeout)


def _noise(text):
    return [line for line in text.splitlines() if any(word in line for word in NOISE)]


def test_captured_stderr_hides_native_output_and_replays_it_on_failure(capfd):
    with _quiet.captured_stderr():
        os.write(2, b"native banner\n")
        print("python message", file=sys.stderr)
    out, err = capfd.readouterr()
    assert "native banner" not in err and "python message" in err
    with pytest.raises(RuntimeError, match="conversion failed"):
        with _quiet.captured_stderr():
            os.write(2, b"converter log line\n")
            raise RuntimeError("conversion failed")
    out, err = capfd.readouterr()
    assert "converter log line" in err
    with _quiet.captured_stderr(enabled=False):
        os.write(2, b"shown when verbose\n")
    assert "shown when verbose" in capfd.readouterr().err


def test_tensorflow_loads_and_finds_devices_silently_under_the_cli():
    r = _run("from kerasdil._cli import _quiet; _quiet.setup(); _quiet.import_tensorflow(); "
             "import tensorflow as tf; print(float(tf.reduce_sum(tf.ones(3))))")
    assert r.returncode == 0 and r.stdout.strip() == "3.0"
    assert r.stderr == "", r.stderr


def test_zoo_list_and_info_answer_without_importing_tensorflow():
    # `zoo list` reads the records only; `zoo info` computes the receptive field from the entry's stage plan,
    # which takes numpy (kerasdil.receptive), never TensorFlow or Keras.
    code = ("import sys; from kerasdil.cli import main; assert main(['zoo', 'list']) == 0; "
            "print('after list:', sorted(m for m in ('tensorflow', 'keras', 'numpy') if m in sys.modules)); "
            "assert main(['zoo', 'info', 'deeplab_aspp']) == 0; "
            "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules); "
            "print('heavy modules:', heavy)")
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert "after list: []" in r.stdout and "heavy modules: []" in r.stdout
    assert "mnist_dsdc" in r.stdout and "params          104,672" in r.stdout and r.stderr == ""


def test_unknown_zoo_entry_is_one_clear_line():
    r = _run(["zoo", "info", "mnist_dscd"])
    assert r.returncode == 2
    assert r.stderr.strip() == ("kerasdil zoo: error: unknown zoo model 'mnist_dscd'; registered models: "
                                "deeplab_aspp, keras_io_convnet, lraspp_mobilenetv3, minirocket, mnist_conv, mnist_dsdc, series_dsdc, "
                                "unet_baseline.")


def test_training_raises_no_keras_warning_about_its_own_fit(tmp_path):
    from kerasdil.train import train

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train("mnist_dsdc", out_dir=str(tmp_path / "run"), epochs=1, batch_size=32, data="sample", limit=64,
              model_kwargs={"width": 4}, verbose=0, log=lambda *a: None)
    ours = [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)
            and "embedded sample" not in str(w.message)]
    assert not ours, ours


@pytest.mark.slow
def test_export_prints_the_report_without_converter_chatter(tmp_path):
    r = _run(["export", "mnist_dsdc:mnist", "--out", str(tmp_path / "out"), "--format", "tflite",
              "--quantize", "float32,int8", "--data", "sample", "--samples", "32", "--repeats", "1"])
    assert r.returncode == 0, r.stderr
    assert "result: PASS" in r.stdout
    assert not _noise(r.stdout + r.stderr), _noise(r.stdout + r.stderr)
    # What is left on stderr is kerasdil's own warning about the sample data, one line each.
    assert all(line.startswith("SampleDataWarning: ") for line in r.stderr.splitlines()), r.stderr
