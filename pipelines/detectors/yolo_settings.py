"""What a YOLO model in ONNX is run with, apart from the runtime that runs it: the settings,
the COCO names and the error a bad model raises. Config models import these without importing
onnxruntime, so a camera node on motion blobs installs and runs without it."""

from __future__ import annotations

from dataclasses import dataclass

COCO_LABELS: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip


class ModelError(Exception):
    """The model file is missing, unreadable or not shaped like an Ultralytics YOLO export."""


@dataclass(frozen=True)
class YoloOnnxSettings:
    """Parameters of `YoloOnnxDetector`; descriptions live in the edge config model."""

    model_path: str
    labels: tuple[str, ...] = COCO_LABELS
    input_size: int | None = None
    min_confidence: float = 0.25
    nms_iou: float = 0.45
    providers: tuple[str, ...] | None = None
    classes: tuple[str, ...] | None = None
    max_detections: int = 300
    engine_cache_dir: str | None = None
    """Where TensorRT keeps the engines it builds (None: rebuilt at every start)."""
    interest: tuple[str, ...] | None = None
    """Labels of interest when `classes` is None: the model's classes among them are kept (in
    either COCO spelling); a model with none of them keeps all its classes."""
    rect: bool = True
    """Models with dynamic input sides: pad the short side only to the stride, not square."""
    max_batch: int = 8
    """Images (frames of cameras waiting at once, or crops) run through the model together at
    most; a model with a fixed batch of 1 runs one at a time."""
    threads: int | None = None
    """onnxruntime's threads for one run; None: its default (one per physical core)."""
    region_context: int = 4
    """Regions exit: model-input pixels of picture kept around each region in its crop (then
    out to the stride grid). More than `yolo_regions.EDGE_TOLERANCE`, so an object whose box
    is a region's edge (the cascade takes earlier detections in whole) is not taken for one
    the crop cut; the regions' own margin (early_exit.region_margin) gives the context."""
