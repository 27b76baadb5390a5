"""TFLite conversion (float32, float16, dynamic-range, int8) and a LiteRT runner.

Conversion goes through ``tf.lite.TFLiteConverter.from_concrete_functions`` on a
serving function with a fully static input shape (batch 1). With a static shape
the converter fuses the SpaceToBatchND -> conv -> BatchToSpaceND rewrite of a
dilated conv back into one native dilated CONV_2D / DEPTHWISE_CONV_2D;
``keras.Model.export(format="litert")`` and any dynamic-batch conversion leave the
rewrite in (measured on TF 2.21). Only builtin ops are allowed (no Flex /
SELECT_TF_OPS); int8 is full-integer (``TFLITE_BUILTINS_INT8``).

By default every variant is then compacted, losslessly (see :func:`compact`):
internal tensor names are dropped (debugging aids no runtime reads, several
percent of a small model's file; the input and output keep theirs) and identical
quantization zero-point vectors are stored once (per-channel int8 otherwise
stores 8 bytes of zeros per output channel of every weight and bias).
"""

import os
import re

import numpy as np

from kerasdil import _compat
from kerasdil.export.audit import describe_ops, layers_using, tf_nodes
from kerasdil.export.errors import ExportError

QUANTIZATIONS = ("float32", "float16", "dynamic", "int8")


def _tf_ops_in_message(text):
    """TensorFlow op names a converter error blames."""
    ops = set()
    for pattern in (r"(?:Custom|Flex|TF Select) ops: ([^\n]+)", r"'tf\.(\w+)' op is neither"):
        for match in re.findall(pattern, text):
            ops.update(o.strip() for o in match.split(",") if o.strip())
    return ops


def convert(
    concrete_function,
    quantization="float32",
    representative=None,
    int8_io=False,
    layer_names=(),
    per_channel=True,
    strip_names=True,
    share_zero_points=True,
):
    """Convert a static-shape serving function to a .tflite flatbuffer.

    Args:
        concrete_function: a ``tf.function`` concrete function with a fully static
            input shape returning ``{"output": tensor}``.
        quantization: "float32", "float16" (float16 weights), "dynamic" (int8
            weights, float activations) or "int8" (full-integer).
        representative: for "int8", float32 inputs ``(N, *input_shape)`` used to
            calibrate activation ranges.
        int8_io: for "int8", make the model's input and output int8 too (else
            float32 with QUANTIZE / DEQUANTIZE at the ends).
        per_channel: for "int8", one scale per output channel of each weight
            (default, TFLite's usual). False: one scale per tensor, which drops
            12 bytes per channel of quantization parameters (a smaller file) at
            some risk to accuracy, through the converter's private
            ``_experimental_disable_per_channel`` switch.
        layer_names: Keras layer names, to name the culprit in an error.
        strip_names: drop the internal tensor names from the flatbuffer (default;
            see :func:`compact`). False keeps them, for debugging with
            ``get_tensor_details()`` or a model viewer.
        share_zero_points: store identical quantization zero-point vectors once
            (default; lossless, see :func:`compact`). False writes the
            converter's layout.

    Returns:
        The flatbuffer bytes.

    Raises:
        ExportError: the model needs ops outside the TFLite builtins, or int8 has
            no representative data.
    """
    import tensorflow as tf

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)}, got {quantization!r}.")
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete_function])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantization == "int8":
        if representative is None or len(representative) == 0:
            raise ExportError("int8 quantization needs representative data (a few hundred real inputs).")
        samples = np.asarray(representative, dtype=np.float32)
        # Calibrate with batches of the function's static batch size (1 for the usual export).
        step = concrete_function.inputs[0].shape[0] or 1
        if len(samples) < step:
            raise ExportError(f"int8 quantization of a batch-{step} model needs at least {step} representative inputs.")

        def representative_dataset():
            for i in range(0, len(samples) - step + 1, step):
                yield [samples[i : i + step]]

        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        _compat.set_tflite_per_channel(converter, per_channel)
        if int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    try:
        flatbuffer = converter.convert()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:  # ConverterError and friends: say which layer, briefly
        text = str(e)
        blamed = _tf_ops_in_message(text)
        if blamed:
            from kerasdil.export.audit import frozen_graph_def

            try:
                by_op = layers_using(tf_nodes(frozen_graph_def(concrete_function)), blamed, layer_names)
            except Exception:
                by_op = {}
            where = describe_ops(by_op) if by_op else "ops " + ", ".join(sorted(blamed))
            raise ExportError(
                f"cannot convert to TFLite with builtin ops only ({quantization}): {where} "
                "has no TFLite builtin kernel (Flex / SELECT_TF_OPS are not allowed); replace that layer "
                "with standard Keras layers, or leave 'tflite' out of the formats."
            ) from None
        first = next((line.strip() for line in text.splitlines() if "error" in line.lower()), text.strip()[:300])
        raise ExportError(f"TFLite conversion ({quantization}) failed: {first}") from None
    return compact(flatbuffer, strip_names=strip_names, share_zero_points=share_zero_points)


def compact(flatbuffer, *, strip_names=True, share_zero_points=True):
    """The same .tflite model in fewer bytes: lossless, it computes exactly what it did.

    - ``strip_names``: clear what TensorFlow's ``flatbuffer_utils.strip_strings``
      clears (the model description, subgraph names, tensor names), except that
      the input and output tensors keep their names (``get_input_details()``
      still says ``image``) and signature definitions are kept (their keys do not
      depend on tensor names). Names are debugging aids no runtime reads.
    - ``share_zero_points``: write each distinct quantization zero-point vector
      once and point every tensor that holds it there. The schema fixes zero
      points at int64 and the interpreter wants one per scale, so per-channel
      int8 stores 8 bytes of zeros per output channel for every weight and bias
      tensor; shared, each distinct vector is stored once. The flatbuffer format
      allows shared offsets and the interpreter's verifier accepts them.

    Operators, buffers, scales, zero point values and metadata
    (``min_runtime_version``, the converter's ``CONVERSION_METADATA``) are
    untouched. The file is written through the schema's object API, as the
    converter itself writes its files (``flatbuffer_utils.convert_object_to_bytearray``).

    Args:
        flatbuffer: .tflite bytes.
        strip_names: drop internal tensor names.
        share_zero_points: store identical zero-point vectors once.

    Returns:
        The compacted .tflite bytes (the input unchanged when both are False, on
        a big-endian machine, or for a model with its buffers outside the
        flatbuffer, as models over 2 GB have).

    Example:
        >>> small = compact(open("model.tflite", "rb").read())
    """
    from kerasdil.export import _flatbuffer

    if not (strip_names or share_zero_points) or not _flatbuffer.little_endian():
        return bytes(flatbuffer)
    model = _flatbuffer.read(flatbuffer)
    if any(getattr(b, "offset", 0) > 1 for b in model.buffers or []):  # pragma: no cover - >2 GB models only
        return bytes(flatbuffer)
    if strip_names:
        model.description = None
        for graph in model.subgraphs or []:
            graph.name = None
            keep = set(np.asarray(graph.inputs if graph.inputs is not None else [], dtype=np.int64).tolist())
            keep |= set(np.asarray(graph.outputs if graph.outputs is not None else [], dtype=np.int64).tolist())
            for index, tensor in enumerate(graph.tensors or []):
                if index not in keep:
                    tensor.name = None
    return _flatbuffer.write(model, share_zero_points=share_zero_points)


def strip_tensor_names(flatbuffer):
    """The same .tflite model without its internal tensor names; see :func:`compact`.

    Example:
        >>> small = strip_tensor_names(open("model.tflite", "rb").read())
    """
    return compact(flatbuffer, strip_names=True, share_zero_points=False)


def _interpreter_module():
    try:
        from ai_edge_litert import interpreter
    except ImportError:  # pragma: no cover - fall back to TF's deprecated copy
        import tensorflow as tf

        return tf.lite.Interpreter, tf.lite.experimental.OpResolverType
    return interpreter.Interpreter, interpreter.OpResolverType


def interpreter(path_or_bytes, *, num_threads=None, xnnpack=True):
    """A LiteRT interpreter (``ai_edge_litert``), with XNNPACK unless ``xnnpack=False``.

    ``xnnpack=False`` builds it with ``BUILTIN_WITHOUT_DEFAULT_DELEGATES`` so the
    real op list is visible (with XNNPACK most ops fold into one DELEGATE node).
    """
    Interpreter, OpResolverType = _interpreter_module()
    kwargs = {"num_threads": num_threads or os.cpu_count() or 1}
    if not xnnpack:
        kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    if isinstance(path_or_bytes, (bytes, bytearray)):
        return Interpreter(model_content=bytes(path_or_bytes), **kwargs)
    return Interpreter(model_path=os.fspath(path_or_bytes), **kwargs)


class LiteRTRunner:
    """Run a .tflite file with the LiteRT interpreter (XNNPACK on by default).

    Inputs and outputs are float32 whatever the file's I/O types: int8 inputs are
    quantized with the file's scale / zero point, int8 outputs dequantized.
    The file has a static batch of 1; a larger batch is run by resizing the input
    when the graph allows it (a Flatten / Reshape baked for batch 1 does not), else
    one image at a time.
    """

    runtime = "litert"

    def __init__(self, path, *, num_threads=None, xnnpack=True):
        self.path = os.fspath(path)
        self.num_threads = num_threads or os.cpu_count() or 1
        self.xnnpack = xnnpack
        self._by_batch = {}
        self._resizable = None
        base = self._get(None)
        self.input_shape = tuple(int(d) for d in base.get_input_details()[0]["shape"])
        self.static_batch = self.input_shape[0]

    def _get(self, batch):
        if batch in self._by_batch:
            return self._by_batch[batch]
        it = interpreter(self.path, num_threads=self.num_threads, xnnpack=self.xnnpack)
        if batch is not None and batch != self.static_batch:
            index = it.get_input_details()[0]["index"]
            it.resize_tensor_input(index, [batch, *self.input_shape[1:]], strict=False)
        it.allocate_tensors()
        self._by_batch[batch] = it
        return it

    def resizable(self, batch):
        """Whether the file runs at ``batch`` by resizing its input (tested once)."""
        if self._resizable is None:
            try:
                self._run(self._get(batch), np.zeros((batch, *self.input_shape[1:]), np.float32))
                self._resizable = True
            except (RuntimeError, ValueError):
                self._by_batch.pop(batch, None)
                self._resizable = False
        return self._resizable

    @staticmethod
    def _run(it, x):
        inp = it.get_input_details()[0]
        out = it.get_output_details()[0]
        if inp["dtype"] in (np.int8, np.uint8):
            scale, zero = inp["quantization"]
            info = np.iinfo(inp["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(inp["dtype"])
        else:
            x = x.astype(inp["dtype"], copy=False)
        it.set_tensor(inp["index"], x)
        it.invoke()
        y = it.get_tensor(out["index"])
        if out["dtype"] in (np.int8, np.uint8):
            scale, zero = out["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        return np.array(y, dtype=np.float32)

    def batch_fn(self, x):
        """A no-argument callable running batch ``x`` once (for timing), plus a note."""
        n = len(x)
        if n == self.static_batch:
            it = self._get(None)
            return (lambda: self._run(it, x)), None
        if self.resizable(n):
            it = self._get(n)
            return (lambda: self._run(it, x)), None
        it = self._get(None)
        note = f"static batch {self.static_batch} cannot be resized to {n}; images run one at a time"
        return (lambda: [self._run(it, x[i : i + 1]) for i in range(n)]), note

    def predict(self, x, batch_size=64):
        """Outputs for all of ``x`` as float32 (runs in batches when resizable)."""
        step = batch_size if self.resizable(batch_size) else self.static_batch
        it = self._get(None if step == self.static_batch else step)
        outs = []
        for i in range(0, len(x), step):
            chunk = x[i : i + step]
            if len(chunk) != step:
                outs += [self._run(self._get(None), chunk[j : j + 1]) for j in range(len(chunk))]
            else:
                outs.append(self._run(it, chunk))
        return np.concatenate(outs)
