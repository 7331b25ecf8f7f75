"""An ONNX YOLO detector's settings, shared by the edge box (`detector.yolo_onnx`) and the
camera node (`tiny_detector.yolo_onnx`): the same loader runs both."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pipelines.detectors.yolo_settings import YoloOnnxSettings

DEFAULT_MODEL_PATH = "data/models/yolov3-tiny-416.onnx"
"""The trained default detector: `appliance models pull yolov3-tiny` (run by set-up) makes it."""


class YoloOnnxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_path: str | None = Field(
        None,
        description="YOLO model in ONNX with output [1, 4+C, N]: Darknet converted by `appliance"
        " models pull/convert`, or an Ultralytics export.",
    )
    labels: list[str] | None = Field(
        None, description="Class names; default: the model's own names, else the 80 COCO names."
    )
    input_size: int | None = Field(
        None, ge=32, le=4096, description="Square input side; default: the model's."
    )
    min_confidence: float = Field(0.25, ge=0.0, le=1.0, description="Drop weaker detections.")
    nms_iou: float = Field(0.45, gt=0.0, le=1.0, description="Overlap suppressed per class.")
    classes: list[str] | None = Field(None, description="Keep only these labels (default: all).")
    providers: list[str] | None = Field(
        None,
        description="onnxruntime execution providers in order of preference; default: TensorRT,"
        " CUDA, CPU, whichever are installed.",
    )
    max_batch: int = Field(
        8,
        ge=1,
        le=64,
        description="Frames of cameras that wait for the model at once (and crops of changed"
        " regions) go through it as one batch of at most this many images; runs never overlap,"
        " so they do not fight over the cores. Models with a fixed batch of 1 run one by one.",
    )
    threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="onnxruntime threads of one model run; default: one per physical core.",
    )
    engine_cache_dir: Path | None = Field(
        None,
        description="Where TensorRT keeps the engines it builds, so that only the first start"
        " after a model change builds them; default: engines/ in data_dir.",
    )

    def settings(self, engine_cache_dir: Path | None = None) -> YoloOnnxSettings:
        """``engine_cache_dir``: the folder to use when the config names none."""
        if self.model_path is None:
            raise ValueError("yolo_onnx.model_path is required for kind yolo-onnx")
        defaults = YoloOnnxSettings(model_path=self.model_path)
        return YoloOnnxSettings(
            model_path=self.model_path,
            labels=tuple(self.labels) if self.labels else defaults.labels,
            input_size=self.input_size,
            min_confidence=self.min_confidence,
            nms_iou=self.nms_iou,
            providers=tuple(self.providers) if self.providers else None,
            classes=tuple(self.classes) if self.classes else None,
            max_batch=self.max_batch,
            threads=self.threads,
            engine_cache_dir=str(cache)
            if (cache := self.engine_cache_dir or engine_cache_dir)
            else None,
        )
