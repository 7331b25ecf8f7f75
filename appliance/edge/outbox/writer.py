"""The store hook that writes cloud records into the outbox, in the store's own transactions.

Events: a ``start`` record when an event is first stored, ``update`` at most every
``event_updates_s`` (and when it enters a new zone), ``end`` when it ends. Counts: when a
camera's first frame of a new minute is stored, the previous minute's counts (from the stored
frames, so a restart loses none). Health: every camera state the edge applies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from appliance.edge.snapshot_redaction import SnapshotRedaction
from appliance.edge.store import CameraState, EventRow, FrameRow
from appliance.edge.store.outbox import queue_message
from appliance.mqtt.wire import Record, encode_record

from . import queries
from .config import CloudUplinkConfig
from .records import count_record, event_record, health_record
from .thumbnails import thumbnail

log = logging.getLogger(__name__)


class OutboxWriter:
    """Implements appliance.edge.store.hooks.StoreHook. In-memory state changes (last update time,
    current minute) apply only once the transaction committed."""

    def __init__(
        self,
        config: CloudUplinkConfig,
        snapshot_path: Callable[[str], Path] | None = None,
        clock: Callable[[], float] = time.time,
        redaction: SnapshotRedaction | None = None,
    ) -> None:
        """``redaction``: what thumbnails have redacted (None: nothing)."""
        self._config = config
        self._redaction = redaction
        self._site = config.site_id
        self._snapshot_path = snapshot_path if config.thumbnails else None
        self._clock = clock
        self._lock = threading.Lock()
        self._last_update: dict[str, float] = {}
        """Event id -> last_seen_at of its last start or update record."""
        self._minute: dict[str, int] = {}
        """Camera id -> minute index of its newest analysed frame."""

    # --- StoreHook ------------------------------------------------------------------------

    def on_analysis(self, session: Session, frame: FrameRow, events: Sequence[EventRow]) -> None:
        self._roll_minute(session, frame)
        self._queue_events(session, events)

    def on_events(self, session: Session, events: Sequence[EventRow]) -> None:
        self._queue_events(session, events)

    def on_camera_state(self, session: Session, report: CameraState) -> None:
        self._queue(session, "health", report.camera_id, health_record(self._site, report))

    def on_close(self, session: Session) -> None:
        """The current minute's counts so far (a later, fuller count replaces them)."""
        with self._lock:
            minutes = list(self._minute.items())
        for camera_id, minute in minutes:
            self._queue_counts(session, camera_id, minute)

    # --- counts ---------------------------------------------------------------------------

    def _roll_minute(self, session: Session, frame: FrameRow) -> None:
        camera, minute = frame.camera_id, int(frame.captured_at // 60)
        with self._lock:
            previous = self._minute.get(camera)
        if previous is None:  # first frame since start: the minute stored before it
            previous = queries.last_frame_minute(session, camera, frame.captured_at)
        if previous is not None and previous < minute:
            self._queue_counts(session, camera, previous)
        if previous is None or previous < minute:
            self._after_commit(session, lambda: self._advance_minute(camera, minute))

    def _advance_minute(self, camera: str, minute: int) -> None:
        with self._lock:
            self._minute[camera] = max(minute, self._minute.get(camera, minute))

    def _queue_counts(self, session: Session, camera: str, minute: int) -> None:
        counts = queries.minute_counts(session, camera, minute)
        if counts is not None:
            self._queue(session, "counts", camera, count_record(self._site, counts))

    # --- events ---------------------------------------------------------------------------

    def _queue_events(self, session: Session, events: Sequence[EventRow]) -> None:
        stored = queries.stored_events(session, [e.id for e in events])
        updated: dict[str, float] = {}
        ended: list[str] = []
        for row in events:
            for kind in self._record_kinds(row, stored.get(row.id)):
                thumb = self._thumbnail(session, row) if kind == "end" else None
                record = event_record(self._site, row, kind, thumb)
                self._queue(session, "events", row.camera_id, record)
                if kind == "end":
                    ended.append(row.id)
                else:
                    updated[row.id] = row.last_seen_at
        if updated or ended:
            self._after_commit(session, lambda: self._remember(updated, ended))

    def _record_kinds(self, row: EventRow, stored: queries.StoredEvent | None) -> list[str]:
        if stored is not None and stored.ended:
            return []
        kinds = ["start"] if stored is None else []
        if row.ended_at is not None:
            return [*kinds, "end"]
        if stored is not None and self._update_due(row, stored):
            kinds.append("update")
        return kinds

    def _update_due(self, row: EventRow, stored: queries.StoredEvent) -> bool:
        if not set(row.zones) <= stored.zones:
            return True
        with self._lock:
            last = self._last_update.get(row.id, row.started_at)
        return row.last_seen_at - last >= self._config.event_updates_s

    def _remember(self, updated: dict[str, float], ended: list[str]) -> None:
        with self._lock:
            self._last_update.update(updated)
            for event_id in ended:
                self._last_update.pop(event_id, None)

    def _thumbnail(self, session: Session, row: EventRow) -> str | None:
        if self._snapshot_path is None or row.snapshot is None:
            return None
        config, redaction = self._config, self._redaction
        return thumbnail(
            self._snapshot_path(row.snapshot),
            config.thumbnail_width,
            config.thumbnail_max_bytes,
            None if redaction is None else partial(redaction.apply, session=session, event=row),
        )

    # --- plumbing -------------------------------------------------------------------------

    def _queue(self, session: Session, kind: str, camera_id: str, record: Record) -> None:
        queue_message(session, record.id, kind, camera_id, encode_record(record), self._clock())

    @staticmethod
    def _after_commit(session: Session, action: Callable[[], None]) -> None:
        session.info.setdefault(_AFTER_COMMIT, []).append(action)


_AFTER_COMMIT = "appliance.edge.outbox.after_commit"


@sa_event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, []):
        action()


@sa_event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
