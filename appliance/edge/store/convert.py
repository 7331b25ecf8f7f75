"""Mapping between boundary rows and ORM objects (kept out of the repository's logic)."""

from __future__ import annotations

from .rows import DetectionRow, EventRow, FrameRow
from .schema import Detection, Event, Frame


def frame_model(row: FrameRow, detection_count: int) -> Frame:
    return Frame(
        camera_id=row.camera_id,
        seq=row.seq,
        captured_at=row.captured_at,
        received_at=row.received_at,
        jpeg_bytes=row.jpeg_bytes,
        width=row.width,
        height=row.height,
        filter_score=row.filter_score,
        detection_count=detection_count,
    )


def detection_model(row: DetectionRow, frame_id: int, camera_id: str) -> Detection:
    return Detection(
        frame_id=frame_id,
        camera_id=camera_id,
        label=row.label,
        confidence=row.confidence,
        x1=row.x1,
        y1=row.y1,
        x2=row.x2,
        y2=row.y2,
        track_id=row.track_id,
    )


def detection_row(model: Detection) -> DetectionRow:
    return DetectionRow(
        label=model.label,
        confidence=model.confidence,
        x1=model.x1,
        y1=model.y1,
        x2=model.x2,
        y2=model.y2,
        track_id=model.track_id,
    )


def event_model(row: EventRow) -> Event:
    return Event(
        id=row.id,
        camera_id=row.camera_id,
        track_id=row.track_id,
        label=row.label,
        started_at=row.started_at,
        last_seen_at=row.last_seen_at,
        ended_at=row.ended_at,
        best_confidence=row.best_confidence,
        best_x1=row.best_x1,
        best_y1=row.best_y1,
        best_x2=row.best_x2,
        best_y2=row.best_y2,
        hits=row.hits,
        snapshot=row.snapshot,
        zones="," + "".join(f"{z}," for z in row.zones),
        confirmed_at=row.confirmed_at,
    )


def event_row(model: Event) -> EventRow:
    return EventRow(
        id=model.id,
        camera_id=model.camera_id,
        track_id=model.track_id,
        label=model.label,
        started_at=model.started_at,
        last_seen_at=model.last_seen_at,
        ended_at=model.ended_at,
        best_confidence=model.best_confidence,
        best_x1=model.best_x1,
        best_y1=model.best_y1,
        best_x2=model.best_x2,
        best_y2=model.best_y2,
        hits=model.hits,
        snapshot=model.snapshot,
        zones=tuple(z for z in model.zones.split(",") if z),
        confirmed_at=model.confirmed_at,
    )
