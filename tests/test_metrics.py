"""Per-frame accuracy figures used by the benchmarks."""

from __future__ import annotations

import pytest

from pipelines.metrics import LabelledBox, score_clip, score_frame
from pipelines.types import Box


def person(x: float, y: float = 0.0) -> LabelledBox:
    return LabelledBox("person", Box(x, y, x + 10, y + 20))


def test_perfect_and_empty_frames_score_one() -> None:
    assert score_frame([person(0)], [person(0)]).f1 == 1.0
    assert score_frame([], []).f1 == 1.0
    assert score_frame([], []).count_accuracy == 1.0


def test_missed_and_spurious_objects_lower_f1() -> None:
    score = score_frame([person(0), person(100)], [person(0), person(50)])
    assert score.true_positives == 1
    assert score.f1 == pytest.approx(0.5)
    assert score.count_accuracy == 1.0  # right count, wrong places


def test_iou_threshold_and_labels() -> None:
    shifted = person(4)  # IoU with person(0) = 6*20 / (2*200 - 120) ~ 0.43
    assert score_frame([shifted], [person(0)], iou_threshold=0.5).true_positives == 0
    assert score_frame([shifted], [person(0)], iou_threshold=0.4).true_positives == 1
    car = LabelledBox("car", person(0).box)
    assert score_frame([car], [person(0)]).true_positives == 0


def test_one_to_one_matching() -> None:
    # Two reports on one object: one true positive, one false positive.
    score = score_frame([person(0), person(1)], [person(0)])
    assert score.true_positives == 1 and score.f1 == pytest.approx(2 / 3)
    assert score.count_accuracy == pytest.approx(0.5)


def test_clip_score_is_the_mean_over_frames() -> None:
    clip = score_clip([[person(0)], []], [[person(0)], [person(0)]])
    assert clip.frames == 2
    assert clip.f1 == pytest.approx(0.5)
    assert clip.count_accuracy == pytest.approx(0.5)
    with pytest.raises(ValueError, match="frames"):
        score_clip([[]], [])
