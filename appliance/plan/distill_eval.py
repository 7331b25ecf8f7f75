"""How a distilled exit compares with the others: F1 on held-out frames and ms per frame.

F1 is scored as `appliance plan accuracy` scores exits (appliance/plan/accuracy.py): every
model run as the edge runs a detector (`YoloOnnxDetector`), its detections against the default
detector's on the original frames, per-frame F1 at IoU 0.5 averaged (pipelines.metrics), but on
a frame range of its own, so that the frames the head was trained on can be left out.
Latency: onnxruntime on one thread, the median of timed runs of one letterboxed frame.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from appliance.plan.distill_data import FrameRange, detector, frames_in, session_options
from pipelines.detectors.letterbox import letterbox
from pipelines.detectors.onnx_yolo import preprocess
from pipelines.metrics import LabelledBox, labelled, score_clip


@dataclass(frozen=True)
class ExitFigures:
    name: str
    f1: float
    detections: int
    reference_detections: int
    frames: int
    ms: float
    """Median ms per frame, one thread (0 where not timed)."""

    @property
    def f1_per_ms(self) -> float:
        return self.f1 / self.ms if self.ms > 0 else 0.0


def held_out_f1(
    reference: Path, exits: Mapping[str, Path], frames: FrameRange
) -> dict[str, tuple[float, int, int, int]]:
    """Per exit: F1, its detections, the reference's detections, frames scored."""
    truth_detector = detector(reference)
    detectors = {name: detector(path) for name, path in exits.items()}
    expected: list[list[LabelledBox]] = []
    reported: dict[str, list[list[LabelledBox]]] = {name: [] for name in exits}
    for frame in frames_in(frames):
        expected.append(labelled(truth_detector.detect(frame)))
        for name, found in detectors.items():
            reported[name].append(labelled(found.detect(frame)))
    scores = {}
    for name in exits:
        score = score_clip(reported[name], expected)
        counts = sum(map(len, reported[name])), sum(map(len, expected))
        scores[name] = (round(score.f1, 4), *counts, score.frames)
    return scores


def ms_per_frame(model: Path, frames: FrameRange, runs: int = 20) -> float:
    """Median wall ms of one run on one thread, on the range's first frame."""
    session = ort.InferenceSession(str(model), session_options(1), ["CPUExecutionProvider"])
    side = session.get_inputs()[0].shape[2]
    image, _ = letterbox(next(iter(frames_in(frames))), int(side))
    blob = {session.get_inputs()[0].name: preprocess(image, np.float32)}
    for _ in range(3):
        session.run(None, blob)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, blob)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def compare_exits(
    reference: Path, exits: Mapping[str, Path], frames: FrameRange, runs: int
) -> list[ExitFigures]:
    scores = held_out_f1(reference, exits, frames)
    return [
        ExitFigures(name, *scores[name], ms_per_frame(path, frames, runs) if runs else 0.0)
        for name, path in exits.items()
    ]
