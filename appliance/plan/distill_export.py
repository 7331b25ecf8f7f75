"""A trained light head stitched onto the backbone prefix: one static ONNX exit.

The head's two convolutions become ONNX nodes from its folded weights, and its raw output is
decoded by the converter's own [yolo] layer (`build_head`, with the anchors of the cfg's finest
head), so the exit's output is `[1, 4+C, A*H*W]` exactly as the other exits give it: boxes
(centre, size) in input pixels and C class scores. Needs the onnx package, not torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx import TensorProto, helper

from appliance.models.darknet.cfg import CfgSection, read_cfg
from appliance.models.darknet.convert import INPUT_NAME, IR_VERSION, OPSET, OUTPUT_NAME
from appliance.models.darknet.graph import GraphBuilder, LayerOutput
from appliance.models.darknet.heads import YoloHead, build_head, read_head
from appliance.plan.distill_data import Backbone
from appliance.plan.distill_head import LEAKY_SLOPE, FoldedHead
from appliance.plan.errors import PlanError

LIGHT_KIND = "light"
"""The exits' `heads` metadata and file-name kind: `yolov3-tiny-light-416.onnx`."""


@dataclass(frozen=True)
class YoloLayer:
    """A [yolo] section of the cfg (its anchors decode the light head) and its index there."""

    section: CfgSection
    index: int
    head: YoloHead


def finest_yolo(cfg: Path) -> YoloLayer:
    """The cfg's last [yolo] layer: in YOLOv3-tiny the 26x26 one, whose anchors (23x27 to 81x82
    px) suit the small pedestrians the coarse head misses."""
    layers = read_cfg(cfg).layers
    index = max(i for i, layer in enumerate(layers) if layer.kind == "yolo")
    return YoloLayer(layers[index], index, read_head(layers[index]))


def feature_shape(backbone: Backbone) -> tuple[int, int, int]:
    """Channels, height and width of the cut tensor (from the prefix's declared output)."""
    dims = backbone.prefix.graph.output[0].type.tensor_type.shape.dim
    c, h, w = (d.dim_value for d in dims[1:])
    if not (c and h and w):
        raise PlanError(f"{backbone.tensor}: no static shape for the cut tensor")
    return c, h, w


def stitched(
    backbone: Backbone, head: FoldedHead, yolo: YoloLayer, metadata: dict[str, str]
) -> onnx.ModelProto:
    """The backbone prefix, the head's convolutions and the [yolo] decoding as one model."""
    _, height, width = feature_shape(backbone)
    graph = GraphBuilder()
    const = graph.constant
    conv = graph.node(
        "Conv",
        [
            backbone.tensor,
            const("light_conv_w", head.conv_weight),
            const("light_conv_b", head.conv_bias),
        ],
        "light_conv",
        kernel_shape=[3, 3],
        pads=[1, 1, 1, 1],
    )
    leaky = graph.node("LeakyRelu", [conv], "light_conv_leaky", alpha=LEAKY_SLOPE)
    raw = graph.node(
        "Conv",
        [leaky, const("light_out_w", head.out_weight), const("light_out_b", head.out_bias)],
        "light_out",
        kernel_shape=[1, 1],
    )
    channels = int(head.out_weight.shape[0])
    decoded, _ = build_head(
        graph,
        yolo.section,
        yolo.index,
        LayerOutput(raw, channels, height, width),
        backbone.size,
        True,
    )
    output = graph.node("Concat", [decoded], OUTPUT_NAME, axis=2)
    prefix = backbone.prefix.graph
    candidates = len(yolo.head.anchors) * height * width
    result = helper.make_tensor_value_info(
        output, TensorProto.FLOAT, [1, 4 + yolo.head.classes, candidates]
    )
    (image,) = [i for i in prefix.input if i.name == INPUT_NAME]
    body = helper.make_graph(
        [*prefix.node, *graph.nodes],
        "light-exit",
        [image],
        [result],
        [*prefix.initializer, *graph.initializers],
    )
    model = helper.make_model(
        body, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="smartcam-appliance"
    )
    model.ir_version = IR_VERSION
    inherited = {p.key: p.value for p in backbone.prefix.metadata_props}
    helper.set_model_props(model, {**inherited, **metadata, "heads": LIGHT_KIND})
    return model
