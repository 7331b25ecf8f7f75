"""The edge box's detector, built once from its config, and what it is (for stats, the UI and
every benchmark's JSON).

A `yolo-onnx` model file that does not exist falls back to OpenCV's HOG people detector: the
box still runs, and says so once in its log, in `/api/v1/stats` (`detector.fallback`) and in
the UI. A model file that exists but is damaged stops the box with one line naming it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import onnxruntime

from appliance.edge.config import DetectorConfig
from pipelines.detectors import Detector
from pipelines.detectors.hog import HogPeopleDetector
from pipelines.detectors.onnx_yolo import TENSORRT, YoloOnnxDetector

log = logging.getLogger(__name__)

ENGINES_DIR = "engines"
PULL_HINT = "appliance models pull yolov3-tiny"
# Operators that only a quantised graph has (QDQ or QOperator format).
INT8_OPERATORS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "ConvInteger"}


@dataclass(frozen=True)
class DetectorStatus:
    """What the box runs; `fallback` says why it is not what the config asked for."""

    kind: str
    model: str | None = None
    input_size: int | None = None
    precision: str | None = None
    providers: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    """The labels it reports (labels of interest the model has)."""
    fallback: str | None = None


@dataclass
class EdgeDetector:
    """`make()` gives a detector for one camera: the ONNX model is one shared session
    (onnxruntime runs are thread-safe); HOG objects are not safe to share, so one each."""

    status: DetectorStatus
    make: Callable[[], Detector]
    shared: YoloOnnxDetector | None = None
    """The one model session all cameras use (None for HOG)."""
    reported_from: float | None = None
    """Its own threshold when it runs lower for the tracker: what it returns under this is weak
    (`pipelines.weak_detections`). None: everything it returns is reported."""

    def snapshot(self) -> dict[str, object]:
        """The status, and how the shared model's runs were batched so far."""
        found: dict[str, object] = dataclasses.asdict(self.status)
        if self.shared is not None:
            found["batches"] = self.shared.batches.counters.snapshot()
        return found


def build_edge_detector(
    config: DetectorConfig, data_dir: Path, weak_floor: float | None = None
) -> EdgeDetector:
    """The configured detector; a model runs down to `weak_floor` when it is under its own
    threshold, for the tracker (`pipelines.weak_detections`; HOG runs at its own)."""
    if config.kind == "yolo-onnx":
        path = config.yolo_onnx.model_path or ""
        if os.path.isfile(path):
            return _onnx(config, data_dir, weak_floor)
        fallback = (
            f"model file {path} not found: running OpenCV's HOG people detector instead"
            f" (make the model with `{PULL_HINT}`)"
        )
        log.warning("detector: %s", fallback)
        return _hog(config, fallback)
    return _hog(config, None)


def build_detector(
    config: DetectorConfig, data_dir: Path, weak_floor: float | None = None
) -> Detector:
    """One detector as the edge would run it (benchmarks, tools)."""
    return build_edge_detector(config, data_dir, weak_floor).make()


def detector_summary(config: DetectorConfig, data_dir: Path = Path("data")) -> dict[str, object]:
    """What a benchmark ran, for its JSON: kind, model file, input size, precision, labels."""
    return dataclasses.asdict(build_edge_detector(config, data_dir).status)


def _hog(config: DetectorConfig, fallback: str | None) -> EdgeDetector:
    settings = config.hog.settings()
    status = DetectorStatus("hog", labels=["person"], fallback=fallback)
    return EdgeDetector(status, lambda: HogPeopleDetector(settings))


def _onnx(config: DetectorConfig, data_dir: Path, weak_floor: float | None) -> EdgeDetector:
    settings = config.yolo_onnx.settings(engine_cache(config, data_dir))
    reported_from = config.reported_from()
    floor = reported_from if weak_floor is None else min(weak_floor, reported_from)
    settings = dataclasses.replace(settings, interest=tuple(config.labels), min_confidence=floor)
    detector = YoloOnnxDetector(settings)
    kept = detector.decoding.classes or detector.labels
    status = DetectorStatus(
        "yolo-onnx",
        model=settings.model_path,
        input_size=detector.input_size,
        precision=model_precision(settings.model_path, detector),
        providers=detector.providers,
        labels=list(kept),
    )
    log.info(
        "detector: %s at %d px (%s) on %s, labels %s",
        settings.model_path,
        detector.input_size,
        status.precision,
        detector.providers[0],
        ", ".join(kept),
    )
    lowered = reported_from if floor < reported_from else None
    return EdgeDetector(status, lambda: detector, detector, lowered)


def model_precision(path: str, detector: YoloOnnxDetector) -> str:
    """int8 for a quantised graph, fp16 for a half-precision input, else fp32."""
    import onnx  # only here: loading the graph to look at its operators

    graph = onnx.load(path, load_external_data=False).graph
    if any(node.op_type in INT8_OPERATORS for node in graph.node):
        return "int8"
    return "fp16" if detector.input_type == "tensor(float16)" else "fp32"


def engine_cache(config: DetectorConfig, data_dir: Path) -> Path | None:
    """The TensorRT engine folder, made when this onnxruntime has TensorRT (None otherwise)."""
    if TENSORRT not in onnxruntime.get_available_providers():
        return None
    folder = config.yolo_onnx.engine_cache_dir or data_dir / ENGINES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder
