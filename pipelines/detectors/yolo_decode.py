"""Ultralytics YOLO output `[1, 4+C, N]` to detections in frame pixels: confidence threshold,
class filter, class-aware NMS and the inverse of the letterbox.

Pure: the same function answers for a model run whole (`YoloOnnxDetector`) and for one whose
tail ran on the edge box after its head ran on a camera node (Edgent). At Edgent's device-only
end the camera decodes and sends only its detections as a compact `[N, 6]` tensor
(`detections_tensor`), which the edge reads back with every value checked (`read_detections`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from pipelines.detectors.letterbox import Letterbox
from pipelines.types import Box, Detection

Boxes = npt.NDArray[np.float32]


class YoloOutputError(ValueError):
    """The output is not shaped like an Ultralytics YOLO export's for these labels."""


@dataclass(frozen=True)
class YoloDecoding:
    """How to read one model's output: its class names and which of them to keep."""

    labels: tuple[str, ...]
    min_confidence: float = 0.25
    nms_iou: float = 0.45
    max_detections: int = 300
    classes: tuple[str, ...] | None = None
    """Keep only these labels; None: all."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.classes or ()) - set(self.labels))
        if unknown:
            raise YoloOutputError(f"classes {unknown} are not among the model's labels")

    def wanted(self) -> npt.NDArray[np.bool_]:
        """Which class ids to keep."""
        if self.classes is None:
            return np.ones(len(self.labels), dtype=np.bool_)
        return np.array([label in self.classes for label in self.labels], dtype=np.bool_)


@dataclass(frozen=True)
class FrameSize:
    width: int
    height: int


def check_output_shape(shape: tuple[int, ...], labels: int) -> None:
    """Raise `YoloOutputError` unless `shape` is `[1, 4+labels, N]`."""
    if len(shape) != 3 or shape[0] != 1 or shape[1] <= 4:
        raise YoloOutputError(f"output must be [1, 4+C, N], the model produced {list(shape)}")
    if shape[1] - 4 != labels:
        raise YoloOutputError(f"the model scores {shape[1] - 4} classes but there are {labels}")


def decode_output(
    output: npt.NDArray[np.float32], placement: Letterbox, frame: FrameSize, decoding: YoloDecoding
) -> list[Detection]:
    """Detections in the pixels of the original frame, best first per class after NMS."""
    check_output_shape(tuple(output.shape), len(decoding.labels))
    boxes, scores, class_ids = _candidates(np.asarray(output, dtype=np.float32), decoding)
    keep = _suppress(boxes, scores, class_ids, decoding)
    mapped = placement.to_frame(boxes[keep])
    found = [
        Detection(
            decoding.labels[c], float(s), Box(*map(float, b)).clipped(frame.width, frame.height)
        )
        for b, s, c in zip(mapped, scores[keep], class_ids[keep], strict=True)
    ]
    # A box lying wholly in the padding clips to nothing; drop it rather than report a line.
    return [d for d in found if d.box.width > 0 and d.box.height > 0]


def _candidates(
    output: npt.NDArray[np.float32], decoding: YoloDecoding
) -> tuple[Boxes, npt.NDArray[np.float32], npt.NDArray[np.intp]]:
    """Confident candidates as x1, y1, x2, y2 input-pixel boxes, best score and its class."""
    rows = output[0].T  # N x (4+C): one candidate per row
    class_ids = np.argmax(rows[:, 4:], axis=1)
    scores = rows[np.arange(len(rows)), 4 + class_ids]
    keep = (scores >= decoding.min_confidence) & decoding.wanted()[class_ids]
    cx, cy, w, h = rows[keep, :4].T
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return boxes.astype(np.float32), scores[keep], class_ids[keep]


def _suppress(
    boxes: Boxes,
    scores: npt.NDArray[np.float32],
    class_ids: npt.NDArray[np.intp],
    decoding: YoloDecoding,
) -> npt.NDArray[np.intp]:
    """Class-aware NMS: a person box never suppresses an overlapping car box."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.intp)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    kept = cv2.dnn.NMSBoxesBatched(
        xywh.tolist(),
        scores.tolist(),
        class_ids.tolist(),
        -1.0,  # scores are already thresholded (inclusively); OpenCV's test is strict
        decoding.nms_iou,
        top_k=decoding.max_detections,
    )
    return np.asarray(kept, dtype=np.intp).reshape(-1)


# Edgent's device-only end: the camera decodes the output itself and sends only this tensor.
DETECTIONS_TENSOR = "detections"
DETECTION_COLUMNS = 6
"""x1, y1, x2, y2 (frame pixels), score, class index into the model's labels."""


def detections_tensor(found: Sequence[Detection], labels: Sequence[str]) -> Boxes:
    """`found` as a float32 `[N, 6]` tensor; `YoloOutputError` for a label not in `labels`."""
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({d.label for d in found} - set(index))
    if unknown:
        raise YoloOutputError(f"labels {unknown} are not among the model's labels")
    rows = [(*astuple(d.box), d.confidence, index[d.label]) for d in found]
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), DETECTION_COLUMNS)


def read_detections(
    tensor: npt.NDArray[Any], frame: FrameSize, decoding: YoloDecoding
) -> list[Detection]:
    """The detections a `detections_tensor` holds, checked; `YoloOutputError` says what is
    wrong (it comes from another machine: nothing in it is trusted)."""
    rows = _checked_rows(np.asarray(tensor), decoding)
    found = []
    for i, (x1, y1, x2, y2, score, label) in enumerate(rows.tolist()):
        box = Box(x1, y1, x2, y2).clipped(frame.width, frame.height)
        if box.x2 <= box.x1 or box.y2 <= box.y1:
            raise YoloOutputError(
                f"detection {i}: box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) has no area inside the"
                f" {frame.width}x{frame.height} frame"
            )
        found.append(Detection(decoding.labels[int(label)], score, box))
    return found


def _checked_rows(tensor: npt.NDArray[Any], decoding: YoloDecoding) -> npt.NDArray[np.float64]:
    """The tensor's rows as float64 after the checks that need no frame size."""
    if tensor.ndim != 2 or tensor.shape[1] != DETECTION_COLUMNS:
        raise YoloOutputError(
            f"detections must be [N, {DETECTION_COLUMNS}], got {list(tensor.shape)}"
        )
    if tensor.dtype.kind != "f":
        raise YoloOutputError(f"detections must be floats, got {tensor.dtype}")
    if len(tensor) > decoding.max_detections:
        raise YoloOutputError(
            f"{len(tensor)} detections, more than the {decoding.max_detections} allowed"
        )
    rows = tensor.astype(np.float64)
    if not np.isfinite(rows).all():
        raise YoloOutputError("detections have non-finite values")
    scores, classes = rows[:, 4], rows[:, 5]
    if ((scores < 0) | (scores > 1)).any():
        raise YoloOutputError("detection scores must lie in [0, 1]")
    whole = classes == np.round(classes)
    if not (whole & (classes >= 0) & (classes < len(decoding.labels))).all():
        raise YoloOutputError(
            f"detection classes must be whole numbers in 0..{len(decoding.labels) - 1}"
        )
    return rows
