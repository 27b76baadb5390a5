"""Op audit: which ops each exported graph holds, which are forbidden, and whether
every dilated convolution of the Keras model survived as a native dilated conv.

- TFLite: read from the flatbuffer itself (``ai_edge_litert.schema_py_generated``),
  which also gives each CONV_2D / DEPTHWISE_CONV_2D its dilation factors. An
  interpreter with default delegates would hide the ops behind one XNNPACK
  DELEGATE node; the flatbuffer shows what the file really holds.
- ONNX: the nodes of the graph, with their ``dilations`` attribute.
- SavedModel: the ops of the frozen serving function (inference graph only; the
  gradient functions stored beside it are not what serves).

Forbidden everywhere: the SpaceToBatch / BatchToSpace rewrite of a dilated conv
(it breaks GPU delegates and is slower on CPU), Flex / custom ops in TFLite (not
builtin), ops outside the ONNX standard, and Python callbacks (PyFunc), which
no exported artifact can carry.
"""

import collections
import re

#: TFLite builtin ops that must not appear (dilation left as SpaceToBatch).
TFLITE_FORBIDDEN = ("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")
#: ONNX ops that must not appear (space/batch shuffles left over from dilation).
ONNX_FORBIDDEN = ("SpaceToDepth", "DepthToSpace", "SpaceToBatchND", "BatchToSpaceND")
#: TensorFlow ops that call back into Python: no exporter can carry them.
PYTHON_OPS = ("PyFunc", "PyFuncStateless", "EagerPyFunc")
#: TensorFlow ops reported (not forbidden) in a SavedModel: TF runs them, but they
#: mean dilation is not native there.
SAVEDMODEL_NOTED = ("SpaceToBatchND", "BatchToSpaceND")


def sorted_counts(names):
    """``{op: count}`` sorted by op name."""
    return dict(sorted(collections.Counter(names).items()))


# ---------------------------------------------------------------- Keras model


def dilated_conv_layers(model):
    """Paths of the model's 2-D and 1-D conv layers with a kernel > 1 and dilation > 1.

    Each is expected to appear as one native dilated conv in every export (a 1-D
    conv runs as a 2-D one of dilation 1 x d).
    """
    import keras

    kinds = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D,
             keras.layers.Conv1D, keras.layers.DepthwiseConv1D, keras.layers.SeparableConv1D)
    found = []
    from kerasdil import _compat

    for layer in _compat.flatten_layers(model):
        if not isinstance(layer, kinds):
            continue
        rate = tuple(layer.dilation_rate)
        kernel = tuple(layer.kernel_size)
        if max(rate) > 1 and max(kernel) > 1:
            found.append(getattr(layer, "path", layer.name))
    return found


def layer_names(model):
    """Names of every layer inside ``model`` (recursively), deepest last."""
    from kerasdil import _compat

    return [layer.name for layer in _compat.flatten_layers(model)]


def layer_of(node_name, names):
    """The innermost Keras layer named in a graph node name, or None.

    TensorFlow node names carry the Keras name scopes, with ``_1``-style suffixes
    added by tracing: ``functional_1/bad_layer_1/PyFuncStateless``.
    """
    known = set(names)
    match = None
    for part in node_name.split("/"):
        for candidate in (part, re.sub(r"_\d+$", "", part)):
            if candidate in known:
                match = candidate
                break
    return match


# ---------------------------------------------------------------- TensorFlow


def frozen_graph_def(concrete_function):
    """GraphDef of ``concrete_function`` with variables folded into constants."""
    from kerasdil import _compat

    return _compat.convert_variables_to_constants(concrete_function).graph.as_graph_def()


def tf_nodes(graph_def):
    """``[(op type, node name)]`` of a GraphDef, function library included."""
    nodes = [(n.op, n.name) for n in graph_def.node]
    for fn in graph_def.library.function:
        nodes += [(n.op, n.name) for n in fn.node_def]
    return nodes


def layers_using(nodes, op_types, names):
    """``{op type: [layer names]}`` for the nodes of ``op_types``."""
    found = collections.defaultdict(list)
    for op, node in nodes:
        if op in op_types:
            layer = layer_of(node, names) or node
            if layer not in found[op]:
                found[op].append(layer)
    return dict(found)


def describe_ops(by_op):
    """``{op: [layers]}`` -> "layer 'x' (op A), layer 'y' (op B)"."""
    parts = []
    for op, layers in sorted(by_op.items()):
        for layer in layers:
            parts.append(f"layer {layer!r} (op {op})")
    return ", ".join(parts)


# ---------------------------------------------------------------- TFLite


def tflite_operators(flatbuffer):
    """Every operator of a .tflite flatbuffer, in order, over all subgraphs.

    Returns:
        List of dicts: ``op`` (builtin name, or ``CUSTOM:<code>`` for custom and
        Flex ops), ``dilation`` ((h, w) for CONV_2D / DEPTHWISE_CONV_2D, else None).
    """
    from ai_edge_litert import schema_py_generated as S

    names = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}
    model = S.Model.GetRootAs(flatbuffer, 0)
    out = []
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            code = model.OperatorCodes(op.OpcodeIndex())
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            name = names.get(builtin, f"BUILTIN_{builtin}")
            if name == "CUSTOM":
                custom = code.CustomCode()
                name = "CUSTOM:" + (custom.decode() if custom else "?")
            dilation = None
            if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                table = op.BuiltinOptions()
                options = S.Conv2DOptions() if name == "CONV_2D" else S.DepthwiseConv2DOptions()
                options.Init(table.Bytes, table.Pos)
                dilation = (options.DilationHFactor(), options.DilationWFactor())
            out.append({"op": name, "dilation": dilation})
    return out


def tflite_size_breakdown(flatbuffer):
    """Where a .tflite file's bytes go.

    Each part is what the file would lose without it, measured by writing the
    model again with that part removed (so flatbuffer headers, offsets and
    alignment padding are charged to the part that needs them):

    - ``constants``: data of the constant buffers (weights, biases, other constants);
    - ``quantization_params``: the quantization tables of the tensors (a float32
      scale and an int64 zero point per tensor, or per output channel for
      per-channel int8 weights and their biases; the schema fixes zero points at
      int64 and the interpreter wants one per scale; a file whose identical
      zero-point vectors are shared pays for each distinct one once);
    - ``tensor_names``: tensor and subgraph names and the model description
      (:func:`kerasdil.export.tflite.compact` drops all but the input and output names);
    - ``metadata``: metadata entries and their buffers (``min_runtime_version``,
      the converter's ``CONVERSION_METADATA``);
    - ``graph``: the rest: tensors (shapes, types, buffer slots), operators and
      their options, op codes, file header.

    Returns:
        dict of those byte counts and ``total`` (the file's size).
    """
    from kerasdil.export import _flatbuffer

    model = _flatbuffer.read(flatbuffer)
    # Measure with the layout the file has: zero-point vectors shared or not.
    sizes = {share: len(_flatbuffer.write(model, share_zero_points=share)) for share in (False, True)}
    share = min(sizes, key=lambda k: abs(sizes[k] - len(flatbuffer)))
    base = sizes[share]
    graphs = model.subgraphs or []
    tensors = [t for g in graphs for t in (g.tensors or [])]
    metadata_buffers = {m.buffer for m in (model.metadata or [])}

    def without(items):
        """Bytes saved by setting each (object, attribute) in ``items`` to None."""
        saved = [(obj, attr, getattr(obj, attr)) for obj, attr in items]
        for obj, attr, _ in saved:
            setattr(obj, attr, None)
        try:
            return base - len(_flatbuffer.write(model, share_zero_points=share))
        finally:
            for obj, attr, value in saved:
                setattr(obj, attr, value)

    buffers = list(enumerate(model.buffers or []))
    parts = {
        "constants": without([(b, "data") for i, b in buffers if i not in metadata_buffers]),
        "quantization_params": without([(t, "quantization") for t in tensors]),
        "tensor_names": without([(t, "name") for t in tensors] + [(g, "name") for g in graphs]
                                + [(model, "description")]),
        "metadata": without([(model, "metadata")] + [(b, "data") for i, b in buffers if i in metadata_buffers]),
    }
    total = len(flatbuffer)
    parts["graph"] = total - sum(parts.values())
    parts["total"] = total
    return parts


def audit_tflite(flatbuffer, expected_dilated):
    """Op audit of a .tflite file's bytes; see :func:`audit_result`."""
    operators = tflite_operators(flatbuffer)
    names = [o["op"] for o in operators]
    forbidden = sorted({n for n in names if n in TFLITE_FORBIDDEN or n.startswith("CUSTOM:")})
    native = [o for o in operators if o["dilation"] and max(o["dilation"]) > 1]
    dilations = sorted_counts(f"{o['op']} {o['dilation'][0]}x{o['dilation'][1]}" for o in native)
    result = audit_result(names, forbidden, len(native), expected_dilated, dilations)
    result["size_breakdown"] = tflite_size_breakdown(flatbuffer)
    return result


# ---------------------------------------------------------------- ONNX


def audit_onnx(model_proto, expected_dilated):
    """Op audit of an ONNX ModelProto; see :func:`audit_result`."""
    import onnx

    opset = {o.domain: o.version for o in model_proto.opset_import}
    names, forbidden, native, dilations = [], set(), 0, []
    for node in model_proto.graph.node:
        names.append(node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}:{node.op_type}")
        standard = onnx.defs.has(node.op_type, node.domain) if node.domain != "" else onnx.defs.has(node.op_type)
        if node.op_type in ONNX_FORBIDDEN or not standard:
            forbidden.add(names[-1])
        if node.op_type == "Conv":
            rate = next((list(a.ints) for a in node.attribute if a.name == "dilations"), [1, 1])
            if rate and max(rate) > 1:
                native += 1
                dilations.append(f"Conv {'x'.join(map(str, rate))}")
    result = audit_result(names, sorted(forbidden), native, expected_dilated, sorted_counts(dilations))
    result["opset"] = opset.get("", opset.get("ai.onnx"))
    return result


def nonstandard_onnx_nodes(model_proto):
    """``[(op type, node name)]`` of nodes that are not standard ONNX ops."""
    import onnx

    out = []
    for node in model_proto.graph.node:
        ok = onnx.defs.has(node.op_type, node.domain) if node.domain != "" else onnx.defs.has(node.op_type)
        if not ok:
            out.append((node.op_type, node.name))
    return out


# ---------------------------------------------------------------- SavedModel


def audit_savedmodel(graph_def, expected_dilated):
    """Op audit of the frozen serving graph of a SavedModel; see :func:`audit_result`."""
    nodes = tf_nodes(graph_def)
    names = [op for op, _ in nodes if op not in ("Const", "NoOp", "Identity", "Placeholder")]
    forbidden = sorted({n for n in names if n in PYTHON_OPS})
    native = 0
    dilations = []
    for node in list(graph_def.node) + [n for fn in graph_def.library.function for n in fn.node_def]:
        if node.op in ("Conv2D", "DepthwiseConv2dNative") and "dilations" in node.attr:
            rate = list(node.attr["dilations"].list.i)
            if rate and max(rate) > 1:
                native += 1
                dilations.append(f"{node.op} {rate[1]}x{rate[2]}")
    result = audit_result(names, forbidden, native, expected_dilated, sorted_counts(dilations))
    noted = sorted({n for n in names if n in SAVEDMODEL_NOTED})
    if noted:
        result["notes"].append(
            f"{', '.join(noted)} present: TensorFlow runs them, but those dilated convs are not native here"
        )
    # TensorFlow serves SpaceToBatch-based dilation correctly, so a missing native
    # dilated conv is only reported for SavedModel, not counted as a failure.
    result["dilated_ok"] = True
    return result


def audit_result(names, forbidden, native, expected_dilated, dilations):
    """The audit record shared by all formats.

    Keys: ``ops`` ({op: count}, sorted), ``num_ops``, ``forbidden`` (sorted op names
    found that must not be there), ``dilated_expected`` (Keras dilated conv layers),
    ``dilated_native`` (native dilated convs found), ``dilations`` ({"OP HxW": count}),
    ``dilated_ok``, ``notes``.
    """
    expected = len(expected_dilated)
    return {
        "ops": sorted_counts(names),
        "num_ops": len(names),
        "forbidden": list(forbidden),
        "dilated_expected": expected,
        "dilated_native": native,
        "dilations": dilations,
        "dilated_ok": native >= expected,
        "notes": [],
    }
