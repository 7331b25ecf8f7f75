"""Edge-side analysis of one camera: detections become tracks, tracks become stored events."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.edge.analysis import CameraAnalyzer, StaleFrameError
from appliance.edge.snapshots import SnapshotWriter
from appliance.edge.store import CameraRow, Store, StoreError, open_database, sqlite_url
from cameras.protocol import FrameMeta
from pipelines.cascade import EarlyExitCascade
from pipelines.detectors.hog import HogPeopleDetector
from pipelines.tracker import TrackerSettings
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
