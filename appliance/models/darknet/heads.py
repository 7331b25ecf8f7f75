"""Darknet's [yolo] layer as ONNX nodes: raw head output to boxes in input pixels.

Per cell (cx, cy) and anchor (aw, ah) of the layer's mask:
x = (sigmoid(tx) * s - (s - 1) / 2 + cx) * stride, w = exp(tw) * aw (and so for y, h), with s
the layer's scale_x_y (1 unless YOLOv4 sets it); class scores are sigmoid(class) *
sigmoid(objectness), as Ultralytics exports carry them. Each head's `[B, 4+C, A*H*W]` is
concatenated along the last axis by the converter. The cell offsets (cx, cy) come from the
feature map's shape inside the graph, so the model takes any input side divisible by 32; the
strides stay those of the nominal input side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import TensorProto

from appliance.models.darknet.cfg import CfgSection
from appliance.models.darknet.graph import GraphBuilder, LayerOutput


@dataclass(frozen=True)
class YoloHead:
    classes: int
    anchors: list[tuple[int, int]]
    """(width, height) in input pixels of the anchors this head predicts."""
    scale_xy: float


def read_head(s: CfgSection) -> YoloHead:
    classes = s.integer("classes", 20)
    values = s.integers("anchors")
    if len(values) % 2 or not values:
        raise s.fail("'anchors' must be width,height pairs")
    pairs = list(zip(values[::2], values[1::2], strict=True))
    mask = s.integers("mask", list(range(len(pairs))))
    if any(not 0 <= m < len(pairs) for m in mask) or not mask:
        raise s.fail(f"'mask' {mask} must pick among the {len(pairs)} anchors")
    if s.integer("new_coords", 0):
        raise s.fail("new_coords=1 (scaled-YOLOv4 box decoding) is not supported")
    if classes < 1:
        raise s.fail(f"classes must be at least 1, got {classes}")
    return YoloHead(classes, [pairs[m] for m in mask], s.number("scale_x_y", 1.0))


def build_head(
    graph: GraphBuilder,
    s: CfgSection,
    index: int,
    x: LayerOutput,
    input_side: int,
    static: bool = False,
) -> tuple[str, YoloHead]:
    """The `[B, 4+C, A*H*W]` tensor of the [yolo] layer `index` reading `x`; `static`: the
    input is always `input_side`, so the cell grid is a constant (every tensor's shape is then
    known, as Edgent's layouts need)."""
    head = read_head(s)
    count, attributes = len(head.anchors), 5 + head.classes
    if x.channels != count * attributes:
        raise s.fail(
            f"the layer before gives {x.channels} channels; {count} anchors x (5 + {head.classes}"
            f" classes) need {count * attributes} (set the last conv's filters to that)"
        )
    base = f"layer{index}_yolo"
    const = graph.constant
    raw = graph.node(
        "Reshape",
        [x.name, const(f"{base}_shape", np.array([0, count, attributes, -1], np.int64))],
        f"{base}_raw",
    )
    xy, wh, objectness, scores = (
        _channels(graph, base, raw, start, end, name)
        for start, end, name in ((0, 2, "xy"), (2, 4, "wh"), (4, 5, "obj"), (5, attributes, "cls"))
    )
    # The stride is the nominal one (input / grid); the grid itself follows the input's size.
    stride = np.array([input_side / x.width, input_side / x.height], np.float32).reshape(1, 1, 2, 1)
    scaled = graph.node(
        "Mul",
        [
            graph.node("Sigmoid", [xy], f"{base}_xy_sig"),
            const(f"{base}_sxy", np.array(head.scale_xy, np.float32)),
        ],
        f"{base}_xy_scaled",
    )
    offset = _static_grid(graph, base, x) if static else _grid(graph, base, x)
    if head.scale_xy != 1.0:
        shift = const(f"{base}_shift", np.array((head.scale_xy - 1) / 2, np.float32))
        offset = graph.node("Sub", [offset, shift], f"{base}_offset")
    centres = graph.node(
        "Mul",
        [
            graph.node("Add", [scaled, offset], f"{base}_xy_cells"),
            const(f"{base}_stride", stride),
        ],
        f"{base}_centres",
    )
    anchors = np.array(head.anchors, np.float32).reshape(1, count, 2, 1)
    sizes = graph.node(
        "Mul",
        [graph.node("Exp", [wh], f"{base}_wh_exp"), const(f"{base}_anchors", anchors)],
        f"{base}_sizes",
    )
    confidence = graph.node(
        "Mul",
        [
            graph.node("Sigmoid", [scores], f"{base}_cls_sig"),
            graph.node("Sigmoid", [objectness], f"{base}_obj_sig"),
        ],
        f"{base}_scores",
    )
    joined = graph.node("Concat", [centres, sizes, confidence], f"{base}_joined", axis=2)
    by_attribute = graph.node("Transpose", [joined], f"{base}_t", perm=[0, 2, 1, 3])
    flat = np.array([0, 4 + head.classes, -1], np.int64)
    return graph.node("Reshape", [by_attribute, const(f"{base}_flat", flat)], base), head


def _grid(graph: GraphBuilder, base: str, x: LayerOutput) -> str:
    """`[1, 1, 2, H*W]` float column and row of every cell of the `[B, C, H, W]` feature map `x`,
    row by row, computed from its shape at run time (`x.height` and `x.width` are only those at
    the nominal input side)."""
    const = graph.constant
    shape = graph.node("Shape", [x.name], f"{base}_fshape")
    height, width = (
        graph.node(
            "Gather", [shape, const(f"{base}_{axis}", np.array(i, np.int64))], f"{base}_{axis}"
        )
        for axis, i in (("h", 2), ("w", 3))
    )
    cells = graph.node("Mul", [height, width], f"{base}_cells")
    zero, one = (
        const(f"{base}_zero", np.array(0, np.int64)),
        const(f"{base}_one", np.array(1, np.int64)),
    )
    index = graph.node("Range", [zero, cells, one], f"{base}_index")
    column = graph.node("Mod", [index, width], f"{base}_column")
    row = graph.node("Div", [index, width], f"{base}_row")
    pair = graph.node(
        "Concat",
        [
            graph.node(
                "Unsqueeze", [v, const(f"{base}_{n}_ax", np.array([0], np.int64))], f"{base}_{n}1"
            )
            for v, n in ((column, "col"), (row, "row"))
        ],
        f"{base}_cell",
        axis=0,
    )
    as_float = graph.node("Cast", [pair], f"{base}_cellf", to=TensorProto.FLOAT)
    shape4 = const(f"{base}_grid_shape", np.array([1, 1, 2, -1], np.int64))
    return graph.node("Reshape", [as_float, shape4], f"{base}_grid")


def _static_grid(graph: GraphBuilder, base: str, x: LayerOutput) -> str:
    """`_grid` for the one size `x` has: the same `[1, 1, 2, H*W]` values as a constant."""
    cells = np.arange(x.height * x.width)
    pair = np.stack([cells % x.width, cells // x.width]).astype(np.float32)
    return graph.constant(f"{base}_grid", pair.reshape(1, 1, 2, -1))


def _channels(graph: GraphBuilder, base: str, raw: str, start: int, end: int, name: str) -> str:
    """Attributes start..end of every anchor (axis 2 of `[B, A, 5+C, H*W]`)."""
    starts = graph.constant(f"{base}_{name}_start", np.array([start], np.int64))
    ends = graph.constant(f"{base}_{name}_end", np.array([end], np.int64))
    axes = graph.constant(f"{base}_{name}_axis", np.array([2], np.int64))
    return graph.node("Slice", [raw, starts, ends, axes], f"{base}_{name}")
