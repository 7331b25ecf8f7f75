"""What the outbox writer reads inside the store's transaction (an open Session each)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.edge.store.schema import Detection, Event, Frame

from .records import MinuteCounts


@dataclass(frozen=True)
class StoredEvent:
    ended: bool
    zones: frozenset[str]


def stored_events(session: Session, ids: Collection[str]) -> dict[str, StoredEvent]:
    """The stored state of these events (before this transaction merges new rows)."""
    if not ids:
        return {}
    rows = session.execute(select(Event.id, Event.ended_at, Event.zones).where(Event.id.in_(ids)))
    return {
        r.id: StoredEvent(r.ended_at is not None, frozenset(z for z in r.zones.split(",") if z))
        for r in rows
    }


def last_frame_minute(session: Session, camera_id: str, before: float) -> int | None:
    """Minute index of the camera's newest stored frame captured before ``before``."""
    latest = session.scalar(
        select(func.max(Frame.captured_at)).where(
            Frame.camera_id == camera_id, Frame.captured_at < before
        )
    )
    return None if latest is None else int(latest // 60)


def minute_counts(session: Session, camera_id: str, minute: int) -> MinuteCounts | None:
    """What the camera's analysed frames of that minute showed; None when it had none."""
    start, end = minute * 60.0, minute * 60.0 + 60.0
    in_minute = (Frame.camera_id == camera_id, Frame.captured_at >= start, Frame.captured_at < end)
    totals = session.execute(
        select(
            func.count(Frame.id),
            func.coalesce(func.sum(Frame.detection_count), 0),
            func.coalesce(func.max(Frame.detection_count), 0),
        ).where(*in_minute)
    ).one()
    if not totals[0]:
        return None
    labels = session.execute(
        select(Detection.label, func.count(Detection.id))
        .join(Frame, Frame.id == Detection.frame_id)
        .where(*in_minute)
        .group_by(Detection.label)
        .order_by(Detection.label)
    )
    return MinuteCounts(
        camera_id=camera_id,
        minute=minute,
        frames=int(totals[0]),
        detections=int(totals[1]),
        max=int(totals[2]),
        labels={label: int(n) for label, n in labels},
    )
