"""Stationary objects (a parked car): one event that stays open while the camera is silent, no
keepalive frames asked for, and an end only when analysed frames stop finding it."""

from __future__ import annotations

import pytest

from pipelines.tracker import IouTracker, TrackerSettings
from pipelines.types import Box, Detection

SETTINGS = TrackerSettings(stationary_after_s=10.0, max_age_s=2.0)


def car(x: float = 300.0, jitter: float = 0.0) -> Detection:
    # A parked car's box jitters by a few pixels from frame to frame.
    return Detection("car", 0.7, Box(x + jitter, 200.0 - jitter, x + 160.0, 280.0 + jitter))


def person(x: float) -> Detection:
    return Detection("person", 0.8, Box(x, 100.0, x + 40.0, 200.0))


def parked(tracker: IouTracker, until_s: float = 12.0) -> None:
    """The car seen once a second, as keepalive frames would show it, until `until_s`."""
    for second in range(int(until_s) + 1):
        tracker.update([car(jitter=(second % 3) - 1.0)], float(second))


def test_a_car_that_stays_put_becomes_stationary_and_needs_no_keepalive() -> None:
    tracker = IouTracker(SETTINGS)
    parked(tracker, until_s=2.0)
    assert tracker.moving == 1  # just arrived: the camera keeps sending
    for second in range(3, 13):
        tracker.update([car(jitter=(second % 3) - 1.0)], float(second))
    (track,) = tracker.active
    assert track.stationary
    assert tracker.moving == 0


def test_silence_does_not_end_a_stationary_event() -> None:
    tracker = IouTracker(SETTINGS)
    parked(tracker)
    # Ten minutes without a frame (nothing changed), then a visitor walks past the car.
    update = tracker.update([car(), person(50.0)], 612.0)
    assert update.ended == []
    assert update.matches[0] == 1  # the same car, the same event
    assert tracker.moving == 1  # the visitor (tentative: one more frame confirms or drops it)


def test_a_moving_object_still_ends_after_max_age_of_silence() -> None:
    tracker = IouTracker(SETTINGS)
    for i in range(10):
        tracker.update([person(100.0 + 15 * i)], i * 0.2)
    assert not tracker.active[0].stationary
    update = tracker.update([], 5.0)
    assert [t.track_id for t in update.ended] == [1]


def test_a_stationary_car_ends_when_frames_miss_it_for_max_age() -> None:
    tracker = IouTracker(SETTINGS)
    parked(tracker)
    # The car drives off unseen: frames keep coming (the pixels change) without it.
    ended = [tracker.update([], 12.0 + 0.5 * k).ended for k in range(1, 7)]
    assert [len(e) for e in ended] == [
        0,
        0,
        0,
        0,
        0,
        1,
    ]  # ends on the frame 2.5 s after the first miss
    assert ended[-1][0].last_seen == 12.0
    assert tracker.active == []


def test_one_miss_then_silence_keeps_a_stationary_car() -> None:
    tracker = IouTracker(SETTINGS)
    parked(tracker)
    tracker.update([], 13.0)  # someone stood in front of it
    update = tracker.update([car()], 300.0)  # much later the camera sends again: still there
    assert update.ended == []
    assert update.matches == {0: 1}


def test_a_stationary_car_that_moves_off_is_moving_again() -> None:
    tracker = IouTracker(SETTINGS)
    parked(tracker)
    assert tracker.moving == 0
    tracker.update([car(x=340.0)], 13.0)  # pulls out: IoU with where it stood drops
    assert tracker.moving == 1
    assert not tracker.active[0].stationary


def test_stationary_off_keeps_every_object_moving() -> None:
    tracker = IouTracker(TrackerSettings(stationary_after_s=None))
    parked(tracker, until_s=30.0)
    assert tracker.moving == 1
    assert [t.track_id for t in tracker.update([], 33.0).ended] == [1]


@pytest.mark.parametrize(
    "kwargs", [{"stationary_after_s": -1.0}, {"stationary_iou": 0.0}, {"stationary_iou": 1.5}]
)
def test_bad_stationary_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="stationary"):
        TrackerSettings(**kwargs)  # type: ignore[arg-type]
