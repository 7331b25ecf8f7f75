"""The embedded default detector (OpenCV HOG people) on real footage."""

from __future__ import annotations

import cv2
import numpy as np

from pipelines.detectors.hog import HogPeopleDetector, HogSettings, suppress_overlaps
from pipelines.types import Box, Detection
from tests.footage import vtest_frames


def test_finds_the_people_in_vtest() -> None:
    detector = HogPeopleDetector()
    frames = vtest_frames(100, 10)
    counts = []
    for frame in frames:
        detections = detector.detect(frame)
        counts.append(len(detections))
        height, width = frame.shape[:2]
        for d in detections:
            assert d.label == "person"
            assert 0.5 <= d.confidence <= 1.0
            assert 0 <= d.box.x1 < d.box.x2 <= width and 0 <= d.box.y1 < d.box.y2 <= height
            # Upright people: taller than wide.
            assert d.box.height > d.box.width
    assert 1.5 <= float(np.mean(counts)) <= 8.0, counts


def test_empty_scene_has_no_people() -> None:
    blank = np.full((576, 768, 3), 120, dtype=np.uint8)
    assert HogPeopleDetector().detect(blank) == []


def test_downscaled_detection_reports_boxes_in_original_pixels() -> None:
    frame = vtest_frames(100, 1)[0]
    doubled = cv2.resize(frame, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    original = HogPeopleDetector().detect(frame)
    scaled = HogPeopleDetector(HogSettings(max_width=frame.shape[1])).detect(doubled)
    assert original and len(scaled) == len(original)
    for small, big in zip(
        sorted(original, key=lambda d: d.box.x1),
        sorted(scaled, key=lambda d: d.box.x1),
        strict=True,
    ):
        assert abs(big.box.x1 - 2 * small.box.x1) < 1e-6
        assert abs(big.box.y2 - 2 * small.box.y2) < 1e-6


def test_overlap_suppression_keeps_the_most_confident_per_label() -> None:
    strong = Detection("person", 0.9, Box(0, 0, 10, 20))
    weak = Detection("person", 0.6, Box(1, 1, 11, 21))
    other_label = Detection("car", 0.7, Box(1, 1, 11, 21))
    far = Detection("person", 0.55, Box(50, 50, 60, 70))
    kept = suppress_overlaps([weak, strong, other_label, far], 0.45)
    assert kept == [strong, other_label, far]
