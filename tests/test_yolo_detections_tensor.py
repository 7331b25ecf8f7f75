"""Edgent's device-only message: detections as a compact `[N, 6]` float32 tensor and back, every
value checked on the way in (it comes from another machine)."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.detectors.yolo_decode import (
    FrameSize,
    YoloDecoding,
    YoloOutputError,
    detections_tensor,
    read_detections,
)
from pipelines.edgent.codec import TensorCodec
from pipelines.types import Box, Detection

LABELS = ("person", "car", "dog")
FRAME = FrameSize(640, 480)
DECODING = YoloDecoding(LABELS, max_detections=4)
FOUND = [
    Detection("car", 0.875, Box(10.5, 20.25, 200.0, 100.0)),
    Detection("person", 0.25, Box(0.0, 0.0, 640.0, 480.0)),
]


def test_detections_round_trip_exactly_through_a_float32_message() -> None:
    tensor = detections_tensor(FOUND, LABELS)
    assert tensor.dtype == np.float32 and tensor.shape == (2, 6)
    assert tensor[:, 5].tolist() == [1.0, 0.0]
    message = TensorCodec("float32").encode({"detections": tensor})
    assert len(message) < 24 * len(FOUND) + 512
    assert read_detections(TensorCodec.decode(message)["detections"], FRAME, DECODING) == FOUND


def test_no_detections_is_an_empty_tensor() -> None:
    tensor = detections_tensor([], LABELS)
    assert tensor.shape == (0, 6)
    assert read_detections(tensor, FRAME, DECODING) == []


def test_a_label_the_model_lacks_cannot_be_encoded() -> None:
    with pytest.raises(YoloOutputError, match="cat"):
        detections_tensor([Detection("cat", 0.5, Box(0, 0, 1, 1))], LABELS)


def test_boxes_are_clipped_to_the_frame() -> None:
    tensor = np.array([[-5, -5, 700, 500, 0.5, 2]], dtype=np.float32)
    (found,) = read_detections(tensor, FRAME, DECODING)
    assert found == Detection("dog", 0.5, Box(0.0, 0.0, 640.0, 480.0))


def row(**changes: float) -> list[float]:
    values = {"x1": 10, "y1": 10, "x2": 50, "y2": 60, "score": 0.5, "label": 1} | changes
    return list(values.values())


@pytest.mark.parametrize(
    ("tensor", "problem"),
    [
        (np.zeros((6,), np.float32), r"must be \[N, 6\], got \[6\]"),
        (np.zeros((2, 5), np.float32), r"must be \[N, 6\], got \[2, 5\]"),
        (np.zeros((1, 2, 6), np.float32), r"must be \[N, 6\]"),
        (np.zeros((2, 6), np.int32), "must be floats"),
        (np.array([row()] * 5, np.float32), "5 detections, more than the 4 allowed"),
        (np.array([row(x1=np.nan)], np.float32), "non-finite"),
        (np.array([row(y2=np.inf)], np.float32), "non-finite"),
        (np.array([row(score=1.5)], np.float32), r"scores must lie in \[0, 1\]"),
        (np.array([row(score=-0.1)], np.float32), r"scores must lie in \[0, 1\]"),
        (np.array([row(label=3)], np.float32), r"whole numbers in 0..2"),
        (np.array([row(label=-1)], np.float32), r"whole numbers in 0..2"),
        (np.array([row(label=0.5)], np.float32), r"whole numbers in 0..2"),
        (np.array([row(x1=50, x2=10)], np.float32), "detection 0: box .* no area"),
        (np.array([row(), row(y1=60, y2=60)], np.float32), "detection 1: box .* no area"),
        (np.array([row(x1=700, x2=800)], np.float32), "no area inside the 640x480 frame"),
    ],
)
def test_bad_detections_are_refused_naming_the_problem(tensor: np.ndarray, problem: str) -> None:
    with pytest.raises(YoloOutputError, match=problem):
        read_detections(tensor, FRAME, DECODING)
