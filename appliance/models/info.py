"""What a configured detector model is: file, tensors, classes, and the providers it would use.

ONNX models are opened exactly as the edge opens them (`YoloOnnxDetector`), so a model this
reports as usable is one the edge starts with; the rest comes from the metadata Ultralytics
writes into its exports (`names`, `imgsz`, `task`, ...).
"""

from __future__ import annotations

import ast
import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import onnxruntime as ort

from appliance.edge.config import DetectorConfig
from pipelines.detectors.onnx_yolo import YoloOnnxDetector, metadata_labels
from pipelines.detectors.yolo_settings import ModelError, YoloOnnxSettings

# Metadata keys worth showing besides names and imgsz (Ultralytics writes all of these).
SHOWN_METADATA = ("task", "description", "version", "stride")


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: list[int | str]
    type: str


@dataclass(frozen=True)
class ModelInfo:
    """One ONNX model file; `problem` is the one-line reason the edge could not use it."""

    path: str
    exists: bool
    size_bytes: int | None
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)
    input_size: int | None = None
    labels: list[str] = field(default_factory=list)
    labels_from: str | None = None
    imgsz: list[int] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    providers: list[str] = field(default_factory=list)
    problem: str | None = None


@dataclass(frozen=True)
class ConfiguredDetector:
    """The edge config's detector: HOG (built into OpenCV) or an ONNX model."""

    kind: str
    description: str
    labels: list[str]
    model: ModelInfo | None = None


def describe_detector(config: DetectorConfig) -> ConfiguredDetector:
    if config.kind == "yolo-onnx":
        info = describe_onnx(config.yolo_onnx.settings())
        if not info.exists:
            info = dataclasses.replace(
                info,
                problem=f"{info.problem}; the edge would fall back to OpenCV's HOG people"
                " detector (make the default model with `appliance models pull yolov3-tiny`)",
            )
        return ConfiguredDetector(
            "yolo-onnx", "YOLO model in ONNX, run by onnxruntime", info.labels, info
        )
    return ConfiguredDetector(
        "hog", "OpenCV's pretrained HOG people detector, built in: no model file", ["person"]
    )


def describe_onnx(settings: YoloOnnxSettings) -> ModelInfo:
    """Everything known about `settings.model_path`; never raises for a bad file."""
    path = settings.model_path
    exists = os.path.isfile(path)
    size = os.path.getsize(path) if exists else None
    try:
        detector = YoloOnnxDetector(settings)
    except ModelError as exc:
        return ModelInfo(path, exists, size, problem=str(exc))
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    meta = dict(session.get_modelmeta().custom_metadata_map)
    return ModelInfo(
        path=path,
        exists=exists,
        size_bytes=size,
        inputs=[_tensor(t) for t in session.get_inputs()],
        outputs=[_tensor(t) for t in session.get_outputs()],
        input_size=detector.input_size,
        labels=list(detector.labels),
        labels_from="model metadata" if metadata_labels(session) else "settings",
        imgsz=_imgsz(meta.get("imgsz")),
        metadata={k: meta[k].strip() for k in SHOWN_METADATA if k in meta},
        providers=list(detector.providers),
    )


def _tensor(arg: Any) -> TensorInfo:
    shape = [d if isinstance(d, int) else str(d) for d in arg.shape]
    return TensorInfo(str(arg.name), shape, str(arg.type))


def _imgsz(text: str | None) -> list[int] | None:
    """Ultralytics writes imgsz as "[640, 640]"."""
    if not text:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, int):
        return [value, value]
    if isinstance(value, list | tuple) and all(isinstance(v, int) for v in value):
        return [int(v) for v in value]
    return None
