"""What the models commands print: aligned `key  value` lines, or one JSON object."""

from __future__ import annotations

from pathlib import Path

import yaml

from appliance.edge.config import DetectorConfig
from appliance.models.darknet.convert import ConvertResult
from appliance.models.darknet.pull import DarknetPullResult
from appliance.models.info import ConfiguredDetector, ModelInfo, TensorInfo
from appliance.models.pull import PullResult
from appliance.models.quantize import QuantizeResult

SHOWN_LABELS = 8


def lines(rows: list[tuple[str, str]]) -> str:
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)


def size_text(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size / 1e6:.1f} MB ({size} bytes)"


def tensor_text(tensor: TensorInfo) -> str:
    return f"{tensor.name} [{', '.join(map(str, tensor.shape))}] {tensor.type}"


def labels_text(labels: list[str], source: str | None) -> str:
    shown = ", ".join(labels[:SHOWN_LABELS])
    more = f", ... (+{len(labels) - SHOWN_LABELS})" if len(labels) > SHOWN_LABELS else ""
    origin = f" from the {source}" if source else ""
    return f"{len(labels)}{origin}: {shown}{more}"


def model_rows(info: ModelInfo) -> list[tuple[str, str]]:
    rows = [
        ("model", info.path),
        ("exists", f"yes, {size_text(info.size_bytes)}" if info.exists else "no"),
    ]
    if info.problem:  # the command reports it on stderr
        return rows
    rows += [
        ("input", f"{tensor_text(t)}: letterboxed to {info.input_size} px") for t in info.inputs
    ]
    rows += [("output", tensor_text(t)) for t in info.outputs]
    rows.append(("classes", labels_text(info.labels, info.labels_from)))
    if info.imgsz:
        rows.append(("imgsz", f"{info.imgsz} (model metadata)"))
    rows += list(info.metadata.items())
    rows.append(("providers", ", ".join(info.providers)))
    return rows


def detector_text(config: Path, detector: ConfiguredDetector) -> str:
    rows = [("config", str(config)), ("detector", f"{detector.kind} ({detector.description})")]
    if detector.model is None:
        rows.append(("classes", labels_text(detector.labels, None)))
    else:
        rows += model_rows(detector.model)
    return lines(rows)


def config_snippet(onnx_path: Path) -> str:
    """The edge config lines that run `onnx_path`, checked against the config model."""
    detector = {"kind": "yolo-onnx", "yolo_onnx": {"model_path": str(onnx_path)}}
    DetectorConfig.model_validate(detector)
    return yaml.safe_dump({"detector": detector}, sort_keys=False).rstrip()


def pull_text(result: PullResult | DarknetPullResult) -> str:
    rows = [
        ("pulled", f"{result.name}: {result.source}"),
        ("weights", str(result.weights)),
        ("onnx", f"{result.onnx_path}, {size_text(result.info.size_bytes)}"),
    ]
    rows += model_rows(result.info)[2:]
    snippet = config_snippet(result.onnx_path)
    return f"{lines(rows)}\n\nTo run it on the edge box, set in its config:\n{snippet}"


def convert_text(result: ConvertResult) -> str:
    rows = [
        ("converted", f"{result.output}, {size_text(result.info.size_bytes)}"),
        (
            "heads",
            f"{result.heads} [yolo] layers, {result.candidates} candidate boxes at"
            f" {result.input_size} px",
        ),
    ]
    rows += model_rows(result.info)[2:]
    snippet = config_snippet(result.output)
    return f"{lines(rows)}\n\nTo run it on the edge box, set in its config:\n{snippet}"


def quantize_text(result: QuantizeResult) -> str:
    before, after = result.bytes_before, result.bytes_after
    how = result.mode
    if result.mode == "static":
        how += f", calibrated on {result.calibration_frames} frames, for {result.target_cpu} CPUs"
    rows = [
        ("quantized", f"{result.source} -> {result.target} ({how})"),
        ("before", size_text(before)),
        ("after", f"{size_text(after)}, {after / before:.0%} of the float model"),
        ("kept float", f"{len(result.float_nodes)} decoding nodes after the last convolutions"),
    ]
    if result.info is not None:
        rows.append(("providers", ", ".join(result.info.providers)))
    return lines(rows)
