"""Cloud tables: the metadata of many sites, one row per record id (redeliveries add none).

Portable types only: the same models and migrations serve PostgreSQL and SQLite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import BigInteger, Double, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from appliance.edge.store.migrate import Migrations

RECORD_ID_LEN = 255
NAME_LEN = 64
RowId = BigInteger().with_variant(Integer(), "sqlite")


class CloudBase(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {float: Double()}


class CloudEvent(CloudBase):
    """One event record (start, update or end) as the edge sent it."""

    __tablename__ = "cloud_events"
    __table_args__ = (Index("ix_cloud_events_site_camera_started", "site", "camera", "started_at"),)

    record_id: Mapped[str] = mapped_column(String(RECORD_ID_LEN), primary_key=True)
    site: Mapped[str] = mapped_column(String(NAME_LEN))
    camera: Mapped[str] = mapped_column(String(NAME_LEN))
    event_id: Mapped[str] = mapped_column(String(NAME_LEN), index=True)
    type: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(NAME_LEN))
    track_id: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[float]
    last_seen_at: Mapped[float]
    ended_at: Mapped[float | None]
    confidence: Mapped[float]
    x1: Mapped[int]
    y1: Mapped[int]
    x2: Mapped[int]
    y2: Mapped[int]
    hits: Mapped[int]
    zones: Mapped[str] = mapped_column(String(7000))
    """Zone names as ",a,b," (one LIKE finds events in a zone)."""
    thumbnail: Mapped[str | None] = mapped_column(Text)
    """Base64 JPEG, only from sites that allow thumbnails."""
    received_at: Mapped[float]


class CloudCount(CloudBase):
    """Objects a camera saw in one minute (a fuller count of the same minute replaces it)."""

    __tablename__ = "cloud_counts"
    __table_args__ = (Index("ix_cloud_counts_site_camera_minute", "site", "camera", "minute"),)

    record_id: Mapped[str] = mapped_column(String(RECORD_ID_LEN), primary_key=True)
    site: Mapped[str] = mapped_column(String(NAME_LEN))
    camera: Mapped[str] = mapped_column(String(NAME_LEN))
    minute: Mapped[float]
    frames: Mapped[int]
    detections: Mapped[int]
    max_objects: Mapped[int]
    labels: Mapped[str] = mapped_column(Text)
    """JSON object: detections per label."""
    received_at: Mapped[float]


class CloudHealth(CloudBase):
    """A camera state change reported by a site."""

    __tablename__ = "cloud_health"
    __table_args__ = (Index("ix_cloud_health_site_camera_since", "site", "camera", "since"),)

    record_id: Mapped[str] = mapped_column(String(RECORD_ID_LEN), primary_key=True)
    site: Mapped[str] = mapped_column(String(NAME_LEN))
    camera: Mapped[str] = mapped_column(String(NAME_LEN))
    state: Mapped[str] = mapped_column(String(16))
    since: Mapped[float]
    detail: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[float]


class CloudReject(CloudBase):
    """A message the worker could not use (malformed, oversized, wrong topic), kept for a look."""

    __tablename__ = "cloud_rejects"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(RECORD_ID_LEN))
    reason: Mapped[str] = mapped_column(String(500))
    size: Mapped[int]
    excerpt: Mapped[str] = mapped_column(String(200))
    """The start of the payload, undecodable bytes escaped."""
    received_at: Mapped[float] = mapped_column(index=True)


CLOUD_MIGRATIONS = Migrations(
    location=Path(__file__).resolve().parent / "migrations",
    version_table="alembic_version_cloud",
    metadata=CloudBase.metadata,
)
