"""ORM tables (SQLAlchemy 2 typed declarative); portable types only (SQLite and PostgreSQL).

Times are UTC epoch seconds stored as double-precision floats.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CAMERA_ID_LEN = 64
EVENT_ID_LEN = 32
MESSAGE_ID_LEN = 255

# 64-bit ids on PostgreSQL (frames and detections outgrow 2**31 on a busy box); SQLite needs
# exactly INTEGER PRIMARY KEY for its rowid autoincrement, and its INTEGER is 64-bit anyway.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base; every float column is double precision (epoch seconds need it)."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {float: Double()}


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(CAMERA_ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float]
    last_frame_at: Mapped[float | None]
    frames_received: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Health reported by the camera node (connected, retrying, failed, ...), newest wins.
    state: Mapped[str | None] = mapped_column(String(16))
    state_since: Mapped[float | None]
    state_detail: Mapped[str | None] = mapped_column(String(500))


class Frame(Base):
    __tablename__ = "frames"
    __table_args__ = (
        UniqueConstraint("camera_id", "seq", "captured_at", name="uq_frames_camera_seq_captured"),
        Index("ix_frames_camera_captured", "camera_id", "captured_at"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(
        String(CAMERA_ID_LEN), ForeignKey("cameras.id"), index=True
    )
    seq: Mapped[int]
    captured_at: Mapped[float]
    received_at: Mapped[float]
    jpeg_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    filter_score: Mapped[float | None]
    detection_count: Mapped[int] = mapped_column(Integer, default=0)


class Detection(Base):
    __tablename__ = "detections"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    frame_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("frames.id", ondelete="CASCADE"), index=True
    )
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LEN), index=True)
    label: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float]
    x1: Mapped[float]
    y1: Mapped[float]
    x2: Mapped[float]
    y2: Mapped[float]
    track_id: Mapped[int | None]


class Event(Base):
    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(EVENT_ID_LEN), primary_key=True)
    camera_id: Mapped[str] = mapped_column(
        String(CAMERA_ID_LEN), ForeignKey("cameras.id"), index=True
    )
    track_id: Mapped[int]
    label: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[float] = mapped_column(index=True)
    last_seen_at: Mapped[float]
    ended_at: Mapped[float | None]
    best_confidence: Mapped[float]
    best_x1: Mapped[float]
    best_y1: Mapped[float]
    best_x2: Mapped[float]
    best_y2: Mapped[float]
    hits: Mapped[int]
    snapshot: Mapped[str | None] = mapped_column(String(512))
    confirmed_at: Mapped[float | None]
    """Capture time of the frame that made the track an event (NULL before revision 4)."""
    # Zone names visited, stored ",a,b," so one LIKE '%,a,%' finds events in zone a.
    zones: Mapped[str] = mapped_column(String(1000), default=",", server_default=",")


class OutboxMessage(Base):
    """A message for the cloud, written in the transaction of what it describes; the publisher
    sets sent_at once the broker acknowledged it (see appliance/edge/outbox)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_outbox_message_id"),
        Index("ix_outbox_pending", "sent_at", "id"),
        # Never reuse an id: an acknowledgement for a replaced row must not mark its successor.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID_LEN))
    kind: Mapped[str] = mapped_column(String(16))
    """events, counts or health: the last part of the MQTT topic."""
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LEN))
    payload: Mapped[str] = mapped_column(Text)
    """One JSON record (the publisher wraps records of one topic into a message)."""
    size: Mapped[int]
    created_at: Mapped[float]
    sent_at: Mapped[float | None]


class CameraSettingsRecord(Base):
    """A camera's settings changed through the API (`appliance/edge/camera_settings.py`): they
    override the YAML's at every start."""

    __tablename__ = "camera_settings"

    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LEN), primary_key=True)
    settings: Mapped[str] = mapped_column(Text)
    """The CameraSettingsConfig as JSON."""
    updated_at: Mapped[float]
