"""Validate one MQTT message and store its records once each; anything unusable is recorded
in cloud_rejects with the reason and the topic, and the worker goes on."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError, NotSupportedError, ProgrammingError
from sqlalchemy.orm import Session

from appliance.edge.store import Database, StoreError
from appliance.edge.store.sessions import write_session
from appliance.mqtt.wire import (
    KINDS,
    MESSAGE,
    CountRecord,
    CountsMessage,
    EventRecord,
    EventsMessage,
    HealthRecord,
    Message,
)
from cameras.config_checks import describe_validation_error

from .schema import CloudCount, CloudEvent, CloudHealth, CloudReject

log = logging.getLogger(__name__)

EXCERPT_CHARS = 200
_REFUSED = (DataError, IntegrityError, ProgrammingError, NotSupportedError)


@dataclass(frozen=True)
class IngestResult:
    stored: int = 0
    """Records new to the database (or counts made fuller)."""
    duplicates: int = 0
    rejected: str | None = None
    """Why the message was rejected; None when it was used."""


class Rejected(Exception):
    """A message that cannot be used; str() is the reason recorded."""


class CloudIngest:
    def __init__(
        self,
        database: Database,
        topic_prefix: str,
        max_message_bytes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if database.engine.dialect.name not in ("postgresql", "sqlite"):
            raise StoreError(f"cloud database {database.url}: PostgreSQL or SQLite only")
        self._db = database
        self._prefix = topic_prefix.split("/")
        self._max_bytes = max_message_bytes
        self._clock = clock

    def handle(self, topic: str, payload: bytes) -> IngestResult:
        """Store a message's records or record why not. Raises StoreError only when the database
        is unreachable (the message is then not acknowledged and comes again); a message the
        database refuses (bad data) is rejected like a malformed one, or it would come forever."""
        try:
            message = self._parse(topic, payload)
        except Rejected as exc:
            return self._reject(topic, payload, str(exc))
        try:
            with write_session(self._db, f"store message on {topic}") as session:
                stored = _store(session, message, self._clock())
        except StoreError as exc:
            if is_transient(exc):
                raise
            return self._reject(topic, payload, f"database refused it: {exc}")
        return IngestResult(stored=stored, duplicates=len(message.records) - stored)

    def _parse(self, topic: str, payload: bytes) -> Message:
        if len(payload) > self._max_bytes:
            raise Rejected(f"oversized: {len(payload)} bytes (limit {self._max_bytes})")
        site, camera, kind = self._topic_parts(topic)
        try:
            message = MESSAGE.validate_json(payload)
        except ValidationError as exc:
            raise Rejected(f"invalid: {describe_validation_error(exc)}"[:500]) from None
        if (message.site, message.camera, message.kind) != (site, camera, kind):
            raise Rejected("topic and message disagree on site, camera or kind")
        own = f"{site}/{camera}/"
        if any(not r.id.startswith(own) for r in message.records):
            raise Rejected(f"record ids must start with {own}")
        return message

    def _topic_parts(self, topic: str) -> tuple[str, str, str]:
        parts = topic.split("/")
        n = len(self._prefix)
        if parts[:n] != self._prefix or len(parts) != n + 3 or parts[-1] not in KINDS:
            raise Rejected("unexpected topic")
        return parts[n], parts[n + 1], parts[n + 2]

    def _reject(self, topic: str, payload: bytes, reason: str) -> IngestResult:
        log.warning("rejected a %d-byte message on %s: %s", len(payload), topic[:255], reason)
        excerpt = printable(payload[:EXCERPT_CHARS].decode("utf-8", errors="backslashreplace"))
        row = CloudReject(
            topic=printable(topic)[:255],
            reason=printable(reason)[:500],
            size=len(payload),
            excerpt=excerpt[:EXCERPT_CHARS],
            received_at=self._clock(),
        )
        try:
            with write_session(self._db, "record a rejected message") as session:
                session.add(row)
        except StoreError as exc:
            if is_transient(exc):
                raise
            log.error("a rejected message on %s could not be recorded: %s", row.topic, exc)
        return IngestResult(rejected=reason)


def printable(text: str) -> str:
    """Control characters (NUL above all: PostgreSQL text refuses it) as escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def is_transient(exc: StoreError) -> bool:
    """A failure worth retrying (connection, timeout), not the database refusing the data."""
    return not isinstance(exc.__cause__, _REFUSED)


def _store(session: Session, message: Message, received_at: float) -> int:
    records = list({r.id: r for r in message.records}.values())  # one row per id
    if isinstance(message, EventsMessage):
        rows = [_event_row(message, cast(EventRecord, r), received_at) for r in records]
        return _insert_new(session, CloudEvent.__table__, rows)
    if isinstance(message, CountsMessage):
        rows = [_count_row(message, cast(CountRecord, r), received_at) for r in records]
        return _upsert_fuller_counts(session, rows)
    rows = [_health_row(message, cast(HealthRecord, r), received_at) for r in records]
    return _insert_new(session, CloudHealth.__table__, rows)


def _insert(session: Session) -> Callable[[Table], Any]:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"cloud database on {dialect}: PostgreSQL or SQLite only")


def _insert_new(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows whose id is new; returns how many were."""
    stmt = (
        _insert(session)(table)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["record_id"])
        .returning(table.c.record_id)
    )
    return len(session.execute(stmt).all())


def _upsert_fuller_counts(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """A count of the same minute with more frames replaces the stored one (the edge re-sends
    a minute it had counted only in part before a restart)."""
    table = cast(Table, CloudCount.__table__)
    stmt = _insert(session)(table).values(list(rows))
    stmt = stmt.on_conflict_do_update(
        index_elements=["record_id"],
        set_={c: stmt.excluded[c] for c in ("frames", "detections", "max_objects", "labels")},
        where=stmt.excluded.frames > table.c.frames,
    ).returning(table.c.record_id)
    return len(session.execute(stmt).all())


def _base(message: Message, record_id: str, received_at: float) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "site": message.site,
        "camera": message.camera,
        "received_at": received_at,
    }


def _event_row(message: Message, r: EventRecord, received_at: float) -> dict[str, Any]:
    x1, y1, x2, y2 = r.box
    return {
        **_base(message, r.id, received_at),
        "event_id": r.event,
        "type": r.type,
        "label": r.label,
        "track_id": r.track,
        "started_at": r.started_at,
        "last_seen_at": r.last_seen_at,
        "ended_at": r.ended_at,
        "confidence": r.confidence,
        "x1": x1,
        "y1": y1,
        "x2": x2,
        "y2": y2,
        "hits": r.hits,
        "zones": "," + "".join(f"{z}," for z in r.zones),
        "thumbnail": r.thumbnail,
    }


def _count_row(message: Message, r: CountRecord, received_at: float) -> dict[str, Any]:
    return {
        **_base(message, r.id, received_at),
        "minute": r.minute,
        "frames": r.frames,
        "detections": r.detections,
        "max_objects": r.max,
        "labels": json.dumps(r.labels, sort_keys=True),
    }


def _health_row(message: Message, r: HealthRecord, received_at: float) -> dict[str, Any]:
    return {
        **_base(message, r.id, received_at),
        "state": r.state,
        "since": r.since,
        "detail": r.detail,
    }
