"""Persistence for frames, detections and events (SQLAlchemy 2; SQLite WAL or PostgreSQL)."""

from .database import Database, open_database, sqlite_url
from .errors import StoreError
from .repository import Store
from .rows import (
    CameraRow,
    CameraState,
    CameraStats,
    CountBucket,
    DetectionRow,
    EventRow,
    FrameRow,
    StoreTotals,
)

__all__ = [
    "CameraRow",
    "CameraState",
    "CameraStats",
    "CountBucket",
    "Database",
    "DetectionRow",
    "EventRow",
    "FrameRow",
    "Store",
    "StoreError",
    "StoreTotals",
    "open_database",
    "sqlite_url",
]
