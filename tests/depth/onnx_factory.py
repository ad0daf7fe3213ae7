"""Tiny ONNX depth networks built in tests (needs the ``onnx`` test extra).

- :func:`channel_model`: output = a 1x1 convolution of the input, so the output is a known
  function of the preprocessed input and preprocessing can be checked exactly.
- :func:`midas_like_model`: a few conv layers with MiDaS v2.1 small's input and output
  shapes ([1, 3, 256, 256] -> [1, 256, 256]), names "0" and "797" like the real file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path


def channel_model(
    path: Path,
    *,
    width: int,
    height: int,
    weights: Sequence[float] = (1.0, 0.0, 0.0),
    bias: float = 0.0,
    fixed_size: bool = True,
    declare_size: bool | None = None,
    extra_negated_output: bool = False,
) -> Path:
    """output[y, x] = sum_c weights[c] * input[c, y, x] + bias, shape [1, height, width].

    ``fixed_size``: the output is reshaped to a constant [1, height, width], so the network
    fails on any other input size (like exported networks with baked-in shapes). Otherwise a
    Squeeze keeps it size-independent. ``declare_size`` (default: ``fixed_size``) writes
    height and width into the declared input shape, else symbolic "h", "w".
    ``extra_negated_output`` adds a second output
    "negated" = -output, to test choosing an output by name.
    """
    weight = numpy_helper.from_array(
        np.asarray(weights, dtype=np.float32).reshape(1, 3, 1, 1), name="weight"
    )
    bias_tensor = numpy_helper.from_array(np.asarray([bias], dtype=np.float32), name="bias")
    nodes = [helper.make_node("Conv", ["image", "weight", "bias"], ["conv"], kernel_shape=[1, 1])]
    initializers = [weight, bias_tensor]
    if fixed_size:
        shape = numpy_helper.from_array(
            np.asarray([1, height, width], dtype=np.int64), name="shape"
        )
        initializers.append(shape)
        nodes.append(helper.make_node("Reshape", ["conv", "shape"], ["depth"]))
    else:
        axes = numpy_helper.from_array(np.asarray([1], dtype=np.int64), name="axes")
        initializers.append(axes)
        nodes.append(helper.make_node("Squeeze", ["conv", "axes"], ["depth"]))
    declare_size = fixed_size if declare_size is None else declare_size
    out_height, out_width = (height, width) if declare_size else ("h", "w")
    in_height, in_width = (height, width) if declare_size else ("h", "w")
    outputs = [
        helper.make_tensor_value_info("depth", TensorProto.FLOAT, [1, out_height, out_width])
    ]
    if extra_negated_output:
        nodes.append(helper.make_node("Neg", ["depth"], ["negated"]))
        outputs.append(
            helper.make_tensor_value_info("negated", TensorProto.FLOAT, [1, out_height, out_width])
        )
    graph = helper.make_graph(
        nodes,
        "channel_model",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, in_height, in_width])],
        outputs,
        initializer=initializers,
    )
    return _save(graph, path)


def midas_like_model(path: Path, *, size: int = 256, seed: int = 0) -> Path:
    """Conv(3->8, stride 2) ReLU Conv(8->8) ReLU Conv(8->1) ConvTranspose(x2) ReLU Reshape."""
    rng = np.random.default_rng(seed)

    def tensor(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(
            (rng.standard_normal(shape) * 0.3).astype(np.float32), name=name
        )

    initializers = [
        tensor("w1", 8, 3, 3, 3),
        tensor("b1", 8),
        tensor("w2", 8, 8, 3, 3),
        tensor("b2", 8),
        tensor("w3", 1, 8, 1, 1),
        numpy_helper.from_array(np.asarray([1.0], dtype=np.float32), name="b3"),
        numpy_helper.from_array(np.full((1, 1, 2, 2), 0.25, dtype=np.float32), name="w4"),
        numpy_helper.from_array(np.asarray([1, size, size], dtype=np.int64), name="shape"),
    ]
    nodes = [
        helper.make_node(
            "Conv",
            ["0", "w1", "b1"],
            ["c1"],
            kernel_shape=[3, 3],
            strides=[2, 2],
            pads=[1, 1, 1, 1],
        ),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node(
            "Conv", ["r1", "w2", "b2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]
        ),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3", "b3"], ["c3"], kernel_shape=[1, 1]),
        helper.make_node(
            "ConvTranspose", ["c3", "w4"], ["up"], kernel_shape=[2, 2], strides=[2, 2]
        ),
        helper.make_node("Relu", ["up"], ["r3"]),
        helper.make_node("Reshape", ["r3", "shape"], ["797"]),
    ]
    graph = helper.make_graph(
        nodes,
        "midas_like",
        [helper.make_tensor_value_info("0", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("797", TensorProto.FLOAT, [1, size, size])],
        initializer=initializers,
    )
    return _save(graph, path)
