"""Replay frame-selection schemes over a clip analysed once, and score them (docs/architecture.md).

A clip is analysed once (see `ClipAnalysis`): per frame the full detector's result on the
original frame, its result on the JPEG the camera would send, that JPEG's size and the
difference filter's small signature. A scheme is then only a set of sent frames. The answer
for every frame is what the edge knows at that moment: its tracker, fed the JPEG detections
of the frames sent so far in capture order, with confirmed tracks predicted to the frame's time.
The reference is the same tracker fed the original-frame detections of every frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.frame_difference import (
    DifferenceSettings,
    FilterDecision,
    FrameDifferenceFilter,
    Image,
    SendReason,
)
from pipelines.metrics import ClipScore, LabelledBox, score_clip
from pipelines.tracker import IouTracker, TrackedObject, TrackerSettings
from pipelines.types import Detection

Sent = tuple[int, ...]
"""Indices of the frames a scheme sends, ascending."""
Answers = list[list[LabelledBox]]


@dataclass(frozen=True)
class ClipAnalysis:
    """Everything the schemes need, per frame, from one decoding pass over a clip."""

    timestamps: Sequence[float]
    raw_detections: Sequence[Sequence[Detection]]
    """Full detector on the original frame: the reference."""
    jpeg_detections: Sequence[Sequence[Detection]]
    """Full detector on the JPEG-decoded frame: what the edge sees when the frame is sent."""
    jpeg_sizes: Sequence[int]
    signatures: Sequence[Image]
    """`FrameDifferenceFilter.signature` of the original frame."""

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        lengths = {
            len(self.raw_detections),
            len(self.jpeg_detections),
            len(self.jpeg_sizes),
            len(self.signatures),
        }
        if lengths != {n}:
            raise ValueError(f"per-frame sequences differ in length: {sorted(lengths | {n})}")

    @property
    def frames(self) -> int:
        return len(self.timestamps)


@dataclass(frozen=True)
class Reference:
    tracked: Answers
    """Confirmed tracks of the reference tracker at each frame: the expected answer."""
    raw: Answers
    """Raw original-frame detections at each frame (reported as f1_raw)."""
    coasting: int
    """Boxes of `tracked` whose track was not matched on that frame (held by the tracker)."""


@dataclass(frozen=True)
class SchemeResult:
    sent: Sent
    frames_sent: int
    sent_fraction: float
    bytes_sent: int
    f1: float
    f1_raw: float
    count_accuracy: float


def filter_decisions(
    signatures: Sequence[Image], timestamps: Sequence[float], settings: DifferenceSettings
) -> list[FilterDecision]:
    """The difference filter's decision for each frame, replayed in capture order."""
    frame_filter = FrameDifferenceFilter(settings)
    return [
        frame_filter.decide_signature(s, t) for s, t in zip(signatures, timestamps, strict=True)
    ]


def sent_by_filter(
    signatures: Sequence[Image], timestamps: Sequence[float], settings: DifferenceSettings
) -> Sent:
    decisions = filter_decisions(signatures, timestamps, settings)
    return tuple(i for i, d in enumerate(decisions) if d.send)


def reason_counts(decisions: Sequence[FilterDecision]) -> dict[str, int]:
    return {r.value: sum(1 for d in decisions if d.reason is r) for r in SendReason}


def sent_uniform(frames: int, every: int) -> Sent:
    """Every `every`-th frame, starting with the first."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    return tuple(range(0, frames, every))


def _boxes(detections: Sequence[Detection]) -> list[LabelledBox]:
    return [LabelledBox(d.label, d.box) for d in detections]


def tracked_answers(
    detections: Sequence[Sequence[Detection]],
    timestamps: Sequence[float],
    sent: Sent,
    settings: TrackerSettings,
) -> Answers:
    """What the tracker knows at every frame when only the `sent` frames were analysed.

    A sent frame updates the tracker first; every frame then answers with the confirmed tracks
    predicted to its time (for a sent frame, matched tracks keep the box just detected).
    Before the first sent frame nothing is known.
    """
    return [
        [LabelledBox(o.label, o.box) for o in frame]
        for frame in _tracked(detections, timestamps, sent, settings)
    ]


def _tracked(
    detections: Sequence[Sequence[Detection]],
    timestamps: Sequence[float],
    sent: Sent,
    settings: TrackerSettings,
) -> list[list[TrackedObject]]:
    tracker = IouTracker(settings)
    chosen = set(sent)
    known: list[list[TrackedObject]] = []
    for i, t in enumerate(timestamps):
        if i in chosen:
            tracker.update(detections[i], t)
        known.append(tracker.predict(t))
    return known


def reference(clip: ClipAnalysis, settings: TrackerSettings) -> Reference:
    everything = tuple(range(clip.frames))
    known = _tracked(clip.raw_detections, clip.timestamps, everything, settings)
    tracked = [[LabelledBox(o.label, o.box) for o in frame] for frame in known]
    coasting = sum(
        1 for t, frame in zip(clip.timestamps, known, strict=True) for o in frame if o.last_seen < t
    )
    return Reference(tracked, [_boxes(d) for d in clip.raw_detections], coasting)


def consecutive_agreement(answers: Answers, iou_threshold: float = 0.5) -> float:
    """F1 of each frame's answer against the previous frame's: how much answers flicker."""
    if len(answers) < 2:
        return 1.0
    return score_clip(answers[1:], answers[:-1], iou_threshold).f1


def score_sent(
    clip: ClipAnalysis, sent: Sent, expected: Answers, settings: TrackerSettings
) -> ClipScore:
    answers = tracked_answers(clip.jpeg_detections, clip.timestamps, sent, settings)
    return score_clip(answers, expected)


def evaluate(
    clip: ClipAnalysis, sent: Sent, ref: Reference, settings: TrackerSettings
) -> SchemeResult:
    answers = tracked_answers(clip.jpeg_detections, clip.timestamps, sent, settings)
    tracked = score_clip(answers, ref.tracked)
    raw = score_clip(answers, ref.raw)
    return SchemeResult(
        sent=sent,
        frames_sent=len(sent),
        sent_fraction=len(sent) / clip.frames if clip.frames else 0.0,
        bytes_sent=sum(clip.jpeg_sizes[i] for i in sent),
        f1=tracked.f1,
        f1_raw=raw.f1,
        count_accuracy=tracked.count_accuracy,
    )
