"""Wire records built from what the store holds: ids, rounding, nothing raw."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.edge.store import CameraState, EventRow
from appliance.mqtt.wire import CountRecord, EventRecord, HealthRecord

EventType = str  # "start", "update" or "end"


@dataclass(frozen=True)
class MinuteCounts:
    camera_id: str
    minute: int
    """Minute index: epoch seconds // 60."""
    frames: int
    detections: int
    max: int
    labels: dict[str, int]


def _ms(value: float) -> float:
    return round(value, 3)


def event_record_id(site: str, event: EventRow, kind: EventType) -> str:
    base = f"{site}/{event.camera_id}/{event.id}"
    return f"{base}/update/{event.hits}" if kind == "update" else f"{base}/{kind}"


def event_record(
    site: str, event: EventRow, kind: EventType, thumbnail: str | None = None
) -> EventRecord:
    return EventRecord(
        id=event_record_id(site, event, kind),
        type=kind,  # checked by the model
        event=event.id,
        label=event.label,
        track=event.track_id,
        started_at=_ms(event.started_at),
        last_seen_at=_ms(event.last_seen_at),
        ended_at=None if event.ended_at is None else _ms(event.ended_at),
        confidence=round(min(max(event.best_confidence, 0.0), 1.0), 3),
        box=(
            round(event.best_x1),
            round(event.best_y1),
            round(event.best_x2),
            round(event.best_y2),
        ),
        hits=event.hits,
        zones=list(event.zones),
        thumbnail=thumbnail,
    )


def count_record(site: str, counts: MinuteCounts) -> CountRecord:
    start = counts.minute * 60
    return CountRecord(
        id=f"{site}/{counts.camera_id}/counts/{start}",
        minute=float(start),
        frames=counts.frames,
        detections=counts.detections,
        max=counts.max,
        labels=counts.labels,
    )


def health_record(site: str, report: CameraState) -> HealthRecord:
    since_ms = round(report.since * 1000)
    return HealthRecord(
        id=f"{site}/{report.camera_id}/health/{since_ms}/{report.state}",
        state=report.state,
        since=_ms(report.since),
        detail=None if report.detail is None else report.detail[:500],
    )
