"""How a distilled exit compares with the others: F1 on held-out frames and ms per frame.

F1 is scored as `appliance plan accuracy` scores exits (appliance/plan/accuracy.py): every
model run as the edge runs a detector (`YoloOnnxDetector`), its detections against the default
detector's on the original frames, per-frame F1 at IoU 0.5 averaged (pipelines.metrics), but on
a frame range of its own, so that the frames the head was trained on can be left out.
Latency: onnxruntime on one thread, the median of timed runs of one letterboxed frame, the
exits taking turns.
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


def ms_per_frame(models: Mapping[str, Path], frames: FrameRange, runs: int) -> dict[str, float]:
    """Median wall ms of one run on one thread, on the range's first frame. The models take
    turns run by run, so a neighbour's load on a shared machine falls on all of them alike."""
    first = next(iter(frames_in(frames)))
    sessions, blobs = {}, {}
    for name, path in models.items():
        session = ort.InferenceSession(str(path), session_options(1), ["CPUExecutionProvider"])
        image, _ = letterbox(first, int(session.get_inputs()[0].shape[2]))
        sessions[name] = session
        blobs[name] = {session.get_inputs()[0].name: preprocess(image, np.float32)}
    times: dict[str, list[float]] = {name: [] for name in models}
    for turn in range(runs + 3):  # three warm-up turns, not counted
        for name, session in sessions.items():
            start = time.perf_counter()
            session.run(None, blobs[name])
            if turn >= 3:
                times[name].append((time.perf_counter() - start) * 1000)
    return {name: round(statistics.median(t), 2) if t else 0.0 for name, t in times.items()}


def compare_exits(
    reference: Path, exits: Mapping[str, Path], frames: FrameRange, runs: int
) -> list[ExitFigures]:
    scores = held_out_f1(reference, exits, frames)
    ms = ms_per_frame(exits, frames, runs)
    return [ExitFigures(name, *scores[name], ms[name]) for name in exits]
