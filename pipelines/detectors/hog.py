"""OpenCV's pretrained HOG + linear SVM people detector: the embedded default, no download."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pipelines.detectors.hog_windows import (
    WINDOW_HEIGHT,
    WINDOW_WIDTH,
    HogWindowScanner,
    ScanGrid,
    WindowHit,
    group_hits,
)
from pipelines.types import Box, Detection


@dataclass(frozen=True)
class HogSettings:
    """Parameters of `HogPeopleDetector`; descriptions live in the edge config model."""

    win_stride: int = 8
    padding: int = 8
    scale: float = 1.05
    min_confidence: float = 0.5
    nms_iou: float = 0.45
    max_width: int = 0


def margin_to_confidence(margin: float) -> float:
    """Map the SVM margin (unbounded) to (0, 1) so thresholds read like other detectors'."""
    return 1.0 / (1.0 + math.exp(-margin))


class HogPeopleDetector:
    """Finds upright people; boxes are returned in the pixels of the frame given."""

    name = "hog-people"
    regions_supported = True
    """It scans a region's windows exactly as the whole-frame pass would (`hog_windows`)."""

    def __init__(self, settings: HogSettings | None = None) -> None:
        self.settings = settings or HogSettings()
        if not hasattr(cv2, "HOGDescriptor_getDefaultPeopleDetector"):
            raise RuntimeError(
                "this OpenCV build has no HOG people detector (OpenCV 5 dropped it); "
                "install opencv-python-headless<5"
            )
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        s = self.settings
        self._scanner = HogWindowScanner(self._hog, ScanGrid(s.win_stride, s.padding, s.scale))

    def detect(self, frame: npt.NDArray[np.uint8]) -> list[Detection]:
        image, factor = self._resized(frame)
        if not fits_window(image):
            return []  # OpenCV 4.14's detectMultiScale corrupts memory on smaller images
        s = self.settings
        rects, margins = self._hog.detectMultiScale(
            image,
            winStride=(s.win_stride, s.win_stride),
            padding=(s.padding, s.padding),
            scale=s.scale,
        )
        hits = [
            WindowHit(int(x), int(y), int(w), int(h), float(m))
            for (x, y, w, h), m in zip(rects, np.ravel(margins), strict=True)
        ]
        return self._detections(hits, factor, frame)

    def detect_regions(self, frame: npt.NDArray[np.uint8], regions: list[Box]) -> list[Detection]:
        """What `detect` finds in the whole frame, for the people lying inside `regions`
        (each may stick out by a quarter of its size); costs about the regions' share."""
        image, factor = self._resized(frame)
        if not fits_window(image):
            return []
        scaled = [Box(r.x1 / factor, r.y1 / factor, r.x2 / factor, r.y2 / factor) for r in regions]
        return self._detections(group_hits(self._scanner.scan(image, scaled)), factor, frame)

    def _detections(
        self, hits: list[WindowHit], factor: float, frame: npt.NDArray[np.uint8]
    ) -> list[Detection]:
        height, width = frame.shape[:2]
        s = self.settings
        found = [
            Detection(
                "person",
                margin_to_confidence(h.weight),
                Box(
                    h.x * factor, h.y * factor, (h.x + h.width) * factor, (h.y + h.height) * factor
                ).clipped(width, height),
            )
            for h in hits
        ]
        return suppress_overlaps([d for d in found if d.confidence >= s.min_confidence], s.nms_iou)

    def _resized(self, frame: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8], float]:
        """Shrink wide frames first: HOG's cost grows with pixels, people stay findable."""
        width = frame.shape[1]
        limit = self.settings.max_width
        if limit <= 0 or width <= limit:
            return frame, 1.0
        factor = width / limit
        height = round(frame.shape[0] / factor)
        resized = cv2.resize(frame, (limit, height), interpolation=cv2.INTER_AREA)
        return np.asarray(resized, dtype=np.uint8), factor


def fits_window(image: npt.NDArray[np.uint8]) -> bool:
    """Whether one HOG window (a 64x128 person) fits in the image at all."""
    height, width = image.shape[:2]
    return bool(width >= WINDOW_WIDTH and height >= WINDOW_HEIGHT)


def suppress_overlaps(detections: list[Detection], iou_threshold: float) -> list[Detection]:
    """Greedy non-maximum suppression per label: keep the most confident of overlapping boxes."""
    kept: list[Detection] = []
    for candidate in sorted(detections, key=lambda d: d.confidence, reverse=True):
        if all(
            k.label != candidate.label or k.box.iou(candidate.box) < iou_threshold for k in kept
        ):
            kept.append(candidate)
    return kept
