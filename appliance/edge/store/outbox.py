"""The outbox table: messages for the cloud waiting for the broker's acknowledgement."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from .database import Database
from .schema import OutboxMessage
from .sessions import read_session, write_session


@dataclass(frozen=True)
class OutboxRow:
    id: int
    message_id: str
    kind: str
    camera_id: str
    payload: str
    """One JSON record."""
    size: int
    created_at: float


@dataclass(frozen=True)
class OutboxTotals:
    pending: int
    sent: int


def queue_message(
    session: Session, message_id: str, kind: str, camera_id: str, payload: str, at: float
) -> bool:
    """Add a record to the outbox in the caller's transaction; False when it is already there.

    A record whose id is there with other content replaces it as a new, unsent row (a count
    recomputed with more frames): it goes out again, and the receiver keeps the fuller one. The
    new row gets a new row id (ids are never reused), so a PUBACK still due for the old row
    cannot mark the new one sent.
    """
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == message_id))
    if existing is not None:
        if existing.payload == payload:
            return False
        session.delete(existing)
        session.flush()
    session.add(
        OutboxMessage(
            message_id=message_id,
            kind=kind,
            camera_id=camera_id,
            payload=payload,
            size=len(payload.encode("utf-8")),
            created_at=at,
        )
    )
    return True


class OutboxStore:
    """Reads and acknowledgements of the publisher; each call is its own transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def pending(self, after_id: int, limit: int) -> list[OutboxRow]:
        """Unsent rows with an id above ``after_id``, oldest first."""
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.id > after_id)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        with read_session(self._db, "read outbox") as session:
            return [_row(m) for m in session.scalars(stmt)]

    def mark_sent(self, ids: Collection[int], at: float) -> int:
        if not ids:
            return 0
        stmt = (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.sent_at.is_(None))
            .values(sent_at=at)
            .execution_options(synchronize_session=False)
        )
        with write_session(self._db, "mark outbox rows sent") as session:
            return cast(CursorResult[Any], session.execute(stmt)).rowcount or 0

    def totals(self) -> OutboxTotals:
        pending = select(func.count()).where(OutboxMessage.sent_at.is_(None))
        sent = select(func.count()).where(OutboxMessage.sent_at.is_not(None))
        with read_session(self._db, "count outbox") as session:
            return OutboxTotals(session.scalar(pending) or 0, session.scalar(sent) or 0)

    def prune_sent(self, before: float) -> int:
        """Delete rows acknowledged before ``before``; returns how many."""
        stmt = delete(OutboxMessage).where(OutboxMessage.sent_at < before)
        with write_session(self._db, "prune outbox") as session:
            return cast(CursorResult[Any], session.execute(stmt)).rowcount or 0


def _row(model: OutboxMessage) -> OutboxRow:
    return OutboxRow(
        id=model.id,
        message_id=model.message_id,
        kind=model.kind,
        camera_id=model.camera_id,
        payload=model.payload,
        size=model.size,
        created_at=model.created_at,
    )
