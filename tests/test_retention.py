"""Retention: a sweep removes what is past its days, oldest first, keeps open events and what
is recent, holds snapshots under their quota and clears crash leftovers; the running edge box
sweeps by itself."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from appliance.edge.retention import DAY_S, RetentionConfig, RetentionJob
from appliance.edge.store import (
    CameraRow,
    Database,
    DetectionRow,
    EventRow,
    FrameRow,
    Store,
    open_database,
    sqlite_url,
)
from appliance.edge.store.retention import StoreRetention
from tests.edge_process import EdgeProcess, running_edge, store_totals
from tests.live_edge import feed, vtest_jpegs

NOW = 1_800_000_000.0
MB = 1_000_000


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = open_database(sqlite_url(tmp_path))
    yield database
    database.dispose()


@pytest.fixture
def store(database: Database) -> Store:
    store = Store(database)
    store.ensure_cameras([CameraRow("cam", "Cam")])
    return store


def frame(seq: int, days_ago: float) -> FrameRow:
    at = NOW - days_ago * DAY_S
    return FrameRow("cam", seq, at, at, 1000, 640, 480, None)


def person() -> DetectionRow:
    return DetectionRow("person", 0.9, 1, 2, 30, 80, 1)


def event(name: str, days_ago: float, ended: bool, snapshot: str | None) -> EventRow:
    at = NOW - days_ago * DAY_S
    return EventRow(
        name, "cam", 1, "person", at - 5, at, at if ended else None, 0.9, 1, 2, 30, 80, 3, snapshot
    )


def picture(data_dir: Path, name: str, days_old: float, size: int = 1000) -> str:
    relative = f"snapshots/cam/{name}.jpg"
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8" + b"\0" * size)
    os.utime(path, (NOW - days_old * DAY_S, NOW - days_old * DAY_S))
    return relative


def job(database: Database, data_dir: Path, **config: float | None) -> RetentionJob:
    settings = RetentionConfig.model_validate(config)
    return RetentionJob(settings, StoreRetention(database), data_dir, clock=lambda: NOW)


def test_a_sweep_removes_what_is_past_its_days(
    store: Store, database: Database, tmp_path: Path
) -> None:
    for seq, days in enumerate((10, 8, 6, 1)):
        store.record_analysis(frame(seq, days), [person(), person()], [])
    events = [
        event("old-ended", 100, True, picture(tmp_path, "old-ended", 100)),
        event("old-open", 100, False, picture(tmp_path, "old-open", 100)),
        event("aged-picture", 40, True, picture(tmp_path, "aged-picture", 40)),
        event("recent", 1, True, picture(tmp_path, "recent", 1)),
    ]
    store.save_events(events)
    crash_leftover = picture(tmp_path, "leftover", 1)
    just_written = picture(tmp_path, "being-committed", 0.0)

    swept = job(database, tmp_path).sweep()

    assert (swept.frames, swept.events, swept.snapshots, swept.orphans) == (2, 1, 2, 1)
    assert store.totals().frames == 2 and store.totals().detections == 4
    kept = {e.id: e for e in store.list_events()}
    assert set(kept) == {"old-open", "aged-picture", "recent"}
    assert kept["aged-picture"].snapshot is None and kept["recent"].snapshot is not None
    assert kept["old-open"].snapshot is not None  # an open event keeps its picture
    files = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.jpg")}
    assert files == {kept["old-open"].snapshot, kept["recent"].snapshot, just_written}
    assert crash_leftover not in files
    assert all((tmp_path / str(e.snapshot)).is_file() for e in kept.values() if e.snapshot)


def test_the_snapshot_quota_removes_the_oldest_ended_first(
    store: Store, database: Database, tmp_path: Path
) -> None:
    store.save_events(
        [event(f"e{i}", 5 - i, True, picture(tmp_path, f"e{i}", 5 - i, MB)) for i in range(4)]
        + [event("open", 9, False, picture(tmp_path, "open", 9, MB))]
    )
    swept = job(database, tmp_path, snapshots_max_mb=2.5).sweep()
    assert swept.snapshots == 3 and swept.snapshot_bytes <= 2.5 * MB
    pictures = {e.id: e.snapshot for e in store.list_events()}
    assert [k for k, v in sorted(pictures.items()) if v] == ["e3", "open"]
    assert len(pictures) == 5  # the events stay, without a picture


def test_none_keeps_everything(store: Store, database: Database, tmp_path: Path) -> None:
    store.record_analysis(frame(0, 1000), [person()], [])
    store.save_events([event("ancient", 1000, True, picture(tmp_path, "ancient", 1000))])
    forever = {
        key: None for key in ("frames_days", "events_days", "snapshots_days", "snapshots_max_mb")
    }
    swept = job(database, tmp_path, **forever).sweep()
    assert (swept.frames, swept.events, swept.snapshots) == (0, 0, 0)
    assert store.totals().frames == 1 and store.list_events()[0].snapshot is not None


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    retention = {"frames_days": 3 / DAY_S, "interval_s": 1}  # frames live 3 s
    with running_edge(
        tmp_path_factory.mktemp("edge"),
        {"door": "door-token-1234"},
        api_token="api-token-5678",
        extra={"retention": retention},
    ) as box:
        yield box


def test_the_running_box_sweeps_by_itself(edge: EdgeProcess) -> None:
    with httpx.Client(base_url=edge.base_url, timeout=30) as client:
        feed(client, edge, "door", vtest_jpegs(3))
        assert store_totals(client, edge)["frames"] == 3
        deadline = time.monotonic() + 15
        while store_totals(client, edge)["frames"] and time.monotonic() < deadline:
            time.sleep(0.5)
        assert store_totals(client, edge)["frames"] == 0
        stats = client.get("/api/v1/stats", headers=edge.read_headers()).json()
        assert stats["retention"]["last_sweep_at"] is not None
