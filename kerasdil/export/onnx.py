"""ONNX conversion with tf2onnx (dynamic batch, chosen opset) and an onnxruntime runner.

tf2onnx converts the same serving function the SavedModel serves, with the batch
dimension left dynamic (named ``batch``). tf2onnx keeps an op it cannot convert
as a non-standard node instead of failing, so every node is checked against the
ONNX op schemas and ``onnx.checker`` runs on the result.
"""

import contextlib
import logging
import os

import numpy as np

from kerasdil.export.audit import describe_ops, layer_of, nonstandard_onnx_nodes
from kerasdil.export.errors import ExportError

DEFAULT_OPSET = 17


@contextlib.contextmanager
def _quiet_tf2onnx():
    # tf2onnx logs every unsupported op at ERROR level; ExportError says it once.
    logger = logging.getLogger("tf2onnx")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def convert(function, input_signature, *, opset=DEFAULT_OPSET, layer_names=()):
    """Convert a serving ``tf.function`` to an ONNX ModelProto.

    Args:
        function: a ``tf.function`` returning ``{"output": tensor}``.
        input_signature: its input signature (batch dimension None: dynamic batch).
        opset: ONNX opset (default 17).
        layer_names: Keras layer names, to name the culprit in an error.

    Returns:
        ``onnx.ModelProto`` with input ``<input name>`` and output ``output``, the
        batch dimension named ``batch``.

    Raises:
        ExportError: tf2onnx failed, or left ops that are not standard ONNX.
    """
    import onnx
    import tf2onnx

    if isinstance(opset, bool) or not isinstance(opset, int) or opset < 9:
        raise ValueError(f"ONNX opset must be an integer >= 9, got {opset!r}.")
    try:
        with _quiet_tf2onnx():
            model_proto, _ = tf2onnx.convert.from_function(function, input_signature=input_signature, opset=opset)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:
        raise ExportError(f"ONNX conversion with tf2onnx (opset {opset}) failed: {type(e).__name__}: {e}") from None
    bad = nonstandard_onnx_nodes(model_proto)
    if bad:
        by_op = {}
        for op, node in bad:
            by_op.setdefault(op, [])
            layer = layer_of(node, layer_names) or node
            if layer not in by_op[op]:
                by_op[op].append(layer)
        raise ExportError(
            f"cannot convert to ONNX opset {opset}: {describe_ops(by_op)} has no ONNX equivalent in tf2onnx; "
            "replace that layer with standard Keras layers, or leave 'onnx' out of the formats."
        )
    for value in list(model_proto.graph.input) + list(model_proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = "batch"
    try:
        onnx.checker.check_model(model_proto)
    except onnx.checker.ValidationError as e:
        raise ExportError(f"the ONNX model tf2onnx produced does not pass onnx.checker: {e}") from None
    return model_proto


class OnnxRuntimeRunner:
    """Run an .onnx file with onnxruntime on CPU."""

    runtime = "onnxruntime"

    def __init__(self, path, *, num_threads=None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if num_threads:
            options.intra_op_num_threads = num_threads
        self.session = ort.InferenceSession(os.fspath(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.input_shape = self.session.get_inputs()[0].shape

    def _run(self, x):
        return self.session.run(None, {self.input_name: x})[0]

    def batch_fn(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        return (lambda: self._run(x)), None

    def predict(self, x, batch_size=64):
        x = np.asarray(x, dtype=np.float32)
        return np.concatenate([self._run(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
