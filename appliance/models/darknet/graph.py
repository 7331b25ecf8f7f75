"""ONNX nodes for Darknet's layers, built one layer at a time with the `onnx` package.

`GraphBuilder` names tensors and keeps the nodes and initializers; `build_layer` turns one cfg
section into nodes, consuming that layer's weights. Batch norm is folded into the convolution
(Darknet's own formula: (x - mean) / (sqrt(var) + 1e-6) * scale + bias), so inference runs
Conv -> activation only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from onnx import NodeProto, TensorProto, helper, numpy_helper

from appliance.models.darknet.cfg import CfgSection
from appliance.models.darknet.weights import WeightsReader
from appliance.models.errors import ModelToolError

DARKNET_BN_EPSILON = 1e-6
LEAKY_SLOPE = 0.1


@dataclass(frozen=True)
class LayerOutput:
    """A layer's output tensor and its shape without the batch axis."""

    name: str
    channels: int
    height: int
    width: int


class GraphBuilder:
    """Collects nodes and initializers under unique, readable names."""

    def __init__(self) -> None:
        self.nodes: list[NodeProto] = []
        self.initializers: list[TensorProto] = []
        self._used: set[str] = set()

    def unique(self, base: str) -> str:
        name, n = base, 1
        while name in self._used:
            n += 1
            name = f"{base}_{n}"
        self._used.add(name)
        return name

    def constant(self, base: str, array: npt.NDArray[Any]) -> str:
        name = self.unique(base)
        # np.ascontiguousarray makes a scalar 1-D: Range needs true scalars once shapes are known.
        contiguous = np.ascontiguousarray(array).reshape(np.shape(array))
        self.initializers.append(numpy_helper.from_array(contiguous, name))
        return name

    def node(self, op: str, inputs: list[str], base: str, **attributes: Any) -> str:
        output = self.unique(base)
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def prune(self, outputs: list[str]) -> None:
        """Drop the nodes and initializers `outputs` do not depend on (nodes stay in order)."""
        needed = set(outputs)
        kept: list[NodeProto] = []
        for node in reversed(self.nodes):
            if needed.intersection(node.output):
                kept.append(node)
                needed.update(node.input)
        self.nodes = kept[::-1]
        self.initializers = [t for t in self.initializers if t.name in needed]


def build_layer(
    graph: GraphBuilder,
    section: CfgSection,
    index: int,
    outputs: list[LayerOutput],
    weights: WeightsReader,
) -> LayerOutput:
    """The nodes of layer `index` (a non-[yolo] layer); `outputs` holds the layers before it."""
    previous = outputs[-1]
    base = f"layer{index}_{section.kind}"
    if section.kind == "convolutional":
        return _convolution(graph, section, base, previous, weights)
    if section.kind == "maxpool":
        return _max_pool(graph, section, base, previous)
    if section.kind == "route":
        return _route(graph, section, base, index, outputs)
    if section.kind == "upsample":
        return _upsample(graph, section, base, previous)
    if section.kind == "shortcut":
        return _shortcut(graph, section, base, index, outputs)
    return previous  # dropout: the identity at inference


def _convolution(
    graph: GraphBuilder, s: CfgSection, base: str, x: LayerOutput, weights: WeightsReader
) -> LayerOutput:
    filters, size, stride = s.integer("filters"), s.integer("size", 1), s.integer("stride", 1)
    groups = s.integer("groups", 1)
    pad = size // 2 if s.integer("pad", 0) else s.integer("padding", 0)
    if min(filters, size, stride, groups) < 1 or x.channels % groups or filters % groups:
        raise s.fail(
            f"filters {filters}, size {size}, stride {stride}, groups {groups} on an"
            f" input of {x.channels} channels do not make a convolution"
        )
    kernel_shape = (filters, x.channels // groups, size, size)
    what = f"{s.where()} (layer of {filters} filters)"
    bias = weights.take(filters, what)
    if s.integer("batch_normalize", 0):
        scales, mean, variance = (weights.take(filters, what) for _ in range(3))
        if (variance < 0).any():
            raise ModelToolError(
                f"{weights.path}: damaged weights file: {what} has a negative batch-norm variance"
            )
        factor = scales / (np.sqrt(variance) + np.float32(DARKNET_BN_EPSILON))
        raw = weights.take(int(np.prod(kernel_shape)), what).reshape(kernel_shape)
        kernel = (raw * factor[:, None, None, None]).astype(np.float32)
        bias = (bias - mean * factor).astype(np.float32)
    else:
        kernel = weights.take(int(np.prod(kernel_shape)), what).reshape(kernel_shape)
    conv = graph.node(
        "Conv",
        [
            x.name,
            graph.constant(f"{base}_w", kernel.astype(np.float32)),
            graph.constant(f"{base}_b", bias.astype(np.float32)),
        ],
        base,
        kernel_shape=[size, size],
        strides=[stride, stride],
        pads=[pad, pad, pad, pad],
        group=groups,
    )
    side = (x.height + 2 * pad - size) // stride + 1, (x.width + 2 * pad - size) // stride + 1
    out = _activation(graph, s, base, conv)
    return LayerOutput(out, filters, *side)


def _activation(graph: GraphBuilder, s: CfgSection, base: str, x: str) -> str:
    kind = s.text("activation", "logistic")
    if kind == "linear":
        return x
    if kind == "leaky":
        return graph.node("LeakyRelu", [x], f"{base}_leaky", alpha=LEAKY_SLOPE)
    if kind == "relu":
        return graph.node("Relu", [x], f"{base}_relu")
    if kind == "logistic":
        return graph.node("Sigmoid", [x], f"{base}_logistic")
    if kind == "swish":
        return graph.node("Mul", [x, graph.node("Sigmoid", [x], f"{base}_sig")], f"{base}_swish")
    if kind == "mish":
        softplus = graph.node("Softplus", [x], f"{base}_softplus")
        return graph.node(
            "Mul", [x, graph.node("Tanh", [softplus], f"{base}_tanh")], f"{base}_mish"
        )
    raise s.fail(
        f"activation {kind!r} is not supported (linear, leaky, relu, logistic, swish, mish)"
    )


def _max_pool(graph: GraphBuilder, s: CfgSection, base: str, x: LayerOutput) -> LayerOutput:
    size = s.integer("size", 1)
    stride = s.integer("stride", 1)
    padding = s.integer("padding", size - 1)
    if size < 1 or stride < 1 or padding < 0 or padding >= 2 * size:
        raise s.fail(f"size {size}, stride {stride}, padding {padding} do not make a max-pool")
    # Darknet starts the window at -padding/2 and lets it run past the far edge; values outside
    # the input never win (ONNX pads max-pool with -inf as well).
    before, after = padding // 2, padding - padding // 2
    out = graph.node(
        "MaxPool",
        [x.name],
        base,
        kernel_shape=[size, size],
        strides=[stride, stride],
        pads=[before, before, after, after],
    )
    side = (x.height + padding - size) // stride + 1, (x.width + padding - size) // stride + 1
    return LayerOutput(out, x.channels, *side)


def _referenced(
    s: CfgSection, index: int, outputs: list[LayerOutput], key: str
) -> list[LayerOutput]:
    found = []
    for ref in s.integers(key):
        target = index + ref if ref < 0 else ref
        if not 0 <= target < index:
            raise s.fail(f"'{key}' refers to layer {ref}, outside layers 0..{index - 1}")
        found.append(outputs[target + 1])  # outputs[0] is the network's input
    return found


def _route(
    graph: GraphBuilder, s: CfgSection, base: str, index: int, outputs: list[LayerOutput]
) -> LayerOutput:
    sources = _referenced(s, index, outputs, "layers")
    groups, group_id = s.integer("groups", 1), s.integer("group_id", 0)
    if groups < 1 or not 0 <= group_id < groups:
        raise s.fail(f"groups {groups} with group_id {group_id}")
    if len({(t.height, t.width) for t in sources}) != 1:
        raise s.fail(
            "routed layers differ in size: " + ", ".join(f"{t.height}x{t.width}" for t in sources)
        )
    parts = [_channel_group(graph, s, base, t, groups, group_id) for t in sources]
    channels = sum(t.channels // groups for t in sources)
    if len(parts) == 1:
        return LayerOutput(parts[0], channels, sources[0].height, sources[0].width)
    out = graph.node("Concat", parts, base, axis=1)
    return LayerOutput(out, channels, sources[0].height, sources[0].width)


def _channel_group(
    graph: GraphBuilder, s: CfgSection, base: str, t: LayerOutput, groups: int, group_id: int
) -> str:
    """Group `group_id` of `groups` equal channel slices of `t` (YOLOv4-tiny's CSP split)."""
    if groups == 1:
        return t.name
    if t.channels % groups:
        raise s.fail(f"{t.channels} channels do not split into {groups} groups")
    width = t.channels // groups
    starts = graph.constant(f"{base}_starts", np.array([group_id * width], np.int64))
    ends = graph.constant(f"{base}_ends", np.array([(group_id + 1) * width], np.int64))
    axes = graph.constant(f"{base}_axes", np.array([1], np.int64))
    return graph.node("Slice", [t.name, starts, ends, axes], f"{base}_group")


def _upsample(graph: GraphBuilder, s: CfgSection, base: str, x: LayerOutput) -> LayerOutput:
    stride = s.integer("stride", 2)
    if stride < 1:
        raise s.fail(f"stride {stride}: only upsampling by a whole factor is supported")
    scales = graph.constant(f"{base}_scales", np.array([1, 1, stride, stride], np.float32))
    out = graph.node(
        "Resize",
        [x.name, "", scales],
        base,
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
    )
    scale = s.number("scale", 1.0)
    if scale != 1.0:
        factor = graph.constant(f"{base}_scale", np.array(scale, np.float32))
        out = graph.node("Mul", [out, factor], f"{base}_scaled")
    return LayerOutput(out, x.channels, x.height * stride, x.width * stride)


def _shortcut(
    graph: GraphBuilder, s: CfgSection, base: str, index: int, outputs: list[LayerOutput]
) -> LayerOutput:
    (other,) = _referenced(s, index, outputs, "from")[:1] or [outputs[-1]]
    x = outputs[-1]
    if (other.channels, other.height, other.width) != (x.channels, x.height, x.width):
        raise s.fail("the shortcut joins layers of different shapes")
    out = graph.node("Add", [x.name, other.name], base)
    return LayerOutput(
        _activation(graph, s, base, out) if "activation" in s.options else out,
        x.channels,
        x.height,
        x.width,
    )
