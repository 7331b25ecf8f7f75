"""Removing what the box no longer keeps (appliance/edge/retention.py decides what and when):
old frames with their detections, old ended events, and the snapshot references of ended events
whose files are to go. Deletes run in short batches, so cameras' writes wait little."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update

from .database import Database
from .schema import Event, Frame
from .sessions import read_session, write_session

BATCH = 2000
"""Rows removed per transaction."""


@dataclass(frozen=True)
class EndedSnapshot:
    event_id: str
    path: str
    """Relative to the data directory, as the event row names it."""


class StoreRetention:
    def __init__(self, db: Database) -> None:
        self._db = db

    def delete_frames_received_before(self, before: float) -> int:
        """Frames the edge received before `before` (its own clock), with their detections."""
        removed = 0
        while True:
            batch = select(Frame.id).where(Frame.received_at < before).limit(BATCH)
            with write_session(self._db, "remove old frames") as session:
                ids = list(session.scalars(batch))
                if ids:
                    session.execute(delete(Frame).where(Frame.id.in_(ids)))
            removed += len(ids)
            if len(ids) < BATCH:
                return removed

    def delete_events_ended_before(self, before: float) -> list[str]:
        """Ended events whose object was last seen before `before`; the snapshot paths they
        named (for the caller to remove once this is committed). Open events stay."""
        paths: list[str] = []
        while True:
            batch = (
                select(Event.id, Event.snapshot)
                .where(Event.ended_at.is_not(None), Event.ended_at < before)
                .limit(BATCH)
            )
            with write_session(self._db, "remove old events") as session:
                rows = session.execute(batch).all()
                if rows:
                    session.execute(delete(Event).where(Event.id.in_([r.id for r in rows])))
            paths.extend(r.snapshot for r in rows if r.snapshot)
            if len(rows) < BATCH:
                return paths

    def ended_snapshots(self) -> list[EndedSnapshot]:
        """Snapshots of ended events, the longest ended first (what a quota removes first)."""
        query = (
            select(Event.id, Event.snapshot)
            .where(Event.ended_at.is_not(None), Event.snapshot.is_not(None))
            .order_by(Event.ended_at)
        )
        with read_session(self._db, "list ended events' snapshots") as session:
            return [EndedSnapshot(r.id, r.snapshot) for r in session.execute(query)]

    def referenced_snapshots(self) -> set[str]:
        query = select(Event.snapshot).where(Event.snapshot.is_not(None))
        with read_session(self._db, "list snapshots") as session:
            return {path for path in session.scalars(query) if path}

    def forget_snapshots(self, event_ids: Collection[str]) -> int:
        """The events no longer name a snapshot (their files are about to go)."""
        ids = list(event_ids)
        forgotten = 0
        for start in range(0, len(ids), BATCH):
            statement = (
                update(Event)
                .where(Event.id.in_(ids[start : start + BATCH]), Event.ended_at.is_not(None))
                .values(snapshot=None)
            )
            with write_session(self._db, "forget snapshots") as session:
                forgotten += cast(CursorResult[Any], session.execute(statement)).rowcount or 0
        return forgotten
