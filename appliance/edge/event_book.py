"""One camera's open events as the edge keeps them between frames: their ids, the zones their
objects stood in, and their snapshots (the best crop, kept until the event can have it).

Snapshots are staged while a frame's rows are made and published only after the rows are
committed, so a failed commit leaves no file without its event.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from appliance.edge.snapshots import SnapshotWriter, StagedSnapshot
from appliance.edge.store import EventRow
from pipelines.tracker import TrackedObject, TrackUpdate
from pipelines.zones import Zone, zones_of

log = logging.getLogger(__name__)


@dataclass
class EventState:
    event_id: str
    snapshot: str | None = None
    zones: list[str] = field(default_factory=list)
    """Zones the object has stood in, in the order it first entered them."""
    best_crop: bytes | None = field(default=None, repr=False)


class EventBook:
    """Event state per track id; copy `events` to roll a frame back."""

    def __init__(self, camera_id: str, snapshots: SnapshotWriter | None) -> None:
        self.camera_id = camera_id
        self.snapshots = snapshots
        self.events: dict[int, EventState] = {}
        self._staged: list[StagedSnapshot] = []
        self._snapshots_failing = False

    def keep_best_crops(
        self, image: npt.NDArray[np.uint8], update: TrackUpdate, timestamp: float
    ) -> None:
        """Crop now while the frame is here: the best view may come before the track confirms."""
        if self.snapshots is None:
            return
        for track in update.tracks:
            if track.last_seen != timestamp:
                continue
            state = self.state(track.track_id)
            if track.best_timestamp == timestamp:
                state.best_crop = self.snapshots.crop(image, track.best_box)
            elif state.snapshot is None and state.best_crop is None:
                # Seen best on frames without a picture (Edgent tensors): this view will do.
                state.best_crop = self.snapshots.crop(image, track.box)

    def note_zones(self, update: TrackUpdate, timestamp: float, zones: list[Zone]) -> None:
        if not zones:
            return
        for track in update.tracks:
            if track.last_seen == timestamp:
                visited = self.state(track.track_id).zones
                visited.extend(z for z in zones_of(track.box, zones) if z not in visited)

    def rows(self, update: TrackUpdate, timestamp: float) -> list[EventRow]:
        """The event rows this frame changes; snapshots they name are staged."""
        fresh = {t.track_id for t in (*update.confirmed, *update.improved)}
        rows = []
        for track in update.tracks:
            if track.confirmed and track.last_seen == timestamp:
                if track.track_id in fresh or self._awaits_snapshot(track.track_id):
                    self._stage_snapshot(track)
                rows.append(self.row(track, ended=False))
        rows.extend(self.row(t, ended=True) for t in update.ended)
        return rows

    def committed(self) -> None:
        """The rows are stored: their snapshots take their places."""
        for staged in self._staged:
            staged.publish()
        self._staged.clear()

    def discarded(self) -> None:
        """The rows were not stored: neither are their snapshots."""
        for staged in self._staged:
            staged.discard()
        self._staged.clear()

    def needs_picture(self, active: list[TrackedObject]) -> bool:
        """Some open event has no snapshot yet (its object was only seen on frames without a
        picture): the camera should send a picture."""
        if self.snapshots is None:
            return False
        return any(
            (state := self.events.get(track.track_id)) is None or state.snapshot is None
            for track in active
        )

    def row(self, track: TrackedObject, ended: bool) -> EventRow:
        state = self.state(track.track_id)
        best = track.best_box
        return EventRow(
            id=state.event_id,
            camera_id=self.camera_id,
            track_id=track.track_id,
            label=track.label,
            started_at=track.first_seen,
            last_seen_at=track.last_seen,
            ended_at=track.last_seen if ended else None,
            best_confidence=track.best_confidence,
            best_x1=best.x1,
            best_y1=best.y1,
            best_x2=best.x2,
            best_y2=best.y2,
            hits=track.hits,
            snapshot=state.snapshot,
            zones=tuple(state.zones),
            confirmed_at=track.confirmed_at,
        )

    def state(self, track_id: int) -> EventState:
        if track_id not in self.events:
            self.events[track_id] = EventState(uuid.uuid4().hex)
        return self.events[track_id]

    def forget_except(self, live: list[TrackedObject]) -> None:
        """Drop state of tracks the tracker no longer has (ended or tentative and expired)."""
        keep = {t.track_id for t in live}
        for track_id in [i for i in self.events if i not in keep]:
            del self.events[track_id]

    def _awaits_snapshot(self, track_id: int) -> bool:
        """A confirmed track's event has no snapshot, and a crop for one came at last."""
        state = self.events.get(track_id)
        return state is not None and state.snapshot is None and state.best_crop is not None

    def _stage_snapshot(self, track: TrackedObject) -> None:
        state = self.state(track.track_id)
        if self.snapshots is None or state.best_crop is None:
            return
        try:
            staged = self.snapshots.stage(self.camera_id, state.event_id, state.best_crop)
        except OSError as exc:
            # The event is stored without its picture; the crop is kept to try again.
            if not self._snapshots_failing:
                log.warning("camera %s: snapshots not written: %s", self.camera_id, exc)
            self._snapshots_failing = True
            return
        if self._snapshots_failing:
            log.info("camera %s: snapshots are written again", self.camera_id)
        self._snapshots_failing = False
        self._staged.append(staged)
        state.snapshot = staged.relative
        state.best_crop = None
