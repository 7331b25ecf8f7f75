"""The edge moves a camera's threshold to hold the accuracy of its held answers at a target."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeCameraConfig, EdgeConfig
from cameras.protocol import FrameMeta
from pipelines.feedback import ThresholdController, ThresholdControlSettings, update_and_score
from pipelines.tracker import IouTracker, TrackerSettings
from pipelines.types import Box, Detection
from tests.footage import vtest_frames

SETTINGS = ThresholdControlSettings(accuracy_target=0.9, initial=0.01, minimum=0.002, maximum=0.05)


def person(x: float) -> Detection:
    return Detection("person", 0.9, Box(x, 100, x + 40, 200))


def test_stale_answers_lower_the_threshold_until_the_minimum() -> None:
    controller = ThresholdController(SETTINGS)
    thresholds = [controller.observe(0.5) for _ in range(20)]
    assert thresholds == sorted(thresholds, reverse=True)
    assert thresholds[0] < 0.01 and thresholds[-1] == 0.002


def test_accurate_answers_raise_it_slowly_until_the_maximum() -> None:
    controller = ThresholdController(SETTINGS)
    first = controller.observe(1.0)
    assert 0.01 < first < 0.012  # a slow probe, not a jump
    for _ in range(100):
        controller.observe(1.0)
    assert controller.threshold == 0.05


def test_within_the_margin_the_threshold_holds() -> None:
    controller = ThresholdController(SETTINGS)
    for _ in range(10):
        assert controller.observe(0.92) == 0.01


def test_invalid_control_settings() -> None:
    with pytest.raises(ValueError):
        ThresholdControlSettings(initial=0.5, maximum=0.1)
    with pytest.raises(ValueError):
        ThresholdControlSettings(decrease=1.2)


def test_held_answer_accuracy_is_measured_before_the_frame_is_seen() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=1))
    update_and_score(tracker, [person(100)], 0.0)
    _, same = update_and_score(tracker, [person(101)], 0.1)
    assert same == 1.0  # the held answer was right
    _, newcomer = update_and_score(tracker, [person(102), person(400)], 0.2)
    assert newcomer == pytest.approx(2 / 3)  # one of two people was missing from it


def test_the_edge_advises_a_threshold_unless_the_camera_has_a_fixed_one(tmp_path: Path) -> None:
    config = EdgeConfig(
        data_dir=tmp_path,
        cameras=[
            EdgeCameraConfig(id="adaptive", token="t" * 12),
            EdgeCameraConfig(id="fixed", token="f" * 12, difference_threshold=0.03),
        ],
    )
    box = EdgeBox(config)
    try:
        frames = vtest_frames(100, 6)
        advice = [
            box.analyzers["adaptive"]
            .analyse(f, FrameMeta(seq=i, captured_at=1e9 + i), 1000)
            .difference_threshold
            for i, f in enumerate(frames[::2])  # every 2nd frame, 1 s apart: answers go stale
        ]
        fixed = box.analyzers["fixed"].analyse(frames[0], FrameMeta(seq=0, captured_at=1e9), 1)
    finally:
        box.close()
    assert all(a is not None and 0.002 <= a <= 0.05 for a in advice)
    assert advice[-1] is not None and advice[-1] < 0.01  # stale answers: send more often
    assert fixed.difference_threshold is None
