"""Counts and boxes queries with a detector on the camera: a frame goes when the answer the edge
holds goes stale, as the camera's own model sees it.

On vtest (people walking all the time) almost every frame changes enough pixels for the
difference filter; the boxes of the last frame sent go stale on fewer, its count on fewer
still."""

from __future__ import annotations

from pathlib import Path

import pytest

from cameras.config import DifferenceFilterConfig, TinyDetectorConfig
from pipelines.answer_trigger import HeldAnswerTrigger
from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST
from pipelines.detectors.onnx_yolo import YoloOnnxDetector
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from pipelines.feedback import EdgeReply, Query
from pipelines.frame_difference import SendReason
from pipelines.metrics import labelled, score_frame
from pipelines.selection import FrameSelector
from pipelines.types import Box, Detection
from tests.footage import vtest_frames


def people(*lefts: float) -> list[Detection]:
    return [Detection("person", 0.9, Box(x, 100.0, x + 40.0, 200.0)) for x in lefts]


def test_people_who_moved_make_held_boxes_stale_and_the_count_not() -> None:
    for query, stale in ((Query.COUNTS, False), (Query.BOXES, True)):
        trigger = HeldAnswerTrigger(keepalive_s=5.0)
        assert trigger.decide(people(0, 100, 200), 0.0, query, 0.9).stale  # nothing sent yet
        trigger.sent()
        assert not trigger.decide(people(2, 101, 199), 0.1, query, 0.9).send  # a few pixels
        moved = trigger.decide(people(60, 160, 260), 0.2, query, 0.9)
        assert moved.stale is stale and moved.accuracy == (1.0 if not stale else 0.0)


def test_a_count_goes_stale_below_the_target_and_only_what_was_sent_counts() -> None:
    trigger = HeldAnswerTrigger(keepalive_s=5.0)
    trigger.decide(people(*range(0, 1000, 100)), 0.0, Query.COUNTS, 0.9)
    trigger.sent()  # ten people
    assert not trigger.decide(people(*range(0, 900, 100)), 0.1, Query.COUNTS, 0.9).send  # 0.9
    assert trigger.decide(people(*range(0, 800, 100)), 0.2, Query.COUNTS, 0.9).stale  # 0.8
    # Not sent: the answer held is still the ten.
    assert trigger.decide(people(*range(0, 800, 100)), 0.3, Query.COUNTS, 0.95).stale
    assert not trigger.decide(people(*range(0, 1000, 100)), 4.9, Query.COUNTS, 0.9).send
    due = trigger.decide(people(*range(0, 1000, 100)), 5.0, Query.COUNTS, 0.9)
    assert due.keepalive and not due.stale and due.send


def test_a_frame_that_never_reached_the_edge_makes_the_next_one_go() -> None:
    trigger = HeldAnswerTrigger()
    trigger.decide(people(0, 100), 0.0, Query.BOXES, 0.9)
    trigger.sent()
    assert not trigger.decide(people(0, 100), 0.1, Query.BOXES, 0.9).send
    trigger.lost()  # which frame the edge holds is unknown
    assert trigger.decide(people(0, 100), 0.2, Query.BOXES, 0.9).stale


def test_a_lost_frames_answer_gives_way_to_the_one_the_edge_holds() -> None:
    trigger = HeldAnswerTrigger()
    trigger.decide(people(0, 100), 0.0, Query.BOXES, 0.9)
    trigger.sent()
    arrived = trigger.held
    trigger.decide(people(300), 0.1, Query.BOXES, 0.9)
    trigger.sent()
    assert trigger.decide(people(0, 100), 0.2, Query.BOXES, 0.9).stale
    trigger.restore(arrived)  # the second never reached the edge
    assert not trigger.decide(people(0, 100), 0.3, Query.BOXES, 0.9).send
    trigger.restore(None)  # nor did the first
    assert trigger.decide(people(0, 100), 0.4, Query.BOXES, 0.9).stale


def test_events_and_a_bad_keepalive_are_refused() -> None:
    with pytest.raises(ValueError, match="events"):
        HeldAnswerTrigger().decide(people(0), 0.0, Query.EVENTS, 0.9)
    with pytest.raises(ValueError, match="keepalive_s"):
        HeldAnswerTrigger(keepalive_s=0.0)


def _detector(model: Path) -> YoloOnnxDetector:
    settings = YoloOnnxSettings(
        str(model),
        interest=DEFAULT_LABELS_OF_INTEREST,
        input_size=416,
        providers=("CPUExecutionProvider",),
    )
    return YoloOnnxDetector(settings)


FRAMES = 80
TARGET = 0.9


def _sent(selector: FrameSelector, query: Query) -> list[tuple[int, SendReason]]:
    """Frames the selector sends of vtest's first FRAMES, the edge tracking people and asking
    for `query` at TARGET in every reply."""
    sent = []
    for i, frame in enumerate(vtest_frames(0, FRAMES)):
        decision = selector.decide(frame, i / 10.0).decision
        if decision.send:
            sent.append((i, decision.reason))
            selector.commit_last()
            selector.follow(EdgeReply(5, None, query=query, target=TARGET))
    return sent


def test_a_camera_with_its_model_sends_the_frames_where_the_held_answer_goes_stale(
    trained_model: Path,
) -> None:
    """The node's own model (the edge's, at 416) finds the people on every frame; a frame goes
    exactly when the last frame sent's count (or boxes) scores under the target against this
    frame's, and far fewer go than the difference filter sends for the same camera answering
    events."""
    model = _detector(trained_model)
    found = [labelled(model.detect(frame)) for frame in vtest_frames(0, FRAMES)]
    tiny = TinyDetectorConfig()

    def selector() -> FrameSelector:
        motion = tiny.settings()
        difference = DifferenceFilterConfig().settings()
        return FrameSelector(difference, motion, tiny.arrival_area, model, 60.0)

    def expected(query: Query) -> list[int]:
        # The first frame goes before the edge's first reply names the query; the camera's
        # first look then goes too (the edge's answer could be anything).
        sent = [0, 1]
        for i in range(2, FRAMES):
            score = score_frame(found[sent[-1]], found[i])
            accuracy = score.count_accuracy if query is Query.COUNTS else score.f1
            if accuracy < TARGET:
                sent.append(i)
        return sent

    counting = _sent(selector(), Query.COUNTS)
    boxes = _sent(selector(), Query.BOXES)
    events = _sent(selector(), Query.EVENTS)
    assert [i for i, _ in counting] == expected(Query.COUNTS)
    assert [i for i, _ in boxes] == expected(Query.BOXES)
    assert {reason for _, reason in counting[1:] + boxes[1:]} == {SendReason.STALE}
    assert 3 <= len(counting) < len(boxes) < 0.8 * len(events), (counting, boxes)


def test_a_lost_frame_is_not_the_answer_later_frames_are_held_against(
    trained_model: Path,
) -> None:
    """With the edge's model on the camera, a boxes camera whose frame never reached the edge
    goes on from the frame the edge has: the camera seeing frame 0's picture again sends
    nothing, however different the lost frame was. A frame lost while a newer one is on its way
    leaves that one the reference."""
    tiny, difference = TinyDetectorConfig(), DifferenceFilterConfig().settings()
    selector = FrameSelector(
        difference, tiny.settings(), tiny.arrival_area, _detector(trained_model)
    )
    frames = vtest_frames(0, 80)
    selector.follow(EdgeReply(5, None, query=Query.BOXES, target=TARGET))  # the query is known
    assert selector.decide(frames[0], 0.0).decision.reason is SendReason.FIRST
    selector.commit_last(seq=0)
    selector.frame_arrived(0)
    assert selector.decide(frames[79], 7.9).decision.reason is SendReason.STALE
    selector.commit_last(seq=79)
    selector.frame_lost(79)  # refused, or the uplink was down
    assert not selector.decide(frames[0], 8.0).decision.send
    assert selector.decide(frames[79], 8.1).decision.send
    selector.commit_last(seq=80)
    assert selector.decide(frames[40], 8.2).decision.send
    selector.commit_last(seq=81)  # 80 and 81 both on their way
    selector.frame_lost(80)
    assert not selector.decide(frames[40], 8.3).decision.send  # 81 stands


def test_without_a_detector_or_blob_counts_a_counts_camera_follows_the_difference_filter() -> None:
    """With `count_agreement` off, a node on motion blobs sends by the picture, whatever the
    query (on by default: tests/test_blob_counts.py)."""
    tiny = TinyDetectorConfig(count_agreement=None)
    difference = DifferenceFilterConfig().settings()
    selector = FrameSelector(
        difference, tiny.settings(), tiny.arrival_area, count_agreement=tiny.count_agreement
    )
    sent = _sent(selector, Query.COUNTS)
    assert SendReason.STALE not in {reason for _, reason in sent}
    assert len(sent) > 0.5 * FRAMES  # people walk: the picture changes on most frames
