"""One track's state inside the tracker (`pipelines.tracker`), and the snapshot that leaves it."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.appearance import Appearance
from pipelines.box_motion import TrackShift
from pipelines.tracker_settings import TrackerSettings
from pipelines.types import Box


@dataclass(frozen=True)
class TrackedObject:
    """An immutable snapshot of one track, safe to hand to other stages."""

    track_id: int
    label: str
    box: Box
    confidence: float
    best_confidence: float
    best_box: Box
    best_timestamp: float
    hits: int
    first_seen: float
    last_seen: float
    confirmed: bool
    stationary: bool = False
    """It has not moved for stationary_after_s (see TrackerSettings)."""
    confirmed_at: float | None = None
    """Capture time of the frame that confirmed it (made it an event); None while tentative."""


@dataclass
class TrackState:
    """Mutable internal state; only snapshots (TrackedObject) leave the tracker."""

    track_id: int
    label: str
    box: Box
    confidence: float
    best_confidence: float
    best_box: Box
    best_timestamp: float
    first_seen: float
    last_seen: float
    hits: int = 1
    confirmed: bool = False
    confirmed_at: float | None = None
    velocity: tuple[float, float] | None = None  # centre px/s; None until 2 hits
    misses: int = 0  # analysed frames in a row without a match
    missed_since: float | None = None  # capture time of the first of those frames
    settled_box: Box | None = None  # where it has stayed (IoU) since settled_at
    settled_at: float = 0.0
    stationary: bool = False
    appearance: Appearance | None = None  # blended over its matches; None without descriptors

    def predicted_box(self, timestamp: float) -> Box:
        # Constant velocity of the centre; size is kept from the last match because detector
        # box sizes jitter too much to extrapolate. A stationary object's velocity is jitter.
        if self.velocity is None or self.stationary:
            return self.box
        dt = timestamp - self.last_seen
        return shift_box(self.box, self.velocity[0] * dt, self.velocity[1] * dt)

    def snapshot(self, box: Box | None = None) -> TrackedObject:
        return TrackedObject(
            track_id=self.track_id,
            label=self.label,
            box=self.box if box is None else box,
            confidence=self.confidence,
            best_confidence=self.best_confidence,
            best_box=self.best_box,
            best_timestamp=self.best_timestamp,
            hits=self.hits,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            confirmed=self.confirmed,
            stationary=self.stationary,
            confirmed_at=self.confirmed_at,
        )

    def note_miss(self, timestamp: float) -> None:
        if self.misses == 0:
            self.missed_since = timestamp
        self.misses += 1

    def settle(self, box: Box, timestamp: float, settings: TrackerSettings) -> None:
        """Follow whether the object stays put; a move makes it a moving object again."""
        if self.settled_box is None or self.settled_box.iou(box) < settings.stationary_iou:
            self.settled_box, self.settled_at, self.stationary = box, timestamp, False
            return
        after = settings.stationary_after_s
        if after is not None and self.confirmed and timestamp - self.settled_at >= after:
            self.stationary = True


def centre(box: Box) -> tuple[float, float]:
    return ((box.x1 + box.x2) / 2.0, (box.y1 + box.y2) / 2.0)


def shift_box(box: Box, dx: float, dy: float) -> Box:
    return Box(box.x1 + dx, box.y1 + dy, box.x2 + dx, box.y2 + dy)


def expected_box(track: TrackState, timestamp: float, shifts: dict[int, TrackShift]) -> Box:
    """Where the camera saw the track's box go, else where its velocity takes it."""
    shift = shifts.get(track.track_id)
    if shift is None:
        return track.predicted_box(timestamp)
    return shift_box(track.box, shift.dx, shift.dy)
