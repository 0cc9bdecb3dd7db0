"""Convert one TF.js graph model (model.json + weight shards) to ONNX.

Runs ONLY inside the throwaway conversion venv that tools/build_models.py creates
(tensorflow-cpu + tf2onnx); the project never imports it. Usage:

    python tools/tfjs_to_onnx.py SPEC.json

SPEC is a JSON object with: model_json, output_path, report_path, inputs (TF tensor
names), outputs (TF tensor names), rename (TF tensor name -> ONNX name), metadata
(string -> string, stored in the ONNX file), opset.

TF.js graph JSON is a GraphDef in proto3-JSON with the weights moved out into binary
shards (often float16-quantised, int64 narrowed to int32) and some TF.js-only fused ops.
We rebuild a plain GraphDef from it, split the fused ops into the standard ops they
stand for, let tf2onnx convert that, and then check ONNX Runtime against TensorFlow on
the same input so that a bad conversion fails the build instead of shipping.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx
from google.protobuf import json_format
from tensorflow.core.framework import attr_value_pb2, graph_pb2, node_def_pb2
from tensorflow.python.framework import op_def_registry

# Bytes per element of TF.js weight dtypes, as stored in the shards.
_STORED_DTYPES = {
    "float32": np.float32,
    "int32": np.int32,
    "bool": np.bool_,
    "float16": np.float16,
    "uint8": np.uint8,
    "uint16": np.uint16,
}

_ACTIVATIONS = {"Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu"}


def read_weights(manifest: list[dict], directory: Path) -> dict[str, np.ndarray]:
    buffer = b"".join(
        (directory / path).read_bytes() for group in manifest for path in group["paths"]
    )
    weights: dict[str, np.ndarray] = {}
    offset = 0
    for group in manifest:
        for entry in group["weights"]:
            shape = [int(size) for size in entry["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quantization = entry.get("quantization")
            stored = _STORED_DTYPES[quantization["dtype"] if quantization else entry["dtype"]]
            nbytes = count * np.dtype(stored).itemsize
            values = np.frombuffer(buffer, dtype=stored, count=count, offset=offset)
            offset += nbytes
            if quantization and quantization["dtype"] in ("uint8", "uint16"):
                values = values.astype(np.float32) * quantization["scale"] + quantization["min"]
            weights[entry["name"]] = values.astype(_STORED_DTYPES.get(entry["dtype"], np.float32))
            weights[entry["name"]] = weights[entry["name"]].reshape(shape)
    if offset != len(buffer):
        raise ValueError(f"weight shards hold {len(buffer)} bytes but the manifest uses {offset}")
    return weights


def _copy_attrs(source: node_def_pb2.NodeDef, target: node_def_pb2.NodeDef, names) -> None:
    for name in names:
        if name in source.attr:
            target.attr[name].CopyFrom(source.attr[name])


def _split_fused(node: node_def_pb2.NodeDef) -> list[node_def_pb2.NodeDef]:
    """Rewrite a fused conv/matmul node as base op -> BiasAdd -> activation.

    The last node keeps the fused node's name so every consumer stays wired.
    """
    fused_ops = [op.decode() for op in node.attr["fused_ops"].list.s]
    data_inputs = [name for name in node.input if not name.startswith("^")]
    control_inputs = [name for name in node.input if name.startswith("^")]
    if fused_ops[:1] != ["BiasAdd"] or len(fused_ops) > 2 or int(node.attr["num_args"].i) != 1:
        raise NotImplementedError(f"{node.name}: fused ops {fused_ops} are not supported")
    activation = fused_ops[1] if len(fused_ops) == 2 else None
    if activation is not None and activation not in _ACTIVATIONS:
        raise NotImplementedError(f"{node.name}: fused activation {activation} is not supported")

    base = node_def_pb2.NodeDef(name=f"{node.name}/base")
    if node.op == "_FusedConv2D":
        base.op = "Conv2D"
        base_attrs = (
            "T",
            "strides",
            "padding",
            "explicit_paddings",
            "data_format",
            "dilations",
            "use_cudnn_on_gpu",
        )
    elif node.op in ("FusedDepthwiseConv2dNative", "_FusedDepthwiseConv2dNative"):
        base.op = "DepthwiseConv2dNative"
        base_attrs = ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations")
    elif node.op == "_FusedMatMul":
        base.op = "MatMul"
        base_attrs = ("T", "transpose_a", "transpose_b")
    else:
        raise NotImplementedError(f"{node.name}: fused op {node.op} is not supported")
    base.input.extend(data_inputs[:2] + control_inputs)
    _copy_attrs(node, base, base_attrs)

    bias = node_def_pb2.NodeDef(name=f"{node.name}/bias" if activation else node.name, op="BiasAdd")
    bias.input.extend([base.name, data_inputs[2]])
    _copy_attrs(node, bias, ("T", "data_format") if base.op != "MatMul" else ("T",))
    if activation is None:
        return [base, bias]

    act = node_def_pb2.NodeDef(name=node.name, op=activation)
    act.input.append(bias.name)
    _copy_attrs(node, act, ("T",))
    if activation == "LeakyRelu":
        act.attr["alpha"].CopyFrom(attr_value_pb2.AttrValue(f=node.attr["leakyrelu_alpha"].f))
    return [base, bias, act]


def _fill_default_attrs(node: node_def_pb2.NodeDef) -> None:
    """TF.js drops attributes that equal their op default; current TF insists on them."""
    op_def = op_def_registry.get(node.op)
    if op_def is None:
        raise NotImplementedError(f"{node.name}: TensorFlow has no op {node.op}")
    for attr in op_def.attr:
        if attr.name not in node.attr and attr.HasField("default_value"):
            node.attr[attr.name].CopyFrom(attr.default_value)


def load_graph_def(model_json: Path) -> graph_pb2.GraphDef:
    spec = json.loads(model_json.read_text())
    source = json_format.ParseDict(
        spec["modelTopology"], graph_pb2.GraphDef(), ignore_unknown_fields=True
    )
    weights = read_weights(spec["weightsManifest"], model_json.parent)
    graph_def = graph_pb2.GraphDef()
    graph_def.versions.CopyFrom(source.versions)
    for node in source.node:
        if node.op == "Const" and node.name in weights:
            dtype = tf.dtypes.as_dtype(node.attr["dtype"].type)
            value = weights[node.name].astype(dtype.as_numpy_dtype)
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value, dtype=dtype))
        replacement = _split_fused(node) if "fused_ops" in node.attr else [node]
        for new_node in replacement:
            _fill_default_attrs(new_node)
        graph_def.node.extend(replacement)
    return graph_def


def _placeholder_spec(
    graph_def: graph_pb2.GraphDef, tensor_name: str
) -> tuple[list[int], np.dtype]:
    node = next(n for n in graph_def.node if n.name == tensor_name.split(":")[0])
    dims = [d.size for d in node.attr["shape"].shape.dim]
    return [1 if size < 0 else size for size in dims], tf.dtypes.as_dtype(node.attr["dtype"].type)


def _sample_input(shape: list[int], dtype: tf.dtypes.DType, rng: np.random.Generator) -> np.ndarray:
    # A smooth ramp plus mild noise: random pixels alone make arg-max heads (MoveNet)
    # flip between near-equal cells, which would flag a correct conversion.
    ramp = np.linspace(0.0, 1.0, int(np.prod(shape))).reshape(shape)
    values = 0.8 * ramp + 0.2 * rng.random(shape)
    if dtype.is_integer:
        return (values * 255).astype(dtype.as_numpy_dtype)
    return (values * 2.0 - 1.0).astype(dtype.as_numpy_dtype)


def _rename(model: onnx.ModelProto, rename: dict[str, str]) -> None:
    graph = model.graph
    for node in graph.node:
        node.input[:] = [rename.get(name, name) for name in node.input]
        node.output[:] = [rename.get(name, name) for name in node.output]
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        value.name = rename.get(value.name, value.name)
    # tf2onnx names unknown dimensions "unk__N"; the only ones our models have are batch.
    for value in list(graph.input) + list(graph.output):
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param.startswith("unk__"):
                dim.dim_param = "batch"


def _canonicalise(model: onnx.ModelProto) -> None:
    """Give tf2onnx's generated names stable values so rebuilds are byte-identical.

    tf2onnx numbers folded constants and helper nodes (``const_fold_opt__87``) in an
    order that varies between runs, and when it merges equal constants the surviving
    name varies too. Naming every initializer after its first use (node order is stable)
    and sorting them makes the file a function of its inputs.
    """
    graph = model.graph
    generated = re.compile(r"__\d+(:\d+)?$")
    rename: dict[str, str] = {}
    for index, node in enumerate(graph.node):
        if generated.search(node.name):
            node.name = f"{node.op_type.lower()}_{index}"
        for position, name in enumerate(node.output):
            if generated.search(name) and name not in rename:
                rename[name] = f"{node.name}:{position}"
    initializer_names = {init.name for init in graph.initializer}
    for node in graph.node:
        for position, name in enumerate(node.input):
            if name in initializer_names and name not in rename:
                rename[name] = f"{node.name}/input{position}"
    _rename(model, rename)
    for init in graph.initializer:
        init.name = rename.get(init.name, init.name)
    ordered = sorted(graph.initializer, key=lambda init: init.name)
    del graph.initializer[:]
    graph.initializer.extend(ordered)


def _tensor_spec(value: onnx.ValueInfoProto) -> dict:
    tensor_type = value.type.tensor_type
    dims = [
        d.dim_value if d.HasField("dim_value") else (d.dim_param or -1)
        for d in tensor_type.shape.dim
    ]
    return {
        "name": value.name,
        "dtype": onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type).name,
        "shape": dims,
    }


def convert(spec: dict) -> dict:
    graph_def = load_graph_def(Path(spec["model_json"]))
    output_path = Path(spec["output_path"])

    # Reference outputs from TensorFlow itself on the rebuilt graph.
    rng = np.random.default_rng(0)
    feeds = {}
    for name in spec["inputs"]:
        shape, dtype = _placeholder_spec(graph_def, name)
        feeds[name] = _sample_input(shape, dtype, rng)
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        expected = session.run(spec["outputs"], feed_dict=feeds)

    model_proto, _ = tf2onnx.convert.from_graph_def(
        graph_def,
        input_names=spec["inputs"],
        output_names=spec["outputs"],
        opset=spec["opset"],
    )
    rename = spec.get("rename", {})
    _rename(model_proto, rename)
    _canonicalise(model_proto)
    model_proto.producer_name = "visionera tools/tfjs_to_onnx.py"
    model_proto.doc_string = spec["metadata"].get("description", "")
    del model_proto.metadata_props[:]
    for key, value in sorted(spec["metadata"].items()):
        model_proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model_proto)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_bytes(model_proto.SerializeToString())

    session = onnxruntime.InferenceSession(str(output_path), providers=["CPUExecutionProvider"])
    actual = session.run(
        [rename.get(name, name) for name in spec["outputs"]],
        {rename.get(name, name): value for name, value in feeds.items()},
    )
    max_errors = {}
    for name, want, got in zip(spec["outputs"], expected, actual, strict=True):
        if want.shape != got.shape:
            raise AssertionError(f"{name}: TF shape {want.shape} but ONNX shape {got.shape}")
        error = float(np.max(np.abs(want.astype(np.float64) - got.astype(np.float64))))
        scale = float(np.max(np.abs(want))) or 1.0
        if error > spec.get("tolerance", 1e-3) * max(1.0, scale):
            raise AssertionError(f"{name}: ONNX differs from TF by {error} (scale {scale})")
        max_errors[rename.get(name, name)] = error

    report = {
        "inputs": [_tensor_spec(v) for v in model_proto.graph.input],
        "outputs": [_tensor_spec(v) for v in model_proto.graph.output],
        "opset": spec["opset"],
        "max_abs_error_vs_tensorflow": max_errors,
        "converter": {
            "tensorflow": tf.__version__,
            "tf2onnx": tf2onnx.__version__,
            "onnx": onnx.__version__,
        },
    }
    Path(spec["report_path"]).write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    result = convert(json.loads(Path(sys.argv[1]).read_text()))
    print(json.dumps(result["max_abs_error_vs_tensorflow"]))
