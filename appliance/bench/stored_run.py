"""What an edge box stored for one camera, read back for scoring (`appliance bench system`).

Frames are keyed by the camera's frame number (`seq`, which a file source counts from 0, so it
is the clip's frame index). An event's first record is the frame at which its track was
confirmed, as the event row says (`confirmed_at`): the store writes an event row then, not
before. Its weak sightings (`pipelines.weak_detections`) may have confirmed it, and they are not
stored; rows from before that column fall back to the tracker's rule on the stored detections.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from appliance.edge.store import Database
from appliance.edge.store.schema import Detection as DetectionRecord
from appliance.edge.store.schema import Event, Frame
from appliance.edge.store.sessions import read_session
from pipelines.event_scoring import ScoredEvent
from pipelines.tracker import TrackerSettings
from pipelines.types import Box, Detection


@dataclass(frozen=True)
class StoredRun:
    analysed: dict[int, list[Detection]]
    """Frame index -> detections stored for it."""
    events: list[ScoredEvent]
    """Times in seconds from the clip's first frame."""
    bytes_received: int


def read_stored_run(
    database: Database, camera_id: str, fps: float, tracker: TrackerSettings
) -> StoredRun:
    with read_session(database, "read the benchmark's stored run") as session:
        frames = list(session.execute(select(Frame).where(Frame.camera_id == camera_id)).scalars())
        rows = session.execute(
            select(DetectionRecord, Frame.seq)
            .join(Frame, DetectionRecord.frame_id == Frame.id)
            .where(Frame.camera_id == camera_id)
            .order_by(Frame.captured_at, DetectionRecord.id)
        ).all()
        events = list(session.execute(select(Event).where(Event.camera_id == camera_id)).scalars())
    # The source stamps frame i at start + i / fps: recover the start.
    start = min((f.captured_at - f.seq / fps for f in frames), default=0.0)
    analysed: dict[int, list[Detection]] = {f.seq: [] for f in frames}
    seen: dict[int, list[tuple[int, Box]]] = defaultdict(list)
    for record, seq in rows:
        box = Box(record.x1, record.y1, record.x2, record.y2)
        analysed[seq].append(Detection(record.label, record.confidence, box))
        if record.track_id is not None:
            seen[record.track_id].append((seq, box))
    scored = [_scored(e, seen[e.track_id], fps, start, tracker) for e in events]
    return StoredRun(analysed, scored, sum(f.jpeg_bytes for f in frames))


def _scored(
    event: Event, seen: list[tuple[int, Box]], fps: float, start: float, tracker: TrackerSettings
) -> ScoredEvent:
    times = [seq / fps for seq, _ in seen] or [event.started_at - start]
    first = times[0]
    if event.confirmed_at is not None:
        reported = event.confirmed_at - start
    else:  # stored by a version that did not record it: the tracker's rule on the detections
        reported = next(
            (t for hits, t in enumerate(times, 1) if tracker.confirms(hits, t - first)),
            times[-1],
        )
    return ScoredEvent(event.label, dict(seen), first, times[-1], reported)
