"""`appliance plan accuracy`: how well each exit agrees with the full model on real footage.

Every exit and the full model run as the edge runs them (`YoloOnnxDetector`: letterbox, decode,
NMS) on the same frames; an exit's accuracy is its detection F1 at IoU 0.5 against the full
model's detections (same label, one-to-one), averaged over frames (pipelines.metrics), which is
the accuracy Edgent's planner trades for latency.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from appliance.sample_clips import resolve_video
from pipelines.detectors.onnx_yolo import YoloOnnxDetector
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from pipelines.metrics import LabelledBox, labelled, score_clip


@dataclass(frozen=True)
class ExitAccuracy:
    name: str
    f1: float
    count_accuracy: float
    frames: int
    detections: int
    reference_detections: int


def frames_of(video: str, count: int, step: int = 1) -> Iterator[npt.NDArray[np.uint8]]:
    capture = cv2.VideoCapture(str(resolve_video(video)))
    try:
        index = 0
        while count > 0:
            ok, frame = capture.read()
            if not ok:
                return
            if index % step == 0:
                count -= 1
                yield np.asarray(frame, dtype=np.uint8)
            index += 1
    finally:
        capture.release()


def _detector(path: Path) -> YoloOnnxDetector:
    return YoloOnnxDetector(YoloOnnxSettings(model_path=str(path)))


def _same_file(path: Path, other: Path) -> bool:
    return path.resolve() == other.resolve()


def exit_accuracy(
    full: Path, exits: Mapping[str, Path], video: str, frames: int, step: int = 1
) -> list[ExitAccuracy]:
    reference = _detector(full)
    # An exit that is the full model's file is answered by the reference run (it scores 1.0).
    detectors = {n: _detector(p) for n, p in exits.items() if not _same_file(p, full)}
    expected: list[list[LabelledBox]] = []
    reported: dict[str, list[list[LabelledBox]]] = {name: [] for name in exits}
    for frame in frames_of(video, frames, step):
        truth = labelled(reference.detect(frame))
        expected.append(truth)
        for name in exits:
            detector = detectors.get(name)
            reported[name].append(truth if detector is None else labelled(detector.detect(frame)))
    results = []
    for name in exits:
        score = score_clip(reported[name], expected)
        results.append(ExitAccuracy(
            name, round(score.f1, 4), round(score.count_accuracy, 4), score.frames,
            sum(map(len, reported[name])), sum(map(len, expected)),
        ))  # fmt: skip
    return results
