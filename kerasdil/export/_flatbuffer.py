"""Reading and writing .tflite flatbuffers through the schema's object API.

Writing is what TensorFlow's ``flatbuffer_utils.convert_object_to_bytearray``
does (the converter itself writes every file through it to add its metadata),
with one option: identical int64 vectors can be written once and referenced
from every table that holds them. In the TFLite schema the only int64 vectors
are quantization zero points, and per-channel int8 weights and biases have one
zero point per output channel, all 0: the same vector of zeros over and over.
A flatbuffer may point any number of offsets at one vector (the format is a
graph of offsets, which the verifier checks for bounds, not for sharing), so the
file means exactly the same and loads in any TFLite / LiteRT interpreter.
"""

import sys

import flatbuffers
import numpy as np


def read(flatbuffer):
    """The ``ModelT`` object of .tflite bytes (``ai_edge_litert`` schema)."""
    from ai_edge_litert import schema_py_generated as S

    return S.ModelT.InitFromObj(S.Model.GetRootAs(bytes(flatbuffer), 0))


class _SharingBuilder(flatbuffers.Builder):
    """A ``flatbuffers.Builder`` that writes each distinct int64 numpy vector once."""

    def __init__(self, initial_size=1024):
        super().__init__(initial_size)
        self._shared = {}

    def CreateNumpyVector(self, x):  # noqa: N802 (flatbuffers' name)
        if x.dtype != np.int64:
            return super().CreateNumpyVector(x)
        key = (x.shape, x.tobytes())
        offset = self._shared.get(key)
        if offset is None:
            offset = self._shared[key] = super().CreateNumpyVector(x)
        return offset


def write(model, *, share_zero_points=True):
    """Bytes of a ``ModelT`` (either schema module), as the converter writes them.

    Args:
        model: the object-API model.
        share_zero_points: write each distinct zero-point vector once and share it
            (see the module docstring); False writes one per tensor, as TensorFlow does.
    """
    if share_zero_points:
        for graph in model.subgraphs or []:
            for tensor in graph.tensors or []:
                q = tensor.quantization
                if q is not None and q.zeroPoint is not None and not isinstance(q.zeroPoint, np.ndarray):
                    q.zeroPoint = np.asarray(q.zeroPoint, dtype=np.int64)
        builder = _SharingBuilder(1024)
    else:
        builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def little_endian():
    """Whether this machine writes .tflite byte order natively (object-API rewrites need it)."""
    return sys.byteorder == "little"
