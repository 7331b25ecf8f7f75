"""Edge-side analysis of one camera: detections become tracks, tracks become stored events."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from appliance.edge.analysis import CameraAnalyzer, StaleFrameError
from appliance.edge.snapshots import SnapshotWriter
from appliance.edge.store import CameraRow, Store, StoreError, open_database, sqlite_url
from cameras.protocol import FrameMeta, WireMotion, WireShift
from pipelines.cascade import EarlyExitCascade
from pipelines.detectors.hog import HogPeopleDetector
from pipelines.detectors.yolo_decode import FrameSize
from pipelines.tracker import TrackerSettings
from pipelines.types import Box, Detection
from tests.footage import vtest_frames

T0 = 1_700_000_000.0


def analyzer_for(tmp_path: Path, register: bool = True) -> tuple[CameraAnalyzer, Store]:
    store = Store(open_database(sqlite_url(tmp_path)))
    if register:
        store.ensure_cameras([CameraRow("cam", "Cam")])
    analyzer = CameraAnalyzer(
        "cam",
        EarlyExitCascade(HogPeopleDetector()),
        store,
        TrackerSettings(min_hits=3),
        SnapshotWriter(tmp_path),
    )
    return analyzer, store


def test_people_become_events_with_snapshots(tmp_path: Path) -> None:
    analyzer, store = analyzer_for(tmp_path)
    for i, frame in enumerate(vtest_frames(100, 6)):
        analyzer.analyse(frame, FrameMeta(seq=i, captured_at=T0 + i / 10), 1000)
    events = store.list_events()
    assert events, "people walking through six frames should be confirmed as events"
    assert all(e.label == "person" and e.hits >= 3 and e.ended_at is None for e in events)
    assert all(e.snapshot and (tmp_path / e.snapshot).is_file() for e in events)
    assert analyzer.close() == len(events)
    assert all(e.ended_at is not None for e in store.list_events())


def test_a_frame_that_was_not_stored_does_not_advance_tracks(tmp_path: Path) -> None:
    analyzer, store = analyzer_for(tmp_path, register=False)
    frames = vtest_frames(100, 3)
    for i in range(2):
        with pytest.raises(StoreError):
            analyzer.analyse(frames[i], FrameMeta(seq=i, captured_at=T0 + i / 10), 1000)
    store.ensure_cameras([CameraRow("cam", "Cam")])
    analyzer.analyse(frames[2], FrameMeta(seq=2, captured_at=T0 + 0.2), 1000)
    # Had the two refused frames counted, this third one would have confirmed events.
    assert store.list_events() == []


def test_duplicate_and_stale_frames(tmp_path: Path) -> None:
    analyzer, store = analyzer_for(tmp_path)
    frame = vtest_frames(100, 1)[0]
    first = analyzer.analyse(frame, FrameMeta(seq=5, captured_at=T0), 1000)
    again = analyzer.analyse(frame, FrameMeta(seq=5, captured_at=T0), 1000)
    assert first.frame_id is not None and again.frame_id is None
    assert store.totals().frames == 1
    with pytest.raises(StaleFrameError):
        analyzer.analyse(frame, FrameMeta(seq=4, captured_at=T0 - 1), 1000)


def test_frames_stored_before_a_restart_do_not_move_the_new_tracker(tmp_path: Path) -> None:
    analyzer, store = analyzer_for(tmp_path)
    frames = vtest_frames(100, 7)
    for i, frame in enumerate(frames[:6]):
        analyzer.analyse(frame, FrameMeta(seq=i, captured_at=T0 + i / 10), 1000)
    stored = len(store.list_events())
    assert stored > 0
    restarted, _ = analyzer_for(tmp_path)  # the edge restarted; the camera resends
    for i, frame in enumerate(frames[:6]):
        again = restarted.analyse(frame, FrameMeta(seq=i, captured_at=T0 + i / 10), 1000)
        assert again.frame_id is None and again.active_tracks == 0
    restarted.analyse(frames[6], FrameMeta(seq=6, captured_at=T0 + 0.6), 1000)
    # Tracks built from the resent frames would have confirmed new events at once.
    assert len(store.list_events()) == stored


def test_a_commit_that_fails_leaves_no_snapshot_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyzer, store = analyzer_for(tmp_path)
    frames = vtest_frames(100, 4)
    for i in range(2):
        analyzer.analyse(frames[i], FrameMeta(seq=i, captured_at=T0 + i / 10), 1000)
    record = store.record_analysis

    def disk_full(*args: object, **kwargs: object) -> None:
        raise StoreError("record frame cam/2: database or disk is full")

    monkeypatch.setattr(store, "record_analysis", disk_full)
    with pytest.raises(StoreError):
        analyzer.analyse(frames[2], FrameMeta(seq=2, captured_at=T0 + 0.2), 1000)
    assert not list(tmp_path.glob("snapshots/**/*.*"))  # no file without its event
    monkeypatch.setattr(store, "record_analysis", record)
    analyzer.analyse(frames[2], FrameMeta(seq=2, captured_at=T0 + 0.2), 1000)
    events = store.list_events()
    assert events and all(e.snapshot and (tmp_path / e.snapshot).is_file() for e in events)
    assert not list(tmp_path.glob("snapshots/**/*.tmp"))


def test_a_camera_clock_set_back_restarts_its_timeline(tmp_path: Path) -> None:
    analyzer, store = analyzer_for(tmp_path)
    frames = vtest_frames(100, 10)
    ahead = time.time() + 1800  # a camera clock half an hour fast
    for i, frame in enumerate(frames[:6]):
        analyzer.analyse(frame, FrameMeta(seq=i, captured_at=ahead + i / 10), 1000)
    assert any(e.ended_at is None for e in store.list_events())
    # NTP corrects it: the next frames (same run, later seq) are stamped half an hour earlier.
    now = time.time()
    for i, frame in enumerate(frames[6:8], start=6):
        result = analyzer.analyse(frame, FrameMeta(seq=i, captured_at=now + i / 10), 1000)
        assert result.frame_id is not None
    assert all(e.ended_at is not None for e in store.list_events() if e.started_at > now + 60)
    # The camera restarts (seq from 0) after another run stamped ahead: also a correction.
    for i, frame in enumerate(frames[8:], start=8):
        analyzer.analyse(frame, FrameMeta(seq=i, captured_at=ahead + 60 + i), 1000)
    restarted = analyzer.analyse(frames[0], FrameMeta(seq=0, captured_at=time.time()), 1000)
    assert restarted.frame_id is not None
    # A late frame of a run (smaller seq, earlier stamp) is still refused.
    with pytest.raises(StaleFrameError):
        analyzer.analyse(frames[1], FrameMeta(seq=0, captured_at=time.time() - 5), 1000)


def walker(left: float) -> Detection:
    return Detection("person", 0.9, Box(left, 100, left + 40, 200))


@pytest.mark.parametrize(("origin_seq", "same_track"), [(0, True), (3, False)])
def test_the_tracker_looks_where_the_camera_saw_the_tracks_go(
    tmp_path: Path, origin_seq: int, same_track: bool
) -> None:
    """Half a second on, the walker is 1.25 widths further: the camera's shift of track 1,
    measured from the frame the edge analysed last (seq 0), keeps it one track; a shift from
    a frame the edge never analysed (seq 3) is not used."""
    analyzer, _ = analyzer_for(tmp_path)
    size = FrameSize(768, 576)
    first = analyzer.analyse_detections([walker(100)], FrameMeta(seq=0, captured_at=T0), size, 1, 0)
    assert first.track_ids == {0: 1}
    motion = WireMotion(origin_seq=origin_seq, tracks=[WireShift(track_id=1, dx=50, dy=0)])
    meta = FrameMeta(seq=5, captured_at=T0 + 0.5, motion=motion)
    later = analyzer.analyse_detections([walker(150)], meta, size, 1, 0)
    assert (later.track_ids == {0: 1}) is same_track, later.track_ids
