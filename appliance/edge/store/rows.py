"""Frozen value types at the store boundary: callers never see ORM objects."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CameraRow:
    id: str
    name: str


@dataclass(frozen=True)
class FrameRow:
    camera_id: str
    seq: int
    captured_at: float
    received_at: float
    jpeg_bytes: int
    width: int
    height: int
    filter_score: float | None


@dataclass(frozen=True)
class DetectionRow:
    label: str
    confidence: float
    x1: float
    y1: float
    x2: float
    y2: float
    track_id: int | None


@dataclass(frozen=True)
class EventRow:
    id: str
    camera_id: str
    track_id: int
    label: str
    started_at: float
    last_seen_at: float
    ended_at: float | None
    best_confidence: float
    best_x1: float
    best_y1: float
    best_x2: float
    best_y2: float
    hits: int
    snapshot: str | None
    zones: tuple[str, ...] = ()
    confirmed_at: float | None = None
    """Capture time of the frame that made the track an event: how long after `started_at`
    it was reported (None for events stored by an older version)."""


@dataclass(frozen=True)
class CameraState:
    camera_id: str
    state: str
    since: float
    detail: str | None


@dataclass(frozen=True)
class CameraStats:
    id: str
    name: str
    frames_received: int
    last_frame_at: float | None
    detections: int
    events: int
    state: str | None
    state_since: float | None
    state_detail: str | None


@dataclass(frozen=True)
class CountBucket:
    start: float
    """Start of the bucket, epoch seconds."""
    frames: int
    """Frames analysed in it."""
    mean: float
    """Objects detected per analysed frame."""
    max: int


@dataclass(frozen=True)
class StoreTotals:
    cameras: int
    frames: int
    detections: int
    events: int
    database_mb: float | None = None
    """The database on disk: SQLite's file with its write-ahead log, or PostgreSQL's
    pg_database_size (None: not readable, e.g. an in-memory database)."""
