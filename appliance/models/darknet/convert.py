"""`appliance models convert`: a Darknet YOLO (cfg + weights + class names) to ONNX.

The model takes `images` `[B, 3, H, W]` (RGB in [0, 1], B dynamic so the edge can batch
cameras or crops; H and W any multiples of 32, nominally the cfg's side) and gives `output0`
`[B, 4+C, N]`: centre x, centre y, width, height in input pixels and C class scores (class
probability times objectness), the layout Ultralytics exports have; N follows H and W. Class
names, the nominal input size (`imgsz`) and stride go into the model's metadata as Ultralytics
writes them.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx import TensorProto, helper

from appliance.models.darknet.cfg import DarknetCfg, read_cfg
from appliance.models.darknet.graph import GraphBuilder, LayerOutput, build_layer
from appliance.models.darknet.heads import YoloHead, build_head
from appliance.models.darknet.weights import WeightsReader
from appliance.models.errors import ModelToolError
from appliance.models.info import ModelInfo, describe_onnx
from appliance.progress import SILENT, Progress
from pipelines.detectors.yolo_settings import YoloOnnxSettings

log = logging.getLogger(__name__)

# Opset 13 has every operator used here and runs on older onnxruntime builds (Jetson's).
OPSET = 13
CONVERTER_VERSION = "5"
"""Raised whenever the graph the converter builds changes (2: dynamic height and width; 3:
scalar constants are scalars, so a static-input model passes shape inference; 4: a static
model's cell grid is a constant; 5: and its output declares its candidate count), so `models
pull` rebuilds models an older converter made."""
IR_VERSION = 7
INPUT_NAME, OUTPUT_NAME = "images", "output0"


@dataclass(frozen=True)
class ConvertSettings:
    cfg: Path
    weights: Path
    names: Path
    output: Path
    imgsz: int | None = None
    """Nominal square input side (the model takes any multiple of 32); default: the cfg's
    width (which must then equal its height)."""
    heads: tuple[int, ...] | None = None
    """Keep only these [yolo] heads (0: the first in the cfg), and the layers they need: an
    early exit of the model (YOLOv3-tiny's head 0, the coarse 13x13 one, comes before the
    upsample branch); None: every head."""
    static: bool = False
    """A fixed input of one image of imgsz x imgsz (what Edgent's profiles and splits need)."""


@dataclass(frozen=True)
class ConvertResult:
    output: Path
    input_size: int
    labels: list[str]
    candidates: int
    """Candidates at the nominal input size."""
    heads: int
    info: ModelInfo


def convert(settings: ConvertSettings, progress: Progress = SILENT) -> ConvertResult:
    """Build, check and write the ONNX model, then open it as the edge would."""
    cfg = read_cfg(settings.cfg)
    labels = read_names(settings.names)
    side = input_side(cfg, settings.imgsz)
    weights = WeightsReader(settings.weights)
    shape = ModelShape(side, settings.heads, settings.static)
    model, candidates = darknet_to_onnx(cfg, weights, labels, shape, str(settings.names), progress)
    model.metadata_props.extend(_provenance(settings))
    write_model(model, settings.output)
    info = describe_onnx(YoloOnnxSettings(model_path=str(settings.output)))
    if info.problem:
        settings.output.unlink(missing_ok=True)
        raise ModelToolError(f"the converted model is not usable by the edge: {info.problem}")
    heads = sum(1 for layer in cfg.layers if layer.kind == "yolo")
    kept = heads if settings.heads is None else len(settings.heads)
    return ConvertResult(settings.output, side, labels, candidates, kept, info)


def read_names(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelToolError(f"{path}: cannot read the class names ({exc})") from None
    names = [line.strip() for line in lines if line.strip()]
    if not names:
        raise ModelToolError(f"{path}: no class names (one per line expected)")
    return names


def input_side(cfg: DarknetCfg, wanted: int | None) -> int:
    if wanted is not None:
        if wanted < 32 or wanted % 32:
            raise ModelToolError(f"--imgsz must be a multiple of 32, got {wanted}")
        return wanted
    width, height = cfg.net.integer("width", 416), cfg.net.integer("height", 416)
    if width != height or width % 32:
        raise cfg.net.fail(f"input {width}x{height} is not a square multiple of 32: give --imgsz")
    return width


@dataclass(frozen=True)
class ModelShape:
    side: int
    """Nominal square input side."""
    heads: tuple[int, ...] | None = None
    static: bool = False


def darknet_to_onnx(
    cfg: DarknetCfg,
    weights: WeightsReader,
    labels: list[str],
    shape: ModelShape,
    names: str = "the names file",
    progress: Progress = SILENT,
) -> tuple[onnx.ModelProto, int]:
    """The model, and its candidates at the nominal input side."""
    side = shape.side
    graph = GraphBuilder()
    channels = cfg.net.integer("channels", 3)
    if channels != 3:
        raise cfg.net.fail(f"channels={channels}: only RGB models (3 channels) are supported")
    outputs = [LayerOutput(INPUT_NAME, 3, side, side)]
    heads: list[tuple[str, YoloHead]] = []
    name = f"converting {Path(cfg.path).stem}"
    with progress.stage(name, len(cfg.layers), "layer") as stage:
        for index, section in enumerate(cfg.layers):
            if section.kind == "yolo":
                heads.append(build_head(graph, section, index, outputs[-1], side, shape.static))
                outputs.append(outputs[-1])  # a [yolo] layer passes its input on to later routes
            else:
                outputs.append(build_layer(graph, section, index, outputs, weights))
            stage.advance()
    weights.finish()
    _check_heads(cfg, [head for _, head in heads], labels, names)
    kept = _kept(heads, shape.heads, cfg)
    joined = graph.node("Concat", [heads[i][0] for i in kept], OUTPUT_NAME, axis=2)
    graph.prune([joined])  # an early exit leaves the later heads' layers unused
    candidates = _candidates(outputs, cfg, heads, kept)
    count = candidates if shape.static else None
    return _model(graph, joined, shape, labels, cfg, count), candidates


def _kept(
    heads: list[tuple[str, YoloHead]], wanted: tuple[int, ...] | None, cfg: DarknetCfg
) -> list[int]:
    if wanted is None:
        return list(range(len(heads)))
    if not wanted or any(not 0 <= i < len(heads) for i in wanted) or len(set(wanted)) < len(wanted):
        raise ModelToolError(
            f"{cfg.path}: heads {list(wanted)}: pick distinct heads among 0..{len(heads) - 1}"
        )
    return sorted(wanted)


def _check_heads(cfg: DarknetCfg, heads: list[YoloHead], labels: list[str], names: str) -> None:
    counts = {head.classes for head in heads}
    if len(counts) != 1:
        raise ModelToolError(f"{cfg.path}: [yolo] layers disagree on classes: {sorted(counts)}")
    (classes,) = counts
    if classes != len(labels):
        raise ModelToolError(
            f"{cfg.path}: the [yolo] layers have classes={classes} but {names} has"
            f" {len(labels)} names"
        )


def _candidates(
    outputs: list[LayerOutput],
    cfg: DarknetCfg,
    heads: list[tuple[str, YoloHead]],
    kept: list[int],
) -> int:
    total, index = 0, 0
    for position, section in enumerate(cfg.layers):
        if section.kind == "yolo":
            grid = outputs[position]  # the input of the [yolo] layer (outputs[0] is the image)
            if index in kept:
                total += len(heads[index][1].anchors) * grid.height * grid.width
            index += 1
    return total


def _model(
    graph: GraphBuilder,
    output: str,
    shape: ModelShape,
    labels: list[str],
    cfg: DarknetCfg,
    candidates: int | None,
) -> onnx.ModelProto:
    """`candidates`: declared in the output's shape (a static model: Edgent checks it)."""
    side = shape.side
    dims: list[int | str] = [1, 3, side, side] if shape.static else ["batch", 3, "height", "width"]
    batch: int | str = 1 if shape.static else "batch"
    image = helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, dims)
    result = helper.make_tensor_value_info(
        output, TensorProto.FLOAT, [batch, 4 + len(labels), candidates or "candidates"]
    )
    body = helper.make_graph(
        graph.nodes, Path(cfg.path).stem or "darknet", [image], [result], graph.initializers
    )
    model = helper.make_model(
        body, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="smartcam-appliance"
    )
    model.ir_version = IR_VERSION
    names = "{" + ", ".join(f"{i}: {name!r}" for i, name in enumerate(labels)) + "}"
    helper.set_model_props(
        model,
        {
            "names": names,
            "imgsz": f"[{side}, {side}]",
            "stride": "32",
            "task": "detect",
            "description": f"Darknet {Path(cfg.path).stem} converted to ONNX",
            "batch": "1" if shape.static else "dynamic",
            "converter": CONVERTER_VERSION,
            "heads": "all" if shape.heads is None else ",".join(map(str, shape.heads)),
        },
    )
    return model


def _provenance(settings: ConvertSettings) -> list[onnx.StringStringEntryProto]:
    """The sha256 of the files the model was built from, for `models list` and audits."""
    entries = []
    for key, path in (("cfg_sha256", settings.cfg), ("weights_sha256", settings.weights)):
        entries.append(onnx.StringStringEntryProto(key=key, value=sha256_of(path)))
    return entries


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_model(model: onnx.ModelProto, target: Path) -> None:
    """Check the graph, then write it atomically (a half-written model never replaces one)."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ModelToolError(f"the converted graph is invalid: {exc}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(model.SerializeToString())
    os.replace(partial, target)
    log.info("wrote %s", target)
