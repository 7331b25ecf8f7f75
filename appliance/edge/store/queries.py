"""Statement helpers used inside the store's transactions (each takes an open Session)."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import case, func, or_, select, text, update
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.selectable import ScalarSelect

from .convert import event_model
from .errors import StoreError
from .rows import EventRow, FrameRow
from .schema import Base, Camera, Frame


def frame_id(session: Session, frame: FrameRow) -> int | None:
    return session.scalar(
        select(Frame.id).where(
            Frame.camera_id == frame.camera_id,
            Frame.seq == frame.seq,
            Frame.captured_at == frame.captured_at,
        )
    )


def require_cameras(session: Session, camera_ids: Collection[str]) -> None:
    if not camera_ids:
        return
    known = set(session.scalars(select(Camera.id).where(Camera.id.in_(camera_ids))))
    missing = sorted(set(camera_ids) - known)
    if missing:
        raise StoreError(f"unknown camera(s): {', '.join(missing)}")


def upsert_events(session: Session, events: Sequence[EventRow]) -> None:
    for row in events:
        session.merge(event_model(row))


def bump_camera(session: Session, frame: FrameRow) -> None:
    at = frame.received_at
    newer = or_(Camera.last_frame_at.is_(None), Camera.last_frame_at < at)
    session.execute(
        update(Camera)
        .where(Camera.id == frame.camera_id)
        .values(
            frames_received=Camera.frames_received + 1,
            last_frame_at=case((newer, at), else_=Camera.last_frame_at),
        )
        .execution_options(synchronize_session=False)
    )


def count_for_camera(
    column: QueryableAttribute[Any], camera_column: QueryableAttribute[str]
) -> ScalarSelect[int]:
    """Correlated ``count(column)`` of rows belonging to the outer query's camera."""
    return select(func.count(column)).where(camera_column == Camera.id).scalar_subquery()


def count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


SQLITE_FILES = ("", "-wal", "-shm")
"""A SQLite database is its file, its write-ahead log and the log's index."""


def database_bytes(session: Session) -> int | None:
    """Size of the session's database on disk (None: not a file, or unreadable)."""
    bind = session.get_bind()
    dialect = bind.dialect.name
    if dialect == "postgresql":
        size = session.scalar(text("SELECT pg_database_size(current_database())"))
        return None if size is None else int(size)
    path = bind.engine.url.database if dialect == "sqlite" else None
    if not path or path == ":memory:":
        return None
    return sum(_file_bytes(path + suffix) for suffix in SQLITE_FILES)


def _file_bytes(path: str) -> int:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:  # no journal right now
        return 0
