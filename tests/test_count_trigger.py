"""Counts query with a detector on the camera: a frame goes when the camera's count changes.

On vtest (people walking all the time) almost every frame changes enough pixels for the
difference filter; the number of people changes on a third of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cameras.config import DifferenceFilterConfig, TinyDetectorConfig
from pipelines.count_trigger import CountChangeTrigger, CountTriggerSettings
from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST
from pipelines.detectors.onnx_yolo import YoloOnnxDetector
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from pipelines.feedback import EdgeReply, Query
from pipelines.frame_difference import SendReason
from pipelines.selection import FrameSelector
from tests.footage import vtest_frames


def test_a_count_is_news_when_it_differs_from_the_last_sent() -> None:
    trigger = CountChangeTrigger(CountTriggerSettings(min_change=2, keepalive_s=5.0))
    assert trigger.decide(3, 0.0).send  # nothing sent yet
    trigger.sent()
    assert not trigger.decide(4, 0.1).send  # one more: under min_change
    assert not trigger.decide(2, 0.2).send
    news = trigger.decide(5, 0.3)
    assert news.changed and not news.keepalive
    # Not sent: the count to beat is still 3.
    assert trigger.decide(5, 0.4).changed
    trigger.sent()
    assert not trigger.decide(4, 5.0).send
    due = trigger.decide(5, 5.4)
    assert due.keepalive and not due.changed and due.send


@pytest.mark.parametrize(
    "settings", [{"min_change": 0}, {"keepalive_s": 0.0}, {"keepalive_s": -1.0}]
)
def test_invalid_trigger_settings(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        CountTriggerSettings(**settings)  # type: ignore[arg-type]


def _detector(model: Path) -> YoloOnnxDetector:
    settings = YoloOnnxSettings(
        str(model),
        interest=DEFAULT_LABELS_OF_INTEREST,
        input_size=416,
        providers=("CPUExecutionProvider",),
    )
    return YoloOnnxDetector(settings)


def _sent(selector: FrameSelector, query: Query, count: int) -> list[tuple[int, SendReason]]:
    """Frames the selector sends of vtest's first `count`, the edge tracking people and
    asking for `query` in every reply."""
    sent = []
    for i, frame in enumerate(vtest_frames(0, count)):
        decision = selector.decide(frame, i / 10.0).decision
        if decision.send:
            sent.append((i, decision.reason))
            selector.commit_last()
            selector.follow(EdgeReply(moving_tracks=5, threshold=None, query=query))
    return sent


def test_a_counting_camera_sends_the_frames_where_its_count_changes(trained_model: Path) -> None:
    """The node's own model (the edge's, at 416) counts the people on every frame; a frame goes
    exactly when its count differs from the last frame sent's, and far fewer go than the
    difference filter sends for the same camera answering events."""
    frames = 120
    model = _detector(trained_model)
    counts = [len(model.detect(frame)) for frame in vtest_frames(0, frames)]
    # The first frame goes before the edge's first reply names the query; the camera's first
    # count then goes too (the edge's count could be anything).
    expected = [0, 1]
    for i, count in enumerate(counts[2:], start=2):
        if count != counts[expected[-1]]:
            expected.append(i)
    tiny = TinyDetectorConfig()

    def selector() -> FrameSelector:
        difference = DifferenceFilterConfig().settings()
        return FrameSelector(
            difference, tiny.settings(), tiny.arrival_area, model, tiny.count_settings()
        )

    counting = _sent(selector(), Query.COUNTS, frames)
    assert [i for i, _ in counting] == expected
    assert {reason for _, reason in counting[1:]} == {SendReason.COUNT}
    assert 5 <= len(counting) < 0.6 * frames  # the count does change, not on every frame
    events = _sent(selector(), Query.EVENTS, frames)
    assert len(counting) < 0.6 * len(events)


def test_without_a_detector_a_counts_camera_follows_the_difference_filter() -> None:
    """Motion blobs are not a count: a node on them sends by the picture, whatever the query."""
    tiny = TinyDetectorConfig()
    difference = DifferenceFilterConfig().settings()
    sent = _sent(FrameSelector(difference, tiny.settings(), tiny.arrival_area), Query.COUNTS, 40)
    assert SendReason.COUNT not in {reason for _, reason in sent}
    assert len(sent) > 20  # people walk: the picture changes on most frames
