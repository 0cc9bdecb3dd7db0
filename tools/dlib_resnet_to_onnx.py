#!/usr/bin/env python3
"""Convert dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1.dat) to ONNX.

    python tools/dlib_resnet_to_onnx.py [--source FILE] [--output FILE] [--no-manifest]

Why: the dlib-bin wheel is built without BLAS, so dlib runs this network on its own matrix
code (~70 ms per face); ONNX Runtime's kernels run the same weights several times faster.

The .dat file is read directly, in dlib's own serialization format (dlib/serialize.h,
dlib/dnn/core.h, layers.h, input.h, loss.h, cuda/tensor.h), without dlib:

- integers: one control byte (low 4 bits = byte count, 0x80 = negative) then that many
  little-endian bytes; strings: their length as such an integer, then the bytes; bools:
  the ASCII character '0' or '1';
- scalars such as the input means: dlib's float_details, a signed 64-bit mantissa and a
  signed 16-bit exponent, both as integers above (value = mantissa * 2**exponent);
- tensors: version 2, then num_samples, k, nr, nc, then raw little-endian float32;
- a network is serialized from the loss layer inwards: each layer writes its version, then
  its whole subnetwork, then its own details, so the input layer comes first and the
  details of the outer layers follow, innermost first.

The layer list is that of dlib's dnn_face_recognition_ex.cpp (tools/python/src/
face_recognition.cpp declares the same ``anet_type``): a 7×7/2 convolution, affine, relu,
3×3/2 max pool, 29 residual convolutions in four levels (``ares`` blocks add their input;
``ares_down`` blocks add a 2×2/2 average pool of their input), a global average pool and
a 128-d fully connected layer without bias. The trained file holds batch normalisation
(``bn_con2``); dlib's ``affine_`` folds it into a per-channel scale and shift at load
(gamma / sqrt(running_variance + eps), beta - scale * running_mean), and so does this tool,
then folds that affine into the preceding convolution's weights and bias.

``add_prev`` adds tensors of different shapes as dlib's ``tt::add`` does: the result has
the larger size in every dimension and missing elements count as zero (the skip of a
down-sampling block has half the channels, and at 8×8 → 3×3 / 4×4 a different spatial
size too). The graph pads the smaller operand with zeros at the end before ``Add``.

Input: a batch of dlib face chips, uint8 RGB, N×150×150×3 (what ``dlib.get_face_chip``
returns); the graph subtracts the means stored in the file and divides by 256, exactly as
``input_rgb_image_sized`` does. Output: N×128 float32 descriptors.

The output is deterministic (same source bytes and onnx version → same file bytes); the
tool records its sha256 in models/MANIFEST.json under its own entry only, and
tests/faces/test_descriptor_parity.py checks both the checksum and parity with dlib.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
OUTPUT_NAME = "dlib-face-recognition-resnet-v1.onnx"
SOURCE_NAME = "dlib_face_recognition_resnet_model_v1.dat"
OPSET = 17
IR_VERSION = 8
CHIP_SIZE = 150
FC_NO_BIAS = 1  # layers.h: enum fc_bias_mode { FC_HAS_BIAS = 0, FC_NO_BIAS = 1 }
INPUT_NAME = "chips"
OUTPUT_NAME_TENSOR = "descriptors"


class FormatError(ValueError):
    """The file is not the network this tool expects."""


# ---------------------------------------------------------------------------------------
# dlib's serialization primitives


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise FormatError(f"unexpected end of file at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def int(self, *, signed: bool = True) -> int:
        control = self._take(1)[0]
        size = control & 0x0F
        negative = bool(control & 0x80)
        if control & 0x70 or size > 8 or (negative and not signed):
            raise FormatError(f"bad integer control byte {control:#x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if negative else value

    def uint(self) -> int:
        return self.int(signed=False)

    def bool(self) -> bool:
        char = self._take(1)
        if char not in (b"0", b"1"):
            raise FormatError(f"bad bool {char!r} at byte {self.pos - 1}")
        return char == b"1"

    def string(self) -> str:
        return self._take(self.uint()).decode("ascii")

    def float(self) -> float:
        """dlib's float_details: mantissa * 2**exponent (serialize.h, float_details.h)."""
        if self.data[self.pos] & 0x70:
            raise FormatError(f"old ASCII float encoding at byte {self.pos} is not supported")
        mantissa = self.int()
        exponent = self.int()
        specials = {32000: np.inf, 32001: -np.inf, 32002: np.nan}
        if exponent in specials:
            return float(specials[exponent])
        return float(np.ldexp(np.float64(mantissa), exponent))

    def tensor(self) -> np.ndarray:
        if self.int() != 2:
            raise FormatError(f"unexpected resizable_tensor version at byte {self.pos}")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self._take(4 * count), dtype="<f4").astype(np.float32)
        return values.reshape(shape)

    def alias_tensor(self) -> tuple[int, int, int, int]:
        if self.int() != 1:
            raise FormatError(f"unexpected alias_tensor version at byte {self.pos}")
        return tuple(self.int() for _ in range(4))

    def expect_version(self, *allowed: str) -> str:
        version = self.string()
        if version not in allowed:
            raise FormatError(f"expected one of {allowed}, found {version!r} at byte {self.pos}")
        return version


# ---------------------------------------------------------------------------------------
# The network's layer list (dnn_face_recognition_ex's anet_type), input side first


@dataclass
class Layer:
    kind: str  # input, con, affine, relu, max_pool, avg_pool, fc, add_prev, tag, skip
    tag: int = 0  # tag1/tag2, skip1, add_prev1/add_prev2
    params: dict = field(default_factory=dict)


def _block(filters: int, stride: int) -> list[Layer]:
    # block<N,BN,stride,SUB> = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUB>>>>>
    return [
        Layer("con", params={"filters": filters, "size": 3, "stride": stride}),
        Layer("affine"),
        Layer("relu"),
        Layer("con", params={"filters": filters, "size": 3, "stride": 1}),
        Layer("affine"),
    ]


def _ares(filters: int) -> list[Layer]:
    # ares = relu<add_prev1<block<N,affine,1,tag1<SUB>>>>
    return [Layer("tag", 1), *_block(filters, 1), Layer("add_prev", 1), Layer("relu")]


def _ares_down(filters: int) -> list[Layer]:
    # ares_down = relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUB>>>>>>>
    return [
        Layer("tag", 1),
        *_block(filters, 2),
        Layer("tag", 2),
        Layer("skip", 1),
        Layer("avg_pool", params={"size": 2, "stride": 2}),
        Layer("add_prev", 2),
        Layer("relu"),
    ]


def face_recognition_layers() -> list[Layer]:
    """Every layer of anet_type from the input to the fc layer (the loss is separate)."""
    layers = [
        Layer("input"),
        Layer("con", params={"filters": 32, "size": 7, "stride": 2}),
        Layer("affine"),
        Layer("relu"),
        Layer("max_pool", params={"size": 3, "stride": 2}),
    ]
    levels = [
        [_ares(32)] * 3,  # alevel4
        [_ares_down(64)] + [_ares(64)] * 3,  # alevel3
        [_ares_down(128)] + [_ares(128)] * 2,  # alevel2
        [_ares_down(256)] + [_ares(256)] * 2,  # alevel1
        [_ares_down(256)],  # alevel0
    ]
    for level in levels:
        for blocks in level:
            layers.extend(Layer(layer.kind, layer.tag, dict(layer.params)) for layer in blocks)
    layers.append(Layer("avg_pool", params={"size": 0, "stride": 1}))  # avg_pool_everything
    layers.append(Layer("fc", params={"outputs": 128}))
    return layers


# ---------------------------------------------------------------------------------------
# Reading the file


def _read_con(reader: Reader, layer: Layer) -> None:
    version = reader.expect_version("con_4", "con_5", "con_6")
    params = reader.tensor()
    num_filters = reader.int()
    nr, nc = reader.int(), reader.int()
    stride_y, stride_x = reader.int(), reader.int()
    padding_y, padding_x = reader.int(), reader.int()
    filters_shape = reader.alias_tensor()
    biases_shape = reader.alias_tensor()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        reader.float()
    use_bias = reader.bool() if version in ("con_5", "con_6") else True
    if version == "con_6" and reader.bool():
        raise FormatError("fused con+relu layers are not expected in this network")
    expected = layer.params
    if (num_filters, nr, nc, stride_y, stride_x) != (
        expected["filters"],
        expected["size"],
        expected["size"],
        expected["stride"],
        expected["stride"],
    ):
        raise FormatError(f"con layer {num_filters}x{nr}x{nc}/{stride_y} does not match {expected}")
    flat = params.reshape(-1)
    filter_count = int(np.prod(filters_shape))
    layer.params["weights"] = flat[:filter_count].reshape(filters_shape)
    bias_count = int(np.prod(biases_shape)) if use_bias else 0
    layer.params["bias"] = (
        flat[filter_count : filter_count + bias_count].reshape(-1)
        if use_bias
        else np.zeros(num_filters, np.float32)
    )
    layer.params["padding"] = (padding_y, padding_x)


def _read_bn_as_affine(reader: Reader, layer: Layer) -> None:
    version = reader.expect_version("bn_con2", "affine_", "affine_2")
    if version == "bn_con2":
        params = reader.tensor()
        gamma_shape = reader.alias_tensor()
        beta_shape = reader.alias_tensor()
        reader.tensor()  # means (of the last training batch)
        reader.tensor()  # invstds
        running_means = reader.tensor().reshape(-1)
        running_variances = reader.tensor().reshape(-1)
        reader.uint()  # num_updates
        reader.uint()  # running_stats_window_size
        for _ in range(4):
            reader.float()
        eps = reader.float()
        flat = params.reshape(-1)
        gamma_count = int(np.prod(gamma_shape))
        gamma = flat[:gamma_count]
        beta = flat[gamma_count : gamma_count + int(np.prod(beta_shape))]
        # affine_(const bn_&) computes this in float32 (layers.h).
        scale = gamma / np.sqrt(running_variances + np.float32(eps))
        shift = beta - scale * running_means
    else:
        params = reader.tensor()
        gamma_shape = reader.alias_tensor()
        beta_shape = reader.alias_tensor()
        mode = reader.int()
        if version == "affine_2" and reader.bool():
            raise FormatError("a disabled affine layer is not expected in this network")
        if mode != 0:  # CONV_MODE (layers.h: enum layer_mode { CONV_MODE = 0, FC_MODE = 1 })
            raise FormatError(f"affine layer in mode {mode}, expected CONV_MODE")
        flat = params.reshape(-1)
        gamma_count = int(np.prod(gamma_shape))
        scale = flat[:gamma_count]
        shift = flat[gamma_count : gamma_count + int(np.prod(beta_shape))]
    layer.params["scale"] = scale.astype(np.float32)
    layer.params["shift"] = shift.astype(np.float32)


def _read_pool(reader: Reader, layer: Layer, version: str) -> None:
    reader.expect_version(version)
    nr, nc = reader.int(), reader.int()
    stride_y, stride_x = reader.int(), reader.int()
    padding = (reader.int(), reader.int())
    expected = layer.params
    if (nr, nc, stride_y, stride_x) != (
        expected["size"],
        expected["size"],
        expected["stride"],
        expected["stride"],
    ):
        raise FormatError(f"{version} {nr}x{nc}/{stride_y} does not match {expected}")
    layer.params["padding"] = padding


def _read_fc(reader: Reader, layer: Layer) -> None:
    version = reader.expect_version("fc_2", "fc_3")
    num_outputs = reader.uint()
    num_inputs = reader.uint()
    params = reader.tensor()
    weights_shape = reader.alias_tensor()
    reader.alias_tensor()  # biases
    bias_mode = reader.int()
    for _ in range(4):
        reader.float()
    if version == "fc_3":
        reader.bool()
    if bias_mode != FC_NO_BIAS or num_outputs != layer.params["outputs"]:  # FC_NO_BIAS
        raise FormatError(f"fc layer with {num_outputs} outputs and bias mode {bias_mode}")
    count = int(np.prod(weights_shape))
    layer.params["weights"] = params.reshape(-1)[:count].reshape(num_inputs, num_outputs)


def _read_details(reader: Reader, layer: Layer) -> None:
    if layer.kind == "con":
        _read_con(reader, layer)
    elif layer.kind == "affine":
        _read_bn_as_affine(reader, layer)
    elif layer.kind == "relu":
        if reader.expect_version("relu_", "relu_2") == "relu_2" and reader.bool():
            raise FormatError("a disabled relu is not expected in this network")
    elif layer.kind == "max_pool":
        _read_pool(reader, layer, "max_pool_2")
    elif layer.kind == "avg_pool":
        _read_pool(reader, layer, "avg_pool_2")
    elif layer.kind == "add_prev":
        reader.expect_version("add_prev_")
    elif layer.kind == "fc":
        _read_fc(reader, layer)
    else:  # pragma: no cover - the layer list only holds the kinds above
        raise AssertionError(layer.kind)


def read_network(data: bytes) -> tuple[dict, list[Layer]]:
    """Parse the .dat file into the input means and the filled-in layer list."""
    reader = Reader(data)
    layers = face_recognition_layers()
    input_layer, first, rest = layers[0], layers[1], layers[2:]

    if reader.int() != 1:
        raise FormatError("unexpected add_loss_layer version")
    loss = reader.expect_version("loss_metric_", "loss_metric_2")
    if loss == "loss_metric_2":
        reader.float()  # margin
        reader.float()  # distance threshold
    # Layers serialize their version, then their subnetwork: outermost first.
    layer_versions = {}
    for index in range(len(rest) - 1, -1, -1):
        layer = rest[index]
        version = reader.int()
        allowed = (1,) if layer.kind in ("tag", "skip") else (1, 2)
        if version not in allowed:
            raise FormatError(f"unexpected version {version} for {layer.kind} layer {index}")
        layer_versions[index] = version
    # The innermost add_layer holds the input layer (core.h, add_layer<..., INPUT_LAYER>).
    input_version = reader.int()
    if input_version not in (2, 3):
        raise FormatError(f"unexpected input add_layer version {input_version}")
    reader.expect_version("input_rgb_image_sized")
    means = [reader.float() for _ in range(3)]
    if (reader.uint(), reader.uint()) != (CHIP_SIZE, CHIP_SIZE):
        raise FormatError("input layer is not 150×150")
    input_layer.params["means"] = means
    _read_details(reader, first)
    for _ in range(3):
        reader.bool()
    reader.tensor()  # x_grad
    reader.tensor()  # cached_output
    reader.tensor()  # grad_final
    if input_version >= 3:
        reader.uint()  # sample expansion factor
    # Then every outer layer's own details, innermost first.
    for index, layer in enumerate(rest):
        if layer.kind in ("tag", "skip"):
            continue
        _read_details(reader, layer)
        for _ in range(3):
            reader.bool()
        reader.tensor()  # x_grad
        reader.tensor()  # cached_output
        if layer_versions[index] == 2:
            reader.tensor()  # params_grad
    if reader.pos != len(data):
        raise FormatError(f"{len(data) - reader.pos} bytes left after the network")
    return {"means": means, "loss": loss}, layers


# ---------------------------------------------------------------------------------------
# Writing the ONNX graph


def build_model(layers: list[Layer]):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    initializers: list = []
    names: dict[str, int] = {}

    def fresh(prefix: str) -> str:
        names[prefix] = names.get(prefix, 0) + 1
        return f"{prefix}_{names[prefix]}"

    def constant(prefix: str, array: np.ndarray) -> str:
        name = fresh(prefix)
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], prefix: str, **attributes) -> str:
        output = fresh(prefix)
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    means = np.asarray(layers[0].params["means"], np.float32).reshape(1, 3, 1, 1)
    x = node("Cast", [INPUT_NAME], "as_float", to=TensorProto.FLOAT)
    x = node("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
    x = node("Sub", [x, constant("rgb_means", means)], "centred")
    # (pixel - mean) / 256.0 in dlib: division by a power of two is exact, as is this.
    x = node("Mul", [x, constant("one_256th", np.asarray(1 / 256, np.float32))], "input")

    # Track each tensor's shape (C, H, W) as dlib computes it, for add_prev's zero padding.
    shape = (3, CHIP_SIZE, CHIP_SIZE)
    tags: dict[int, tuple[str, tuple[int, int, int]]] = {}
    index = 1
    body = layers[1:]
    while index - 1 < len(body):
        layer = body[index - 1]
        index += 1
        if layer.kind == "con":
            weights = layer.params["weights"].astype(np.float64)
            bias = layer.params["bias"].astype(np.float64)
            following = body[index - 1] if index - 1 < len(body) else None
            if following is not None and following.kind == "affine":
                # con followed by affine: fold the per-channel scale and shift in.
                scale = following.params["scale"].astype(np.float64)
                weights = weights * scale[:, None, None, None]
                bias = bias * scale + following.params["shift"].astype(np.float64)
                index += 1
            size, stride = layer.params["size"], layer.params["stride"]
            pad_y, pad_x = layer.params["padding"]
            x = node(
                "Conv",
                [
                    x,
                    constant("weights", weights.astype(np.float32)),
                    constant("bias", bias.astype(np.float32)),
                ],
                "conv",
                kernel_shape=[size, size],
                strides=[stride, stride],
                pads=[pad_y, pad_x, pad_y, pad_x],
            )
            shape = (
                layer.params["filters"],
                1 + (shape[1] + 2 * pad_y - size) // stride,
                1 + (shape[2] + 2 * pad_x - size) // stride,
            )
        elif layer.kind == "affine":
            channels = shape[0]
            x = node(
                "Mul",
                [x, constant("scale", layer.params["scale"].reshape(1, channels, 1, 1))],
                "scaled",
            )
            x = node(
                "Add",
                [x, constant("shift", layer.params["shift"].reshape(1, channels, 1, 1))],
                "shifted",
            )
        elif layer.kind == "relu":
            x = node("Relu", [x], "relu")
        elif layer.kind in ("max_pool", "avg_pool"):
            size, stride = layer.params["size"], layer.params["stride"]
            if size == 0:  # avg_pool_everything
                x = node("GlobalAveragePool", [x], "global_pool")
                shape = (shape[0], 1, 1)
            else:
                pad_y, pad_x = layer.params["padding"]
                if (pad_y, pad_x) != (0, 0):
                    raise FormatError("padded pooling is not expected in this network")
                op = "MaxPool" if layer.kind == "max_pool" else "AveragePool"
                x = node(op, [x], op.lower(), kernel_shape=[size, size], strides=[stride, stride])
                shape = (
                    shape[0],
                    1 + (shape[1] - size) // stride,
                    1 + (shape[2] - size) // stride,
                )
        elif layer.kind == "tag":
            tags[layer.tag] = (x, shape)
        elif layer.kind == "skip":
            x, shape = tags[layer.tag]
        elif layer.kind == "add_prev":
            other, other_shape = tags[layer.tag]
            target = tuple(max(a, b) for a, b in zip(shape, other_shape, strict=True))

            def padded(tensor: str, current: tuple[int, int, int], target=target) -> str:
                if current == target:
                    return tensor
                # tt::add: missing elements are zero. Pad channels, rows, columns at the end.
                amounts = [0, 0, 0, 0, 0, *(t - c for t, c in zip(target, current, strict=True))]
                return node(
                    "Pad", [tensor, constant("pads", np.asarray(amounts, np.int64))], "zero_padded"
                )

            x = node("Add", [padded(x, shape), padded(other, other_shape)], "residual")
            shape = target
        elif layer.kind == "fc":
            x = node("Flatten", [x], "flat", axis=1)
            x = node("MatMul", [x, constant("fc_weights", layer.params["weights"])], "fc")
        else:  # pragma: no cover
            raise AssertionError(layer.kind)
    nodes[-1].output[0] = OUTPUT_NAME_TENSOR

    graph = helper.make_graph(
        nodes,
        "dlib_face_recognition_resnet_model_v1",
        [
            helper.make_tensor_value_info(
                INPUT_NAME, TensorProto.UINT8, ["n", CHIP_SIZE, CHIP_SIZE, 3]
            )
        ],
        [helper.make_tensor_value_info(OUTPUT_NAME_TENSOR, TensorProto.FLOAT, ["n", 128])],
        initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="visionera tools/dlib_resnet_to_onnx.py",
        doc_string=(
            "dlib's face recognition ResNet (dlib-models, CC0 / public domain), converted from "
            f"{SOURCE_NAME}. Input: N×150×150×3 uint8 RGB chips from dlib.get_face_chip "
            "(size 150, padding 0.25); output: N×128 descriptors, Euclidean threshold 0.6."
        ),
    )
    onnx.checker.check_model(model)
    return model


def default_source() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("face_recognition_models is not installed; pass --source")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / SOURCE_NAME


def convert(source: Path) -> bytes:
    data = source.read_bytes()
    _, layers = read_network(data)
    return build_model(layers).SerializeToString()


def update_manifest(manifest_path: Path, output: Path, source: Path, onnx_bytes: bytes) -> None:
    """Write this model's entry only: other tools own the other entries."""
    import onnx

    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"files": {}}
    manifest.setdefault("files", {})[output.name] = {
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "size": len(onnx_bytes),
        "built_by": "tools/dlib_resnet_to_onnx.py",
        "onnx": onnx.__version__,
        "source": {
            "package": "face_recognition_models (PyPI)",
            "file": f"face_recognition_models/models/{SOURCE_NAME}",
            "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        },
        "upstream": {
            "model": "dlib ResNet-29 face recognition network (dnn_face_recognition_ex), 128-d",
            "url": "https://github.com/davisking/dlib-models",
            "license": "CC0-1.0",
        },
        "inputs": [{"name": INPUT_NAME, "dtype": "uint8", "shape": ["n", CHIP_SIZE, CHIP_SIZE, 3]}],
        "outputs": [{"name": OUTPUT_NAME_TENSOR, "dtype": "float32", "shape": ["n", 128]}],
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=MODELS_DIR / OUTPUT_NAME)
    parser.add_argument(
        "--no-manifest", action="store_true", help="do not record the sha256 in MANIFEST.json"
    )
    args = parser.parse_args(argv)
    source = args.source or default_source()
    onnx_bytes = convert(source)
    args.output.write_bytes(onnx_bytes)
    if not args.no_manifest:
        update_manifest(args.output.parent / "MANIFEST.json", args.output, source, onnx_bytes)
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    print(f"wrote {args.output} ({len(onnx_bytes)} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
