"""Keep the command line's output to what kerasdil itself says.

TensorFlow's native libraries log to file descriptor 2 while they load (oneDNN and
CPU-feature banners, a CUDA stub notice, twice: once per shared library) whatever
``TF_CPP_MIN_LOG_LEVEL`` says, device discovery logs a failed ``cuInit`` on machines
without a GPU driver, and the TFLite converter and the ONNX tools write their
progress to the same descriptor. None of it is about the
user's command. By default the CLI therefore

- sets ``TF_CPP_MIN_LOG_LEVEL=3`` (unless the user set it) before TensorFlow loads,
- loads TensorFlow and discovers devices with descriptor 2 captured, and
- runs noisy library calls (export's conversions) with descriptor 2 captured,

and shows what was captured when the call fails, so an error never loses its
context. Python-level messages (kerasdil's own warnings, Keras's progress bar) go
to the real stderr throughout. ``kerasdil --verbose`` skips all of this.
"""

import contextlib
import io
import os
import sys
import tempfile
import warnings

# Warnings from these packages' own modules say how the libraries are used inside
# kerasdil (a converter argument, a deprecated path), not what the user can change.
_LIBRARY_MODULES = r"(tensorflow|tf_keras|tf2onnx|onnx|onnxruntime|ai_edge_litert|absl)(\.|$)"


def setup(verbose=False):
    """Configure logging for one CLI process; call before anything imports TensorFlow."""
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", module=_LIBRARY_MODULES)
    # `--data sample` is announced by the command's own "data: embedded sample ..." line; a warning would say it twice.
    warnings.filterwarnings("ignore", message="sample data as requested")
    # One line per warning ("SampleDataWarning: ..."), without the file name and the source
    # line Python prints with it: they point into kerasdil, not at anything the user wrote.
    warnings.formatwarning = _format_warning


def _format_warning(message, category, filename, lineno, line=None):
    return f"{category.__name__}: {message}\n"


def import_tensorflow(verbose=False):
    """Import TensorFlow (and Keras) now, with the native libraries' load-time banners captured."""
    if verbose or "tensorflow" in sys.modules:
        return
    with captured_stderr():
        import tensorflow as tf
        import keras  # noqa: F401

        # Device discovery logs too (a failed cuInit on machines without a GPU driver), at the
        # first op; doing it here keeps it in the capture. Listing physical devices does not
        # initialise the runtime, so a distribution strategy can still be set up afterwards.
        tf.config.list_physical_devices()
    _quiet_python_loggers()


def _quiet_python_loggers():
    import logging

    # absl's Python logger carries the converter's deprecation notices ("WARNING:absl:...").
    logging.getLogger("absl").setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # absl comes with TensorFlow; without it there is nothing to quiet
        pass
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


@contextlib.contextmanager
def captured_stderr(enabled=True):
    """Send file descriptor 2 to a temporary file for the duration of the block.

    Python's ``sys.stderr`` keeps writing to the terminal (through a duplicate of
    the original descriptor), so only native libraries' output is captured. If the
    block raises, the captured text is written out before the exception goes on.
    """
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable descriptor 2 (embedded, closed)
        yield
        return
    old_stderr = sys.stderr
    capture = tempfile.TemporaryFile(mode="w+b")
    try:
        os.dup2(capture.fileno(), 2)
        sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(saved), "wb", buffering=0), write_through=True,
                                      encoding=getattr(old_stderr, "encoding", None) or "utf-8",
                                      errors="backslashreplace")
        try:
            yield
        except BaseException:
            _restore(saved, old_stderr)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            if text.strip():
                old_stderr.write(text if text.endswith("\n") else text + "\n")
                old_stderr.flush()
            raise
    finally:
        _restore(saved, old_stderr)
        os.close(saved)
        capture.close()


def _restore(saved, old_stderr):
    if sys.stderr is not old_stderr:
        replacement = sys.stderr
        sys.stderr = old_stderr
        try:
            replacement.close()
        except OSError:
            pass
    try:
        os.dup2(saved, 2)
    except OSError:
        pass
