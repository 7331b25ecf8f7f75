"""The one scorer of every benchmark: what the system reports against a reference, per frame
(docs/architecture.md, "How results are measured"; events: `pipelines.event_scoring`).

Per frame: detection F1 at an IoU threshold (one-to-one matching, same label) and count
accuracy 1 - |n - n_ref| / max(n, n_ref, 1). A clip's figure is the mean over its frames, and
F1 also over its busy frames alone (where either side has an object), so a quiet clip's empty
frames cannot hide losses in its busy ones. Counts over time: the mean absolute error of
per-second average counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.types import Box, Detection


@dataclass(frozen=True)
class LabelledBox:
    label: str
    box: Box


def labelled(detections: Sequence[Detection]) -> list[LabelledBox]:
    """Detections as the scorer compares them: label and box."""
    return [LabelledBox(d.label, d.box) for d in detections]


@dataclass(frozen=True)
class FrameScore:
    true_positives: int
    reported: int
    expected: int

    @property
    def f1(self) -> float:
        if self.reported == 0 and self.expected == 0:
            return 1.0  # nothing there, nothing reported: a correct answer
        return 2 * self.true_positives / (self.reported + self.expected)

    @property
    def count_accuracy(self) -> float:
        return count_agreement(self.reported, self.expected)


def count_agreement(reported: int, expected: int) -> float:
    """1 - |reported - expected| / the larger (1.0 when both are 0): a frame's count accuracy."""
    return 1.0 - abs(reported - expected) / max(reported, expected, 1)


@dataclass(frozen=True)
class ClipScore:
    frames: int
    f1: float
    count_accuracy: float
    f1_busy: float = 1.0
    """Mean F1 over the frames where either side has an object (1.0: there are none)."""
    busy_frames: int = 0


def match_count(
    reported: Sequence[LabelledBox], expected: Sequence[LabelledBox], iou_threshold: float
) -> int:
    """Greedy one-to-one matching by descending IoU, same label only."""
    pairs = sorted(
        (
            (r.box.iou(e.box), i, j)
            for i, r in enumerate(reported)
            for j, e in enumerate(expected)
            if r.label == e.label
        ),
        reverse=True,
    )
    used_reported: set[int] = set()
    used_expected: set[int] = set()
    for iou, i, j in pairs:
        if iou < iou_threshold:
            break
        if i not in used_reported and j not in used_expected:
            used_reported.add(i)
            used_expected.add(j)
    return len(used_reported)


def score_frame(
    reported: Sequence[LabelledBox], expected: Sequence[LabelledBox], iou_threshold: float = 0.5
) -> FrameScore:
    return FrameScore(match_count(reported, expected, iou_threshold), len(reported), len(expected))


def score_clip(
    reported: Sequence[Sequence[LabelledBox]],
    expected: Sequence[Sequence[LabelledBox]],
    iou_threshold: float = 0.5,
) -> ClipScore:
    if len(reported) != len(expected):
        raise ValueError(f"{len(reported)} reported frames against {len(expected)} expected")
    scores = [score_frame(r, e, iou_threshold) for r, e in zip(reported, expected, strict=True)]
    n = len(scores)
    if n == 0:
        return ClipScore(0, 1.0, 1.0)
    busy = [s.f1 for s in scores if s.reported or s.expected]
    return ClipScore(
        frames=n,
        f1=sum(s.f1 for s in scores) / n,
        count_accuracy=sum(s.count_accuracy for s in scores) / n,
        f1_busy=sum(busy) / len(busy) if busy else 1.0,
        busy_frames=len(busy),
    )


def count_error_per_second(
    reported: Sequence[Sequence[LabelledBox]],
    expected: Sequence[Sequence[LabelledBox]],
    timestamps: Sequence[float],
) -> float:
    """Mean absolute error of the average count in each second of the clip ("how many, over
    time": a count a frame late or early costs little here)."""
    if not (len(reported) == len(expected) == len(timestamps)):
        raise ValueError("reported, expected and timestamps differ in length")
    if not timestamps:
        return 0.0
    seconds: dict[int, list[tuple[int, int]]] = {}
    for r, e, t in zip(reported, expected, timestamps, strict=True):
        seconds.setdefault(int(t - timestamps[0]), []).append((len(r), len(e)))
    errors = [
        abs(sum(r for r, _ in pairs) - sum(e for _, e in pairs)) / len(pairs)
        for pairs in seconds.values()
    ]
    return sum(errors) / len(errors)
