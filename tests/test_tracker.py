"""Behaviour of the IoU tracker on synthetic detections (no video)."""

from __future__ import annotations

import pytest

from pipelines.tracker import IouTracker, TrackerSettings, TrackUpdate
from pipelines.types import Box, Detection


def person(
    x: float, y: float = 100.0, conf: float = 0.8, w: float = 40.0, h: float = 100.0
) -> Detection:
    return Detection("person", conf, Box(x, y, x + w, y + h))


def car(x: float, y: float = 100.0, conf: float = 0.8) -> Detection:
    return Detection("car", conf, Box(x, y, x + 120.0, y + 60.0))


def feed(tracker: IouTracker, frames: list[tuple[float, list[Detection]]]) -> list[TrackUpdate]:
    return [tracker.update(dets, ts) for ts, dets in frames]


def test_person_walking_keeps_one_id() -> None:
    tracker = IouTracker()
    updates = feed(tracker, [(t * 0.2, [person(100 + 10 * t)]) for t in range(10)])
    ids = {u.matches[0] for u in updates}
    assert ids == {1}
    assert [t.track_id for t in tracker.active] == [1]
    assert tracker.active[0].hits == 10
    assert tracker.active[0].first_seen == 0.0
    assert tracker.active[0].last_seen == pytest.approx(1.8)


def test_confirmation_happens_once_at_min_hits() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=3))
    updates = feed(tracker, [(t * 0.1, [person(100 + 5 * t)]) for t in range(5)])
    assert [len(u.confirmed) for u in updates] == [0, 0, 1, 0, 0]
    assert updates[2].confirmed[0].confirmed
    assert updates[2].confirmed[0].hits == 3
    # Tentative tracks are still listed among live tracks, just not confirmed.
    assert updates[0].tracks[0].confirmed is False
    assert tracker.active[0].confirmed


def test_two_people_crossing_keep_distinct_ids() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=1))
    # A walks right, B walks left; they pass through the same spot at different heights
    # (partly overlapping) and must not swap ids.
    frames = []
    for t in range(12):
        a = person(100 + 15 * t, y=100)
        b = person(280 - 15 * t, y=130)
        frames.append((t * 0.2, [a, b]))
    updates = feed(tracker, frames)
    assert all(u.matches == {0: 1, 1: 2} for u in updates)
    assert len(tracker.active) == 2


def test_nearby_people_get_separate_tracks() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=1))
    update = tracker.update([person(100), person(150)], 0.0)
    assert update.matches == {0: 1, 1: 2}
    update = tracker.update([person(152), person(101)], 0.2)
    assert update.matches == {0: 2, 1: 1}


def test_short_miss_keeps_id() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=2, max_age_s=2.0))
    feed(tracker, [(0.0, [person(100)]), (0.5, [person(102)])])
    update = tracker.update([], 1.5)
    assert update.ended == []
    assert [t.track_id for t in update.tracks] == [1]
    update = tracker.update([person(104)], 2.4)  # 1.9 s since last match
    assert update.matches == {0: 1}
    assert update.ended == []


def test_long_miss_ends_track_and_later_detection_gets_new_id() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=2, max_age_s=2.0))
    feed(tracker, [(0.0, [person(100)]), (0.5, [person(102)])])
    update = tracker.update([person(102)], 3.0)  # 2.5 s since last match
    assert [t.track_id for t in update.ended] == [1]
    assert update.ended[0].last_seen == 0.5
    assert update.matches == {0: 2}
    assert update.confirmed == []
    assert [t.track_id for t in update.tracks] == [2]
    assert tracker.active == []


def test_ageing_uses_capture_time_not_frame_count() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=1, max_age_s=1.0))
    tracker.update([person(100)], 0.0)
    # Many empty frames within a second do not end the track...
    for i in range(1, 20):
        assert tracker.update([], i * 0.05).ended == []
    # ...but one frame after a long gap does.
    assert [t.track_id for t in tracker.update([], 1.01).ended] == [1]


def test_tentative_tracks_never_reported() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=3, max_age_s=1.0))
    updates = feed(tracker, [(0.0, [person(100)]), (0.2, [person(101)])])
    assert all(u.confirmed == [] for u in updates)
    assert tracker.active == []
    assert tracker.predict(0.3) == []
    update = tracker.update([], 5.0)
    assert update.ended == []
    assert update.tracks == []
    assert tracker.flush() == []


def test_labels_do_not_cross_match() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=1))
    tracker.update([person(100)], 0.0)
    update = tracker.update([Detection("car", 0.9, Box(100, 100, 140, 200))], 0.1)
    assert update.matches == {0: 2}
    assert {(t.track_id, t.label) for t in update.tracks} == {(1, "person"), (2, "car")}


def test_same_box_different_labels_tracked_separately() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=1))
    tracker.update([car(100), person(100)], 0.0)
    update = tracker.update([person(102), car(103)], 0.1)
    assert update.matches == {0: 2, 1: 1}


def test_velocity_prediction_bridges_sparse_frames() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=2, max_age_s=2.0))
    # A car moving at 200 px/s to the right, then the camera skips 1.5 s of frames.
    feed(tracker, [(0.0, [car(100)]), (0.1, [car(120)]), (0.2, [car(140)])])
    far = car(140 + 200 * 1.5)  # 300 px further: no overlap with the last matched box
    assert far.box.iou(tracker.active[0].box) == 0.0
    update = tracker.update([far], 1.7)
    assert update.matches == {0: 1}
    assert update.ended == []


def test_no_prediction_means_no_match_for_far_box() -> None:
    # Control for the test above: a stationary track must not grab a far-away box.
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=1))
    feed(tracker, [(0.0, [car(140)]), (0.1, [car(140)])])
    update = tracker.update([car(440)], 1.6)
    assert update.matches == {0: 2}


def test_improved_reports_rise_in_best_confidence() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=2))
    u = feed(
        tracker,
        [
            (0.0, [person(100, conf=0.5)]),
            (0.1, [person(101, conf=0.6)]),  # becomes confirmed: in `confirmed` only
            (0.2, [person(102, conf=0.55)]),  # lower: no event
            (0.3, [person(103, conf=0.9)]),  # higher: improved
        ],
    )
    assert [t.track_id for t in u[1].confirmed] == [1]
    assert u[1].improved == []
    assert u[2].improved == []
    assert [t.track_id for t in u[3].improved] == [1]
    best = u[3].improved[0]
    assert best.best_confidence == 0.9
    assert best.best_box == person(103).box
    assert best.best_timestamp == 0.3
    assert u[2].tracks[0].confidence == 0.55
    assert u[2].tracks[0].best_confidence == 0.6


def test_predict_moves_boxes_without_changing_state() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=2))
    feed(tracker, [(0.0, [car(100)]), (1.0, [car(150)])])  # 50 px/s
    before = tracker.active
    predicted = tracker.predict(3.0)
    assert len(predicted) == 1
    assert predicted[0].box.x1 == pytest.approx(250.0)
    assert predicted[0].box.width == pytest.approx(120.0)
    assert predicted[0].last_seen == 1.0
    assert tracker.active == before
    # Predicting must not count as an update: an earlier frame is still accepted afterwards.
    assert tracker.update([car(200)], 2.0).matches == {0: 1}


def test_flush_ends_all_confirmed_tracks() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=2))
    feed(tracker, [(0.0, [person(100), car(400)]), (0.1, [person(101), car(402)])])
    tracker.update([person(500)], 0.2)  # tentative third track
    flushed = tracker.flush()
    assert [t.track_id for t in flushed] == [1, 2]
    assert tracker.active == []
    assert tracker.update([], 0.3).tracks == []
    # Ids are never reused after a flush.
    assert tracker.update([person(100)], 0.4).matches == {0: 4}


def test_out_of_order_timestamp_raises() -> None:
    tracker = IouTracker()
    tracker.update([person(100)], 5.0)
    tracker.update([person(100)], 5.0)  # equal timestamps are allowed
    with pytest.raises(ValueError, match="capture order"):
        tracker.update([person(100)], 4.9)


def test_matches_cover_every_detection_and_tracks_are_sorted() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=1))
    tracker.update([person(300), person(100)], 0.0)
    update = tracker.update([person(500), person(101), person(301)], 0.1)
    assert update.matches == {0: 3, 1: 2, 2: 1}
    assert [t.track_id for t in update.tracks] == [1, 2, 3]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_hits": 0},
        {"iou_threshold": 1.5},
        {"max_age_s": -1.0},
        {"velocity_smoothing": 0.0},
        {"new_track_gate": 0.0},
        {"new_track_gate": -1.0},
    ],
)
def test_invalid_settings_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        TrackerSettings(**kwargs)  # type: ignore[arg-type]


def test_a_track_the_detector_lost_is_hidden_but_its_event_stays_open() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=2, report_misses=1, max_age_s=2.0))
    feed(tracker, [(0.0, [person(100)]), (0.1, [person(102)])])
    assert [t.track_id for t in tracker.predict(0.1)] == [1]
    tracker.update([], 0.2)  # one miss: still shown (detector flicker)
    assert [t.track_id for t in tracker.predict(0.25)] == [1]
    tracker.update([], 0.3)  # two misses in a row: hidden...
    assert tracker.predict(0.35) == []
    assert [t.track_id for t in tracker.active] == [1]  # ...but the event is not over
    update = tracker.update([person(108)], 0.4)  # found again: same id, shown again
    assert update.matches == {0: 1}
    assert [t.track_id for t in tracker.predict(0.4)] == [1]


def test_without_report_limit_lost_tracks_coast_until_they_end() -> None:
    tracker = IouTracker(
        TrackerSettings(confirm_s=0.0, min_hits=1, report_misses=None, max_age_s=1.0)
    )
    tracker.update([person(100)], 0.0)
    for t in (0.1, 0.2, 0.3):
        tracker.update([], t)
    assert [t.track_id for t in tracker.predict(0.3)] == [1]


@pytest.mark.parametrize("gap_s", [0.04, 0.1, 0.4])
def test_confirmation_waits_the_same_time_at_any_analysed_rate(gap_s: float) -> None:
    """Two matches are not enough until they span confirm_s: 25 fps, 10 fps and a camera
    analysed every 0.4 s all confirm a walking person after about 0.2 s, not after N frames."""
    tracker = IouTracker(TrackerSettings(min_hits=2, confirm_s=0.2))
    frames = [(i * gap_s, [person(100 + 30 * i * gap_s)]) for i in range(12)]
    updates = feed(tracker, frames)
    confirmed_at = next(ts for (ts, _), u in zip(frames, updates, strict=True) if u.confirmed)
    assert 0.2 <= confirmed_at < 0.2 + gap_s + 1e-9


def test_a_single_detection_is_never_confirmed_by_time_alone() -> None:
    tracker = IouTracker(TrackerSettings(min_hits=2, confirm_s=0.2))
    tracker.update([person(100)], 0.0)
    for i in range(1, 10):
        assert tracker.update([], i * 0.1).confirmed == []
    assert tracker.active == []


def test_negative_confirmation_time_is_refused() -> None:
    with pytest.raises(ValueError, match="confirm_s"):
        TrackerSettings(confirm_s=-0.1)


def test_a_walker_seen_once_keeps_its_id_across_a_sparse_gap() -> None:
    # 0.4 s later the person is 35 px (under a 40 px width) on: too little IoU with the old
    # box, and a track seen once has no velocity to predict with.
    frames = [(0.0, [person(100)]), (0.4, [person(135)]), (0.8, [person(170)])]
    assert person(100).box.iou(person(135).box) < TrackerSettings().iou_threshold
    gated = feed(IouTracker(TrackerSettings(new_track_gate=1.0)), frames)
    assert [u.matches for u in gated] == [{0: 1}, {0: 1}, {0: 1}]
    assert [t.track_id for t in gated[1].confirmed] == [1]
    iou_only = feed(IouTracker(TrackerSettings(new_track_gate=None)), frames)
    assert [u.matches for u in iou_only] == [{0: 1}, {0: 2}, {0: 3}]
    assert all(u.confirmed == [] for u in iou_only)


def test_the_gate_takes_no_far_or_differently_sized_detection() -> None:
    settings = TrackerSettings(confirm_s=0.0, min_hits=1, new_track_gate=1.0)
    far = IouTracker(settings)
    far.update([person(100)], 0.0)
    assert far.update([person(150)], 0.4).matches == {0: 2}  # 1.25 widths away
    other_size = IouTracker(settings)
    other_size.update([person(100)], 0.0)
    assert other_size.update([person(130, w=80.0, h=160.0)], 0.4).matches == {0: 2}
    other_label = IouTracker(settings)
    other_label.update([car(100)], 0.0)
    assert other_label.update([person(130)], 0.4).matches == {0: 2}


def test_the_gate_is_only_for_tracks_without_a_velocity() -> None:
    # A track matched twice predicts where its object went: it does not also reach out to a
    # detection off its path, which starts a track of its own.
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=1, new_track_gate=1.0))
    feed(tracker, [(0.0, [person(100)]), (0.1, [person(100)])])
    assert tracker.update([person(135)], 0.5).matches == {0: 2}


def test_the_gate_pairs_nearest_first_after_iou() -> None:
    tracker = IouTracker(TrackerSettings(confirm_s=0.0, min_hits=1, new_track_gate=1.0))
    tracker.update([person(100), person(300)], 0.0)
    # 300 is matched by IoU; 135 and 170 are both left over for track 1, which takes 135.
    update = tracker.update([person(170), person(302), person(135)], 0.4)
    assert update.matches == {0: 3, 1: 2, 2: 1}
