"""Store tests against real databases (no mocks): SQLite files in tmp_path and, for the
backend-neutral tests, a fresh database on a real PostgreSQL 15 server that the tests start
(conftest.py / pg_server.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from appliance.edge.store import (
    CameraRow,
    Database,
    DetectionRow,
    EventRow,
    FrameRow,
    Store,
    StoreError,
    StoreTotals,
    open_database,
    sqlite_url,
)

T0 = 1_700_000_000.0


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(sqlite_url(tmp_path / "data"))
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "data")
    else:  # requested lazily: SQLite-only runs (-k sqlite) never start PostgreSQL
        url = request.getfixturevalue("postgres_db_url")
    database = open_database(url)
    yield database
    database.dispose()


@pytest.fixture
def store(db: Database) -> Store:
    s = Store(db, clock=lambda: T0)
    s.ensure_cameras([CameraRow("cam1", "Front door"), CameraRow("cam2", "Yard")])
    return s


def frame(camera_id: str = "cam1", seq: int = 1, at: float = T0) -> FrameRow:
    return FrameRow(camera_id, seq, at, at + 0.25, 12_345, 640, 480, 0.8)


def det(conf: float = 0.9, track_id: int | None = 1) -> DetectionRow:
    return DetectionRow("person", conf, 10.0, 20.0, 110.0, 220.0, track_id)


def event(
    event_id: str = "a" * 32, camera_id: str = "cam1", label: str = "person", start: float = T0
) -> EventRow:
    return EventRow(
        event_id, camera_id, 1, label, start, start, None, 0.9, 10.0, 20.0, 110.0, 220.0, 1, None
    )


def test_tables_created(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert tables >= {"cameras", "frames", "detections", "events"}


def test_sqlite_file_in_wal_mode(tmp_path: Path, sqlite_db: Database) -> None:
    assert (tmp_path / "data" / "appliance.db").is_file()
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_record_analysis_stores_everything(store: Store) -> None:
    frame_id = store.record_analysis(frame(), [det(0.9, 1), det(0.7, 2)], [event()])
    assert isinstance(frame_id, int)
    totals = store.totals()
    assert replace(totals, database_mb=None) == StoreTotals(2, frames=1, detections=2, events=1)
    stats = {s.id: s for s in store.camera_stats()}
    assert [s.id for s in store.camera_stats()] == ["cam1", "cam2"]
    assert stats["cam1"].frames_received == 1
    assert stats["cam1"].last_frame_at == T0 + 0.25
    assert (stats["cam1"].detections, stats["cam1"].events) == (2, 1)
    assert (stats["cam2"].frames_received, stats["cam2"].last_frame_at) == (0, None)
    assert (stats["cam2"].detections, stats["cam2"].events) == (0, 0)
    assert store.detections_for_frame("cam1", 1) == [det(0.9, 1), det(0.7, 2)]
    assert store.detections_for_frame("cam1", 99) == []
    assert store.get_event("a" * 32) == event()
    assert store.get_event("b" * 32) is None


def test_the_database_size_on_disk_grows_with_what_is_stored(store: Store) -> None:
    """SQLite's file with its write-ahead log, or PostgreSQL's own figure: what fills a disk."""
    empty = store.totals().database_mb
    assert empty is not None and empty > 0
    for seq in range(1, 301):
        store.record_analysis(frame(seq=seq, at=T0 + seq), [det(), det(0.7, 2)], [])
    grown = store.totals().database_mb
    assert grown is not None and grown > empty, (empty, grown)


def test_last_frame_at_never_goes_backwards(store: Store) -> None:
    store.record_analysis(frame(seq=2, at=T0 + 10), [], [])
    store.record_analysis(frame(seq=1, at=T0), [], [])
    stats = store.camera_stats()[0]
    assert (stats.frames_received, stats.last_frame_at) == (2, T0 + 10.25)


def test_duplicate_upload_returns_none(store: Store) -> None:
    assert store.record_analysis(frame(), [det()], [event()]) is not None
    before = store.totals()
    assert store.record_analysis(frame(), [det(), det()], [event("b" * 32)]) is None
    assert store.totals() == before
    assert store.camera_stats()[0].frames_received == 1
    # Same seq, different capture time (camera restarted): a new frame.
    assert store.record_analysis(frame(at=T0 + 60), [det()], []) is not None
    assert store.totals().frames == 2


def test_unknown_camera_raises_and_writes_nothing(store: Store) -> None:
    before = store.totals()
    with pytest.raises(StoreError, match="cam9"):
        store.record_analysis(frame("cam9"), [det()], [])
    # Known frame camera but an event on an unknown one: the whole transaction rolls back.
    with pytest.raises(StoreError, match="cam9"):
        store.record_analysis(frame(), [det()], [event(camera_id="cam9")])
    with pytest.raises(StoreError, match="cam9"):
        store.save_events([event(camera_id="cam9")])
    assert store.totals() == before
    assert store.camera_stats()[0].frames_received == 0


def test_event_upsert_updates_in_place(store: Store) -> None:
    store.record_analysis(frame(), [det()], [event()])
    updated = dataclasses.replace(
        event(), last_seen_at=T0 + 5, ended_at=T0 + 6, hits=7, best_confidence=0.97
    )
    store.record_analysis(frame(seq=2, at=T0 + 5), [det()], [updated])
    assert store.get_event(updated.id) == updated
    closed = dataclasses.replace(updated, ended_at=T0 + 9, snapshot="snapshots/a.jpg")
    store.save_events([closed])
    assert store.get_event(updated.id) == closed
    assert store.totals().events == 1


def test_list_events_filters_and_order(store: Store) -> None:
    store.save_events(
        [
            event("1" * 32, "cam1", "person", T0),
            event("2" * 32, "cam2", "person", T0 + 10),
            event("3" * 32, "cam1", "car", T0 + 20),
            event("4" * 32, "cam1", "person", T0 + 30),
        ]
    )

    def ids(events: list[EventRow]) -> list[str]:
        return [e.id[0] for e in events]

    assert ids(store.list_events()) == ["4", "3", "2", "1"]
    assert ids(store.list_events(camera_id="cam1")) == ["4", "3", "1"]
    assert ids(store.list_events(label="person")) == ["4", "2", "1"]
    assert ids(store.list_events(since=T0 + 10)) == ["4", "3", "2"]
    assert ids(store.list_events(camera_id="cam1", label="person", since=T0 + 1)) == ["4"]
    assert ids(store.list_events(limit=2)) == ["4", "3"]


def test_ensure_cameras_renames_never_deletes(store: Store) -> None:
    store.ensure_cameras([CameraRow("cam1", "Front gate"), CameraRow("cam3", "Garage")])
    names = {s.id: s.name for s in store.camera_stats()}
    assert names == {"cam1": "Front gate", "cam2": "Yard", "cam3": "Garage"}


def test_data_persists_after_reopen(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "data")
    first = open_database(url)
    Store(first).ensure_cameras([CameraRow("cam1", "Front door")])
    Store(first).record_analysis(frame(), [det()], [event()])
    first.dispose()
    second = open_database(url)
    try:
        store = Store(second)
        totals = replace(store.totals(), database_mb=None)
        assert totals == StoreTotals(cameras=1, frames=1, detections=1, events=1)
        assert store.get_event("a" * 32) == event()
        assert store.record_analysis(frame(), [det()], []) is None
    finally:
        second.dispose()


def test_open_database_unreachable_postgres_masks_password() -> None:
    url = "postgresql+psycopg://u:secret@127.0.0.1:1/x"
    with pytest.raises(StoreError) as info:
        open_database(url)
    message = str(info.value)
    assert "secret" not in message
    assert "127.0.0.1" in message
    assert "secret" not in repr(info.value.__cause__)


@pytest.mark.parametrize(
    "url", ["sqlite:////proc/nope/x.db", "nosuchdialect://u:secret@host/db", "not a url"]
)
def test_open_database_invalid_url_raises_store_error(url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_database(url)
    assert "secret" not in str(info.value)


def test_sqlite_url_uncreatable_dir_raises_store_error() -> None:
    with pytest.raises(StoreError, match="/proc/nope"):
        sqlite_url(Path("/proc/nope"))


def test_sqlite_database_url(sqlite_db: Database) -> None:
    assert sqlite_db.url.startswith("sqlite:///")
    assert sqlite_db.url.endswith("appliance.db")


def test_database_url_hides_password() -> None:
    engine = create_engine("postgresql+psycopg://u:secret@127.0.0.1:1/x")  # lazy: no connect
    try:
        assert Database(engine).url == "postgresql+psycopg://u:***@127.0.0.1:1/x"
    finally:
        engine.dispose()


def test_concurrent_retries_store_each_frame_once(store: Store) -> None:
    frames = [frame(seq=i, at=T0 + i) for i in range(20)]

    def upload_all() -> list[int | None]:
        return [store.record_analysis(f, [det()], []) for f in frames]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: upload_all(), range(4)))
    for i in range(len(frames)):
        assert sum(r[i] is not None for r in results) == 1
    totals = replace(store.totals(), database_mb=None)
    assert totals == StoreTotals(cameras=2, frames=20, detections=20, events=0)
    assert store.camera_stats()[0].frames_received == 20


def test_counts_per_bucket(store: Store) -> None:
    minute = T0 - T0 % 60
    # 3 frames in the first minute (1, 2 and 3 people), 1 in the third.
    for seq, (offset, people) in enumerate([(0.5, 1), (20.0, 2), (58.7, 3), (130.0, 0)]):
        store.record_analysis(frame("cam1", seq, minute + offset), [det()] * people, [])
    store.record_analysis(frame("cam2", 99, minute + 1), [det()] * 5, [])  # another camera
    buckets = store.counts("cam1", minute, minute + 180, 60)
    expected = [(minute, 3, 3), (minute + 120, 1, 0)]
    assert [(b.start, b.frames, b.max) for b in buckets] == expected
    assert buckets[0].mean == pytest.approx(2.0)
    assert store.counts("cam1", minute + 100, minute + 180, 60)[0].frames == 1
    assert store.counts("nope", minute, minute + 180, 60) == []


def test_events_keep_their_zones_and_filter_by_them(store: Store) -> None:
    store.save_events(
        [
            dataclasses.replace(event("1" * 32), zones=("door", "path")),
            dataclasses.replace(event("2" * 32, start=T0 + 1), zones=("path",)),
            event("3" * 32, start=T0 + 2),
        ]
    )
    assert store.get_event("1" * 32) is not None
    assert store.get_event("1" * 32).zones == ("door", "path")  # type: ignore[union-attr]
    assert [e.id for e in store.list_events(zone="door")] == ["1" * 32]
    assert {e.id for e in store.list_events(zone="path")} == {"1" * 32, "2" * 32}
    assert store.list_events(zone="pa") == []  # whole names only
