"""Replay frame-selection schemes over a clip analysed once (docs/architecture.md).

A clip is analysed once (see `ClipAnalysis`): per frame the full detector's result on the
original frame, its result on the JPEG the camera would send, that JPEG's size and the
difference filter's small signature. A scheme is then only a set of sent frames, scored by
`pipelines.system_score`. `tracked_answers` gives what the edge's tracker knows at every frame
(the early-exit benchmark compares cascades with it).
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
from pipelines.metrics import LabelledBox
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
    raw_weak: Sequence[Sequence[Detection]] | None = None
    """The detector's weak detections on the original frame (`pipelines.weak_detections`);
    None when it ran at its own threshold only."""
    jpeg_weak: Sequence[Sequence[Detection]] | None = None
    """The same on the JPEG-decoded frame."""

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        lengths = {
            len(self.raw_detections),
            len(self.jpeg_detections),
            len(self.jpeg_sizes),
            len(self.signatures),
            *(len(w) for w in (self.raw_weak, self.jpeg_weak) if w is not None),
        }
        if lengths != {n}:
            raise ValueError(f"per-frame sequences differ in length: {sorted(lengths | {n})}")

    @property
    def frames(self) -> int:
        return len(self.timestamps)

    def sent_bytes(self, sent: Sequence[int]) -> int:
        """What the `sent` frames' JPEGs weigh together."""
        return sum(self.jpeg_sizes[i] for i in sent)


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
