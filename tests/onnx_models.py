"""Builds tiny ONNX models shaped like Ultralytics YOLO exports, with outputs known in advance.

The graph ignores the image's content (its mean times zero) and adds a constant `[1, 4+C, N]`
tensor, so every detection a test expects is written down by the test itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Stays within what the pinned onnxruntime loads, whatever opset the onnx package defaults to.
OPSET = 17

# One candidate: centre-x, centre-y, width, height (model-input pixels) and its class scores.
Row = tuple[float, float, float, float, Sequence[float]]


def candidates(rows: Sequence[Row]) -> np.ndarray:
    """The `[1, 4+C, N]` output an Ultralytics export gives for these candidates."""
    table = np.array([[cx, cy, w, h, *scores] for cx, cy, w, h, scores in rows], dtype=np.float32)
    return table.T[np.newaxis].copy()


def constant_model(
    path: Path,
    output: np.ndarray,
    *,
    input_shape: Sequence[int | str] = (1, 3, 640, 640),
    names: dict[int, str] | None = None,
) -> Path:
    """Write a model that returns `output` whatever image it is given."""
    constant = numpy_helper.from_array(output.astype(np.float32), "candidates")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["candidates", "nothing"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "constant-yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))],
        initializer=[constant, numpy_helper.from_array(np.zeros((), np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    # The pinned onnxruntime may be older than the onnx package's newest IR version.
    model.ir_version = 8
    if names is not None:
        helper.set_model_props(model, {"names": str(names), "stride": "32"})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
