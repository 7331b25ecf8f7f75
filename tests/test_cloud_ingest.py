"""Cloud ingest on SQLite and on a real PostgreSQL: records stored once per id however often
they arrive, fuller counts win, and unusable messages are recorded with reason and topic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from appliance.cloud.ingest import CloudIngest
from appliance.cloud.schema import (
    CLOUD_MIGRATIONS,
    CloudBase,
    CloudCount,
    CloudEvent,
    CloudHealth,
    CloudReject,
)
from appliance.edge.store import Database, open_database, sqlite_url

PREFIX = "fleet/v1"
T0 = 1_700_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
def cloud_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "cloud")
    else:
        url = request.getfixturevalue("postgres_db_url")
    database = open_database(url, CLOUD_MIGRATIONS)
    yield database
    database.dispose()


@pytest.fixture
def ingest(cloud_db: Database) -> CloudIngest:
    return CloudIngest(cloud_db, PREFIX, max_message_bytes=4096, clock=lambda: T0)


def event_record(
    n: int, kind: str = "start", site: str = "s1", camera: str = "c1"
) -> dict[str, Any]:
    return {
        "id": f"{site}/{camera}/e{n}/{kind}",
        "type": kind,
        "event": f"e{n}",
        "label": "person",
        "track": n,
        "started_at": T0 + n,
        "last_seen_at": T0 + n + 1,
        "confidence": 0.9,
        "box": [1, 2, 30, 80],
        "hits": 3,
        "zones": ["door"],
    }


def message(
    kind: str, records: list[dict[str, Any]], site: str = "s1", camera: str = "c1"
) -> bytes:
    body = {"schema": 1, "site": site, "camera": camera, "kind": kind, "records": records}
    return json.dumps(body).encode()


def count(database: Database, model: type[CloudBase]) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_records_are_stored_once_however_often_they_arrive(
    ingest: CloudIngest, cloud_db: Database
) -> None:
    payload = message("events", [event_record(1), event_record(2), event_record(1, "end")])
    first = ingest.handle(f"{PREFIX}/s1/c1/events", payload)
    assert (first.stored, first.duplicates, first.rejected) == (3, 0, None)
    again = ingest.handle(f"{PREFIX}/s1/c1/events", payload)
    assert (again.stored, again.duplicates) == (0, 3)
    overlapping = message("events", [event_record(2), event_record(3), event_record(3)])
    assert ingest.handle(f"{PREFIX}/s1/c1/events", overlapping).stored == 1
    assert count(cloud_db, CloudEvent) == 4
    with cloud_db.sessions() as session:
        stored = session.get(CloudEvent, "s1/c1/e1/end")
        assert stored is not None
        assert (stored.site, stored.camera, stored.type, stored.zones) == (
            "s1",
            "c1",
            "end",
            ",door,",
        )
        assert (stored.x2, stored.y2, stored.received_at) == (30, 80, T0)


def test_a_fuller_count_of_a_minute_replaces_the_stored_one(
    ingest: CloudIngest, cloud_db: Database
) -> None:
    def counts(frames: int) -> bytes:
        record = {
            "id": "s1/c1/counts/1699999980",
            "minute": 1_699_999_980.0,
            "frames": frames,
            "detections": 2 * frames,
            "max": 3,
            "labels": {"person": 2 * frames},
        }
        return message("counts", [record])

    topic = f"{PREFIX}/s1/c1/counts"
    assert ingest.handle(topic, counts(5)).stored == 1
    assert ingest.handle(topic, counts(9)).stored == 1
    assert ingest.handle(topic, counts(7)).stored == 0  # an older, partial count: ignored
    with cloud_db.sessions() as session:
        row = session.get(CloudCount, "s1/c1/counts/1699999980")
        assert row is not None and (row.frames, row.detections) == (9, 18)
        assert json.loads(row.labels) == {"person": 18}


def test_health_records(ingest: CloudIngest, cloud_db: Database) -> None:
    record = {"id": "s1/c1/health/1700000000000/retrying", "state": "retrying", "since": T0}
    assert ingest.handle(f"{PREFIX}/s1/c1/health", message("health", [record])).stored == 1
    with cloud_db.sessions() as session:
        row = session.get(CloudHealth, record["id"])
        assert row is not None and (row.state, row.detail) == ("retrying", None)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (f"{PREFIX}/s1/c1/events", b"\xff\xfe not json", "invalid"),
        (f"{PREFIX}/s1/c1/events", b'{"schema": 1, "site": "s1"}', "invalid"),
        (f"{PREFIX}/s1/c1/events", message("events", [{**event_record(1), "box": "x"}]), "box"),
        (f"{PREFIX}/s1/c1/events", b"[" * 5000, "oversized"),
        (f"{PREFIX}/s1/c1/bogus", message("events", [event_record(1)]), "unexpected topic"),
        (f"{PREFIX}/s2/c1/events", message("events", [event_record(1)]), "disagree"),
        (f"{PREFIX}/s2/c1/events", message("events", [event_record(1)], site="s2"), "must start"),
    ],
    ids=["binary", "incomplete", "bad-field", "oversized", "topic", "mismatch", "foreign-id"],
)
def test_unusable_messages_are_recorded_not_stored(
    ingest: CloudIngest, cloud_db: Database, topic: str, payload: bytes, reason: str
) -> None:
    result = ingest.handle(topic, payload)
    assert result.rejected is not None and reason in result.rejected
    assert count(cloud_db, CloudEvent) == 0
    with cloud_db.sessions() as session:
        (reject,) = session.scalars(select(CloudReject))
    assert (reject.topic, reject.size) == (topic, len(payload))
    assert reason in reject.reason and len(reject.excerpt) <= 200
    # The worker goes on: the next good message is stored.
    good = message("events", [event_record(7)])
    assert ingest.handle(f"{PREFIX}/s1/c1/events", good).stored == 1


def test_text_the_database_refuses_is_rejected_not_retried(
    ingest: CloudIngest, cloud_db: Database
) -> None:
    # Valid JSON and schema, but a NUL in a string: PostgreSQL text cannot hold it. A message
    # the database refuses must be recorded and acknowledged, or it would come back forever.
    record = {**event_record(1), "label": "per\u0000son"}
    result = ingest.handle(f"{PREFIX}/s1/c1/events", message("events", [record]))
    if cloud_db.engine.dialect.name == "sqlite":  # SQLite stores it as it is
        assert result.stored == 1
        return
    assert result.rejected is not None and "database refused" in result.rejected
    with cloud_db.sessions() as session:
        (reject,) = session.scalars(select(CloudReject))
    assert "\x00" not in reject.excerpt + reject.reason
