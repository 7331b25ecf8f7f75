"""The outbox writer inside the store's transactions, on SQLite and on a real PostgreSQL: one
record per event start / due update / end, per-minute counts from the stored frames, camera
health; nothing when the store's write rolls back. Plus the pure parts: batches and the cap."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from appliance.edge.outbox.batches import BatchLimits, plan_batches
from appliance.edge.outbox.config import CloudUplinkConfig
from appliance.edge.outbox.limiter import ByteRateLimiter
from appliance.edge.outbox.writer import OutboxWriter
from appliance.edge.store import (
    CameraRow,
    CameraState,
    Database,
    Store,
    StoreError,
    open_database,
    sqlite_url,
)
from appliance.edge.store.outbox import OutboxRow, OutboxStore
from appliance.edge.store.schema import OutboxMessage
from appliance.mqtt.wire import MESSAGE, CountRecord, EventRecord, envelope
from tests.test_store import det, event, frame

MINUTE = 1_700_000_040.0  # a whole minute: 28_333_334 * 60
SITE = "s1"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "data")
    else:
        url = request.getfixturevalue("postgres_db_url")
    database = open_database(url)
    yield database
    database.dispose()


def make_store(db: Database, **config: object) -> Store:
    settings = CloudUplinkConfig(enabled=True, site_id=SITE, **config)  # type: ignore[arg-type]
    store = Store(db, hook=OutboxWriter(settings, snapshot_path=lambda rel: Path(rel)))
    store.ensure_cameras([CameraRow("cam1", "Front door"), CameraRow("cam2", "Yard")])
    return store


def outbox(db: Database) -> list[OutboxMessage]:
    with db.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def ids(db: Database) -> list[str]:
    return [m.message_id for m in outbox(db)]


def test_event_start_due_updates_and_end(db: Database) -> None:
    store = make_store(db)
    e = dataclasses.replace(event(start=MINUTE), hits=3)
    store.record_analysis(frame(seq=1, at=MINUTE), [det()], [e])
    base = f"{SITE}/cam1/{e.id}"
    assert ids(db) == [f"{base}/start"]
    # Seen again 10 s later: not an update yet (event_updates_s 60).
    e = dataclasses.replace(e, last_seen_at=MINUTE + 10, hits=4)
    store.record_analysis(frame(seq=2, at=MINUTE + 10), [det()], [e])
    assert len(outbox(db)) == 1
    # Entering a zone is news at once; so is the minute's progress after 60 s.
    e = dataclasses.replace(e, last_seen_at=MINUTE + 11, hits=5, zones=("door",))
    store.record_analysis(frame(seq=3, at=MINUTE + 11), [det()], [e])
    e = dataclasses.replace(e, last_seen_at=MINUTE + 75, hits=6)
    store.record_analysis(frame(seq=4, at=MINUTE + 75), [det()], [e])
    e = dataclasses.replace(e, ended_at=MINUTE + 76)
    store.save_events([e])
    store.save_events([e])  # an ended event says nothing more
    events = [m.message_id for m in outbox(db) if m.kind == "events"]
    assert events == [f"{base}/start", f"{base}/update/5", f"{base}/update/6", f"{base}/end"]
    end = EventRecord.model_validate_json(outbox(db)[-1].payload)
    assert (end.type, end.ended_at, end.zones, end.hits) == ("end", MINUTE + 76, ["door"], 6)
    assert end.thumbnail is None


def test_write_that_rolls_back_leaves_no_record(db: Database) -> None:
    store = make_store(db)
    with pytest.raises(StoreError):
        store.record_analysis(frame(), [det()], [event(camera_id="cam9")])
    assert outbox(db) == []
    store.record_analysis(frame(), [det()], [event()])
    before = ids(db)
    assert store.record_analysis(frame(), [det()], [event("b" * 32)]) is None  # duplicate upload
    assert ids(db) == before


def test_minute_counts_from_stored_frames(db: Database) -> None:
    store = make_store(db)
    store.record_analysis(frame(seq=1, at=MINUTE + 1), [det(), det()], [])
    store.record_analysis(frame(seq=2, at=MINUTE + 30), [det()], [])
    store.record_analysis(frame("cam2", seq=1, at=MINUTE + 31), [det()] * 5, [])
    assert outbox(db) == []
    store.record_analysis(frame(seq=3, at=MINUTE + 61), [], [])  # cam1's next minute
    (row,) = outbox(db)
    counts = CountRecord.model_validate_json(row.payload)
    assert row.message_id == f"{SITE}/cam1/counts/{int(MINUTE)}"
    assert (counts.minute, counts.frames, counts.detections, counts.max) == (MINUTE, 2, 3, 2)
    assert counts.labels == {"person": 3}
    store.close_hook()  # stopping: each camera's current minute so far
    assert sorted(ids(db))[1:] == [
        f"{SITE}/cam1/counts/{int(MINUTE) + 60}",
        f"{SITE}/cam2/counts/{int(MINUTE)}",
    ]


def test_a_restarted_writer_counts_the_minute_before_it(db: Database) -> None:
    make_store(db).record_analysis(frame(seq=1, at=MINUTE + 5), [det()], [])
    restarted = make_store(db)  # a new process: it knows nothing of the stored minute
    restarted.record_analysis(frame(seq=2, at=MINUTE + 125), [det()], [])
    assert ids(db) == [f"{SITE}/cam1/counts/{int(MINUTE)}"]


def test_a_fuller_count_replaces_an_unsent_or_sent_one(db: Database) -> None:
    store = make_store(db)
    store.record_analysis(frame(seq=1, at=MINUTE + 5), [det()], [])
    store.close_hook()
    (first,) = outbox(db)
    OutboxStore(db).mark_sent([first.id], at=MINUTE + 6)
    restarted = make_store(db)
    restarted.record_analysis(frame(seq=2, at=MINUTE + 20), [det(), det()], [])
    restarted.record_analysis(frame(seq=3, at=MINUTE + 65), [], [])
    (again,) = outbox(db)
    assert again.message_id == first.message_id and again.id > first.id
    assert again.sent_at is None
    assert CountRecord.model_validate_json(again.payload).frames == 2


def test_camera_health_records(db: Database) -> None:
    store = make_store(db)
    store.set_camera_state(CameraState("cam1", "retrying", MINUTE, "stream dropped"))
    store.set_camera_state(CameraState("cam1", "connected", MINUTE - 5, None))  # older: ignored
    (row,) = outbox(db)
    assert row.kind == "health"
    assert json.loads(row.payload) == {
        "id": f"{SITE}/cam1/health/{int(MINUTE * 1000)}/retrying",
        "state": "retrying",
        "since": MINUTE,
        "detail": "stream dropped",
    }


def test_records_make_valid_messages(db: Database) -> None:
    store = make_store(db)
    store.record_analysis(frame(seq=1, at=MINUTE), [det()], [event(start=MINUTE)])
    store.set_camera_state(CameraState("cam1", "connected", MINUTE, None))
    store.close_hook()
    for row in outbox(db):
        message = MESSAGE.validate_json(envelope(SITE, row.camera_id, row.kind, [row.payload]))
        assert message.kind == row.kind and message.records[0].id == row.message_id


def test_thumbnails_only_when_enabled_and_small(db: Database, tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.jpg"
    noise = np.random.default_rng(1).integers(0, 255, (300, 200, 3), dtype=np.uint8)
    cv2.imwrite(str(snapshot), noise)
    ended = dataclasses.replace(event(), ended_at=MINUTE, snapshot=str(snapshot))
    settings = CloudUplinkConfig(enabled=True, site_id=SITE, thumbnails=True)
    store = Store(db, hook=OutboxWriter(settings, snapshot_path=Path))
    store.ensure_cameras([CameraRow("cam1", "Front door")])
    store.save_events([ended])
    end = EventRecord.model_validate_json(outbox(db)[-1].payload)
    assert end.thumbnail is not None
    assert len(end.thumbnail) * 3 // 4 <= settings.thumbnail_max_bytes
    other = dataclasses.replace(ended, id="c" * 32)
    make_store(db).save_events([other])  # default config: no pixels leave the site
    assert EventRecord.model_validate_json(outbox(db)[-1].payload).thumbnail is None


def row(row_id: int, camera: str = "cam1", kind: str = "events", size: int = 100) -> OutboxRow:
    payload = json.dumps({"id": f"{SITE}/{camera}/{row_id}", "pad": "x" * (size - 30)})
    return OutboxRow(row_id, f"{SITE}/{camera}/{row_id}", kind, camera, payload, len(payload), 0)


def test_batches_one_topic_each_bounded_in_records_and_bytes() -> None:
    rows = [row(1), row(2, "cam2"), row(3), row(4, kind="counts"), row(5), row(6)]
    batches = plan_batches(rows, BatchLimits(SITE, "app", batch_size=2, max_message_bytes=4096))
    assert [b.row_ids for b in batches] == [(1, 3), (2,), (4,), (5, 6)]
    assert batches[0].topic == f"app/{SITE}/cam1/events"
    small = plan_batches(rows[:1] + rows[2:3], BatchLimits(SITE, "app", 100, 250))
    assert [b.row_ids for b in small] == [(1,), (3,)]
    assert all(b.wire_bytes > len(b.payload) for b in batches)


def test_limiter_caps_bytes_over_a_sliding_minute() -> None:
    now = [0.0]
    limiter = ByteRateLimiter(1000, clock=lambda: now[0])
    assert limiter.allows(5000)  # alone in an empty window, even too big
    limiter.record(600)
    assert limiter.allows(400) and not limiter.allows(401)
    limiter.record(400)
    now[0] = 59.9
    assert not limiter.allows(1)
    now[0] = 60.0
    assert limiter.used() == 0 and limiter.allows(1000)


def test_a_rolled_back_write_does_not_lose_the_minute_it_would_have_closed(db: Database) -> None:
    store = make_store(db)
    store.record_analysis(frame(seq=1, at=MINUTE + 1), [det()], [])
    with pytest.raises(StoreError):  # next minute, but the transaction fails
        store.record_analysis(frame(seq=2, at=MINUTE + 61), [], [event(camera_id="cam9")])
    assert outbox(db) == []
    store.record_analysis(frame(seq=3, at=MINUTE + 62), [], [])
    assert ids(db) == [f"{SITE}/cam1/counts/{int(MINUTE)}"]
