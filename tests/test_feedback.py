"""The edge steers a camera's threshold and skip share to hold its query's accuracy."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeCameraConfig, EdgeConfig
from cameras.protocol import FrameMeta
from pipelines.feedback import (
    Gap,
    HeldAccuracy,
    HeldAnswer,
    Query,
    QueryController,
    QueryControlSettings,
    gap_average,
    reply_after,
)
from pipelines.tracker import IouTracker, TrackerSettings
from pipelines.types import Box, Detection
from tests.footage import vtest_frames

SETTINGS = QueryControlSettings(
    query=Query.BOXES, accuracy_target=0.9, initial=0.01, minimum=0.002, maximum=0.05
)


def person(x: float) -> Detection:
    return Detection("person", 0.9, Box(x, 100, x + 40, 200))


def held(value: float, moving: int = 1, awaiting: int = 0) -> HeldAccuracy:
    """`moving`: confirmed tracks that were not stationary before the frame; `awaiting`: tracks
    one more look makes events."""
    return HeldAccuracy(value, value, value, moving_tracks=moving, awaiting=awaiting)


def test_stale_answers_lower_the_threshold_and_the_skip_share() -> None:
    controller = QueryController(SETTINGS)
    controller.skip = 0.5
    advice = [controller.observe(held(0.5), Gap(4, 0.4)) for _ in range(20)]
    thresholds = [a.threshold for a in advice]
    assert thresholds == sorted(thresholds, reverse=True)
    assert thresholds[0] < 0.01 and thresholds[-1] == 0.002
    assert advice[0].skip < 0.5 and advice[-1].skip == 0.0


def test_staleness_from_frames_the_camera_could_not_upload_backs_off() -> None:
    controller = QueryController(SETTINGS)
    controller.skip = 0.5
    advice = [controller.observe(held(0.5), Gap(8, 0.8, congested=True)) for _ in range(5)]
    # Fewer frames asked for, step by step, though the answers were stale: more would be
    # dropped on the camera too.
    assert [a.skip for a in advice] == pytest.approx([0.55, 0.6, 0.65, 0.7, 0.75])
    assert 0.01 < advice[0].threshold < advice[-1].threshold
    assert controller.accuracy is None  # not taken as the skip share's doing
    assert controller.observe(held(0.5), Gap(8, 0.8)).skip < 0.75  # uploads go again


def test_accurate_answers_skip_more_slowly_until_the_maximum() -> None:
    controller = QueryController(replace(SETTINGS, query=Query.EVENTS))
    first = controller.observe(held(1.0), Gap(3, 0.3))
    assert 0.01 < first.threshold < 0.012  # a slow probe, not a jump
    assert 0.0 < first.skip <= 0.05
    for _ in range(100):
        controller.observe(held(1.0), Gap(3, 0.3))
    # At 10 fps, skipping two of three changed frames leaves max_gap_s (0.3 s) between frames.
    assert controller.threshold == 0.05 and controller.skip == pytest.approx(2 / 3)


def test_a_faster_camera_may_skip_more_of_its_frames() -> None:
    controller = QueryController(replace(SETTINGS, query=Query.EVENTS))
    for _ in range(100):
        controller.observe(held(1.0), Gap(3, 0.12))  # 25 fps
    assert controller.skip == pytest.approx(1 - 0.04 / 0.3)


def test_a_camera_that_follows_the_tracked_boxes_may_send_sparser_frames() -> None:
    """Once a frame says where the camera saw the tracks go, events frames may lie
    max_gap_followed_s apart (0.45 s: every 4.5th frame at 10 fps), not max_gap_s (0.3 s)."""
    controller = QueryController(replace(SETTINGS, query=Query.EVENTS))
    for _ in range(100):
        controller.observe(held(1.0), Gap(3, 0.3, followed=True))
    assert controller.followed and controller.skip == pytest.approx(1 - 0.1 / 0.45)
    controller.observe(held(1.0), Gap(3, 0.3))  # a frame with no tracks to follow: it still does
    assert controller.skip == pytest.approx(1 - 0.1 / 0.45)


def test_newcomers_to_a_still_scene_get_their_second_look_at_the_next_changed_frame() -> None:
    """People who come into a scene where nothing moved for STILL_SCENE_S are no events yet:
    the camera skips no changed frame until they are, then earns its skip share back."""
    controller = QueryController(replace(SETTINGS, query=Query.EVENTS))
    for _ in range(100):
        controller.observe(held(1.0), Gap(3, 0.3, followed=True))
    assert controller.skip == pytest.approx(1 - 0.1 / 0.45)
    controller.observe(held(1.0, moving=0), Gap(30, 3.0, followed=True))  # parked cars only
    assert controller.skip == pytest.approx(1 - 0.1 / 0.45)  # nothing came: no hurry
    came = controller.observe(held(1.0, moving=0, awaiting=2), Gap(3, 0.3, followed=True))
    assert came.skip == 0.0
    back = [controller.observe(held(1.0), Gap(1, 0.1, followed=True)).skip for _ in range(3)]
    assert back == pytest.approx([0.05, 0.1, 0.15])  # events now: step by step


def test_newcomers_where_things_moved_just_now_change_nothing() -> None:
    controller = QueryController(replace(SETTINGS, query=Query.EVENTS))
    for _ in range(100):
        controller.observe(held(1.0), Gap(3, 0.3))
    skip = controller.skip
    # The tracks ended a moment ago (a busy scene, or the detector lost them): not still.
    assert controller.observe(held(1.0, moving=0, awaiting=2), Gap(3, 0.3)).skip == skip
    # At a camera's start nothing is known of its scene: not still either.
    fresh = QueryController(replace(SETTINGS, query=Query.EVENTS))
    assert fresh.observe(held(1.0, moving=0, awaiting=2), Gap(3, 0.3)).skip > 0.0


def test_boxes_and_counts_keep_their_skip_share_when_newcomers_come() -> None:
    controller = QueryController(SETTINGS)
    for _ in range(100):
        controller.observe(held(1.0, moving=0), Gap(30, 3.0))
    assert controller.observe(held(1.0, moving=0, awaiting=2), Gap(3, 0.3)).skip == (
        SETTINGS.max_skip
    )


def test_a_congested_camera_backs_off_even_when_newcomers_come() -> None:
    controller = QueryController(replace(SETTINGS, query=Query.EVENTS))
    controller.observe(held(1.0, moving=0), Gap(30, 3.0))
    advice = controller.observe(held(0.5, moving=0, awaiting=2), Gap(8, 0.8, congested=True))
    assert advice.skip > 0.0  # asking for every frame would only add to what it drops


def test_parked_cars_are_no_moving_tracks_and_a_newcomer_awaits_its_second_look() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.2, min_hits=2, stationary_after_s=0.5))
    answer = HeldAnswer()
    car = Detection("car", 0.9, Box(300, 300, 400, 360))
    answer.update(tracker, [car], 0.0)
    answer.update(tracker, [car], 0.6)  # confirmed, and settled: stationary
    _, came = answer.update(tracker, [car, person(100)], 1.2)
    assert came.moving_tracks == 0 and came.awaiting == 1  # a still scene; someone new
    _, confirmed = answer.update(tracker, [car, person(130)], 1.8)
    assert confirmed.awaiting == 0  # an event now
    _, walking = answer.update(tracker, [car, person(160)], 2.4)
    assert walking.moving_tracks == 1


def test_the_gap_average_counts_the_fresher_frames_before_the_stalest() -> None:
    assert gap_average(0.6, 1) == 1.0  # every frame sent: each answered exactly
    assert gap_average(0.6, 2) == pytest.approx(0.9)  # one exact, one at 0.8 (halfway)
    assert gap_average(0.6, 100) == pytest.approx(0.802)


def test_boxes_and_counts_may_skip_up_to_the_maximum() -> None:
    controller = QueryController(SETTINGS)
    for _ in range(100):
        controller.observe(held(1.0), Gap(3, 0.3))
    assert controller.skip == SETTINGS.max_skip


def test_each_query_follows_its_own_accuracy() -> None:
    mixed = HeldAccuracy(boxes=0.5, counts=1.0, events=1.0)
    boxes = QueryController(SETTINGS)
    counts = QueryController(QueryControlSettings(query=Query.COUNTS, maximum=0.05))
    for _ in range(10):
        boxes.observe(mixed, Gap(3, 0.3))
        counts.observe(mixed, Gap(3, 0.3))
    assert boxes.skip == 0.0 and counts.skip > 0.3


def test_invalid_control_settings() -> None:
    with pytest.raises(ValueError):
        QueryControlSettings(initial=0.5, maximum=0.1)
    with pytest.raises(ValueError):
        QueryControlSettings(decrease=1.2)
    with pytest.raises(ValueError):
        QueryControlSettings(max_skip=1.0)


def test_held_answer_accuracy_is_measured_before_the_frame_is_seen() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=1))
    answer = HeldAnswer()
    answer.update(tracker, [person(100)], 0.0)
    _, same = answer.update(tracker, [person(101)], 0.1)
    assert same.boxes == 1.0 and same.counts == 1.0 and same.events == 1.0
    _, newcomer = answer.update(tracker, [person(102), person(400)], 0.2)
    assert newcomer.boxes == pytest.approx(2 / 3)  # one of two people was missing from it
    assert newcomer.counts == pytest.approx(1 / 2)
    assert newcomer.events == 1.0  # the one tracked person was followed


def test_a_track_that_loses_its_object_counts_against_events() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=1, iou_threshold=0.3))
    answer = HeldAnswer()
    answer.update(tracker, [person(100)], 0.0)
    # Far enough that the track cannot match, near enough to overlap where it was: a new
    # track starts on the same person, one event becomes two.
    _, jumped = answer.update(tracker, [person(125)], 1.0)
    assert jumped.events == 0.0


def test_the_reply_carries_the_advice_and_the_moving_tracks() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.2, min_hits=2))
    controller = QueryController(SETTINGS)
    tracker.update([person(100)], 0.0)  # tentative: one more frame confirms it
    reply = reply_after(tracker, controller, held(1.0))
    assert reply.moving_tracks == 1 and reply.skip == controller.skip > 0.0
    assert reply.next_frame_s == 0.2  # its second look, soon, even in a still scene
    assert reply_after(tracker, None, held(1.0)).skip is None
    tracker.update([person(101)], 0.2)  # confirmed: no hurry any more
    assert reply_after(tracker, controller, held(1.0)).next_frame_s is None


def test_a_track_whose_second_look_missed_asks_for_no_more_hurried_frames() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.2, min_hits=2))
    tracker.update([person(100)], 0.0)
    assert reply_after(tracker, None, held(1.0)).next_frame_s == 0.2
    # The second look shows nothing there (detector flicker, or it was never anyone): frames
    # every 0.2 s until max_age_s would chase it; the frames that come anyway may still find it.
    tracker.update([], 0.2)
    assert reply_after(tracker, None, held(1.0)).next_frame_s is None
    tracker.update([person(104)], 1.0)  # found again on a later frame: confirmed after all
    assert [t.hits for t in tracker.active] == [2]


def test_the_edge_advises_a_threshold_unless_the_camera_has_a_fixed_one(tmp_path: Path) -> None:
    config = EdgeConfig(
        data_dir=tmp_path,
        cameras=[
            EdgeCameraConfig(id="adaptive", token="t" * 12, query=Query.BOXES),
            EdgeCameraConfig(id="fixed", token="f" * 12, difference_threshold=0.03),
        ],
    )
    box = EdgeBox(config)
    try:
        frames = vtest_frames(100, 50)
        results = [
            box.analyzers["adaptive"].analyse(f, FrameMeta(seq=i * 5, captured_at=1e9 + i), 1000)
            for i, f in enumerate(frames[::5])  # every 5th frame: answers go stale
        ]
        fixed = box.analyzers["fixed"].analyse(frames[0], FrameMeta(seq=0, captured_at=1e9), 1)
    finally:
        box.close()
    advice = [r.difference_threshold for r in results]
    assert all(a is not None and 0.002 <= a <= 0.05 for a in advice)
    assert advice[-1] is not None and advice[-1] < 0.01  # stale answers: send more often
    assert results[-1].skip_share == 0.0
    assert fixed.difference_threshold is None and fixed.skip_share is None
