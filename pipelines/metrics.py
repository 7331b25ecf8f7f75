"""Accuracy of what the system reports against a reference, frame by frame (docs/architecture.md).

Per frame: detection F1 at an IoU threshold (one-to-one matching, same label) and count
accuracy 1 - |n - n_ref| / max(n, n_ref, 1). A clip's figure is the mean over its frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.types import Box


@dataclass(frozen=True)
class LabelledBox:
    label: str
    box: Box


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
        return 1.0 - abs(self.reported - self.expected) / max(self.reported, self.expected, 1)


@dataclass(frozen=True)
class ClipScore:
    frames: int
    f1: float
    count_accuracy: float


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
    return ClipScore(
        frames=n,
        f1=sum(s.f1 for s in scores) / n,
        count_accuracy=sum(s.count_accuracy for s in scores) / n,
    )
