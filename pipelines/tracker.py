"""IoU multi-object tracker for sparse frames: turns per-frame detections into tracks and events.

The camera node drops unchanged frames, so the gap between analysed frames varies. Everything
time-related (ageing, velocity, prediction) is therefore in seconds of capture time, never frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pipelines.appearance import Appearance, AppearanceTrack, appearance_pairs, blend
from pipelines.box_motion import TrackShift
from pipelines.track_gate import Candidate, gated_pairs, iou_pairs
from pipelines.track_state import TrackedObject, TrackState, centre, expected_box
from pipelines.tracker_settings import TrackerSettings
from pipelines.types import Box, Detection

__all__ = ["IouTracker", "TrackUpdate", "TrackedObject", "TrackerSettings"]

DEFAULT_SETTINGS = TrackerSettings()


@dataclass(frozen=True)
class TrackUpdate:
    """Result of one update: the live tracks plus the events users care about."""

    tracks: list[TrackedObject]
    matches: dict[int, int]
    confirmed: list[TrackedObject]
    improved: list[TrackedObject]
    ended: list[TrackedObject]
    weak_matches: dict[int, int] = field(default_factory=dict)
    """Weak detection index -> the track it continued (see `IouTracker.update`)."""


def _blended(old: Appearance | None, new: Appearance) -> Appearance:
    # Half the newest sighting: follows light and pose within a few frames (the one weight
    # tried; not tuned).
    return new if old is None else blend(old, new, 0.5)


class IouTracker:
    """Greedy IoU tracker with velocity prediction; one instance per camera."""

    def __init__(self, settings: TrackerSettings = DEFAULT_SETTINGS) -> None:
        self._settings = settings
        self._tracks: list[TrackState] = []
        self._next_id = 1
        self._last_timestamp: float | None = None

    @property
    def active(self) -> list[TrackedObject]:
        """Live confirmed tracks, sorted by track_id."""
        return [t.snapshot() for t in self._tracks if t.confirmed]

    @property
    def settings(self) -> TrackerSettings:
        return self._settings

    @property
    def awaiting_second_look(self) -> int:
        """Tracks not confirmed yet that the last analysed frame showed: one more look soon
        makes each an event. One that frame missed already is left to the frames that come
        anyway (asking again would chase the detector's flicker until max_age_s)."""
        return sum(1 for t in self._tracks if not t.confirmed and t.misses == 0)

    @property
    def stationary_boxes(self) -> tuple[Box, ...]:
        """Where the stationary objects are (only confirmed tracks become stationary)."""
        return tuple(t.box for t in self._tracks if t.stationary)

    @property
    def moving(self) -> int:
        """Live tracks that are not stationary, tentative ones too (one more frame confirms or
        drops them): what keepalive frames are for."""
        return sum(1 for t in self._tracks if not t.stationary)

    @property
    def moving_events(self) -> int:
        """Confirmed tracks that are not stationary (lost ones too, until they end)."""
        return sum(1 for t in self._tracks if t.confirmed and not t.stationary)

    def update(
        self,
        detections: Sequence[Detection],
        timestamp: float,
        appearances: Sequence[Appearance] | None = None,
        weak: Sequence[Detection] = (),
        moved: Sequence[TrackShift] = (),
    ) -> TrackUpdate:
        """Feed one analysed frame's detections, captured at `timestamp` (seconds), with a
        descriptor per detection if the caller has the frame's pixels (`appearance_gate`).

        `moved`: how far tracks matched on the last analysed frame moved since, as the camera
        followed them (`pipelines.box_motion`); such a track is looked for there instead of
        where its velocity would put it.

        `weak` are the frame's detections under the detector's confidence threshold: after the
        others are matched, they continue tracks left unmatched (IoU >= `weak_iou` with the
        predicted box) and never start one, as ByteTrack's second association does. A person
        the detector sees at 0.2 on the frame after 0.6 is the same person, not flicker."""
        if appearances is not None and len(appearances) != len(detections):
            raise ValueError(
                f"appearances must give one descriptor per detection: got {len(appearances)}"
                f" for {len(detections)} detections"
            )
        self._check_timestamp(timestamp)
        ended = self._expire(timestamp)
        shifts = self._measured(moved)
        pairs = self._pairs(detections, timestamp, shifts)
        if appearances is not None:
            pairs += self._appearance_pairs(pairs, detections, appearances, timestamp)
        weak_pairs = self._weak_pairs({ti for ti, _ in pairs}, weak, timestamp, shifts)
        matches: dict[int, int] = {}
        confirmed: list[TrackedObject] = []
        improved: list[TrackedObject] = []
        matched_tracks = {ti for ti, _ in pairs} | {ti for ti, _ in weak_pairs}
        for ti, track in enumerate(self._tracks):
            if ti in matched_tracks:
                track.misses = 0
            else:
                track.note_miss(timestamp)
        for ti, di in pairs:
            track = self._tracks[ti]
            was_confirmed, old_best = track.confirmed, track.best_confidence
            self._apply_match(track, detections[di], timestamp)
            if appearances is not None:
                track.appearance = _blended(track.appearance, appearances[di])
            matches[di] = track.track_id
            if track.confirmed and not was_confirmed:
                confirmed.append(track.snapshot())
            elif was_confirmed and track.best_confidence > old_best:
                improved.append(track.snapshot())
        weak_matches: dict[int, int] = {}
        for ti, wi in weak_pairs:
            track = self._tracks[ti]
            was_confirmed = track.confirmed
            self._apply_match(track, weak[wi], timestamp)
            weak_matches[wi] = track.track_id
            if track.confirmed and not was_confirmed:
                confirmed.append(track.snapshot())
        for di, det in enumerate(detections):
            if di not in matches:
                track = self._start_track(det, timestamp)
                track.appearance = None if appearances is None else appearances[di]
                matches[di] = track.track_id
                if track.confirmed:
                    confirmed.append(track.snapshot())
        ended += self._expire_stationary(timestamp)  # after matching: indices stay valid above
        confirmed.sort(key=lambda t: t.track_id)
        improved.sort(key=lambda t: t.track_id)
        tracks = [t.snapshot() for t in self._tracks]
        return TrackUpdate(
            tracks,
            dict(sorted(matches.items())),
            confirmed,
            improved,
            ended,
            dict(sorted(weak_matches.items())),
        )

    def predict(self, timestamp: float, moved: Sequence[TrackShift] = ()) -> list[TrackedObject]:
        """Confirmed tracks with boxes moved to `timestamp` (by the camera's `moved`, else by
        their velocity); state is left untouched."""
        limit = self._settings.report_misses
        shifts = self._measured(moved)
        return [
            t.snapshot(expected_box(t, timestamp, shifts))
            for t in self._tracks
            if t.confirmed and (limit is None or t.misses <= limit)
        ]

    def _measured(self, moved: Sequence[TrackShift]) -> dict[int, TrackShift]:
        """The shifts of tracks the last analysed frame matched: the ones the camera followed
        from that frame (any other was not on it)."""
        current = {t.track_id for t in self._tracks if t.misses == 0}
        return {m.track_id: m for m in moved if m.track_id in current}

    def flush(self) -> list[TrackedObject]:
        """End every confirmed track now (shutdown); ids keep counting so none is reused."""
        ended = self.active
        self._tracks = []
        return ended

    def _pairs(
        self, detections: Sequence[Detection], timestamp: float, shifts: dict[int, TrackShift]
    ) -> list[tuple[int, int]]:
        """IoU pairs, then the gate for tracks seen once (`TrackerSettings.new_track_gate`)."""
        predicted = self._predicted(timestamp, shifts)
        pairs = iou_pairs(predicted, detections, self._settings.iou_threshold)
        gate = self._settings.new_track_gate
        if gate is None:
            return pairs
        matched = {ti for ti, _ in pairs}
        free = set(range(len(detections))) - {di for _, di in pairs}
        once = [
            Candidate(ti, t.label, expected_box(t, timestamp, shifts))
            for ti, t in enumerate(self._tracks)
            if t.velocity is None and ti not in matched
        ]
        return pairs + gated_pairs(once, detections, free, gate)

    def _predicted(
        self,
        timestamp: float,
        shifts: dict[int, TrackShift],
        leave_out: set[int] | None = None,
    ) -> list[Candidate]:
        """Each track (but those left out) at its box expected at `timestamp`."""
        return [
            Candidate(ti, t.label, expected_box(t, timestamp, shifts))
            for ti, t in enumerate(self._tracks)
            if leave_out is None or ti not in leave_out
        ]

    def _weak_pairs(
        self,
        matched: set[int],
        weak: Sequence[Detection],
        timestamp: float,
        shifts: dict[int, TrackShift],
    ) -> list[tuple[int, int]]:
        """(track index, weak detection index) pairs for the tracks still unmatched."""
        if not weak:
            return []
        left = self._predicted(timestamp, shifts, matched)
        return iou_pairs(left, weak, self._settings.weak_iou)

    def _appearance_pairs(
        self,
        pairs: list[tuple[int, int]],
        detections: Sequence[Detection],
        appearances: Sequence[Appearance],
        timestamp: float,
    ) -> list[tuple[int, int]]:
        """Pairs for tracks still unmatched that look like a leftover detection nearby."""
        gate = self._settings.appearance_gate
        if gate is None:
            return []
        matched = {ti for ti, _ in pairs}
        free = set(range(len(detections))) - {di for _, di in pairs}
        lost = [
            AppearanceTrack(ti, t.label, (t.box, t.predicted_box(timestamp)), t.appearance)
            for ti, t in enumerate(self._tracks)
            if ti not in matched and not t.stationary and t.appearance is not None
        ]
        least = self._settings.appearance_similarity
        return appearance_pairs(lost, detections, appearances, free, gate, least)

    def _check_timestamp(self, timestamp: float) -> None:
        if not math.isfinite(timestamp):
            raise ValueError(f"timestamp must be a finite number, got {timestamp}")
        last = self._last_timestamp
        if last is not None and timestamp < last:
            # Ageing and velocity assume capture order; a late frame would corrupt both.
            raise ValueError(
                f"frames must arrive in capture order: timestamp {timestamp} is earlier "
                f"than the previous update at {last}"
            )
        self._last_timestamp = timestamp

    def _expire(self, timestamp: float) -> list[TrackedObject]:
        """Moving tracks not matched for max_age_s end."""
        max_age = self._settings.max_age_s
        return self._drop(lambda t: not t.stationary and timestamp - t.last_seen > max_age)

    def _expire_stationary(self, timestamp: float) -> list[TrackedObject]:
        """Stationary tracks end on evidence, not silence: analysed frames (this one too) have
        missed them for max_age_s with no match between."""
        max_age = self._settings.max_age_s
        return self._drop(
            lambda t: (
                t.stationary
                and t.misses > 0
                and t.missed_since is not None
                and timestamp - t.missed_since > max_age
            )
        )

    def _drop(self, stale: Callable[[TrackState], bool]) -> list[TrackedObject]:
        gone = [t for t in self._tracks if stale(t)]
        self._tracks = [t for t in self._tracks if not stale(t)]
        # Tentative tracks were never reported, so their end is not an event either.
        return [t.snapshot() for t in gone if t.confirmed]

    def _start_track(self, det: Detection, timestamp: float) -> TrackState:
        track = TrackState(
            track_id=self._next_id,
            label=det.label,
            box=det.box,
            confidence=det.confidence,
            best_confidence=det.confidence,
            best_box=det.box,
            best_timestamp=timestamp,
            first_seen=timestamp,
            last_seen=timestamp,
            settled_box=det.box,
            settled_at=timestamp,
        )
        if self._settings.confirms(1, 0.0):
            track.confirmed, track.confirmed_at = True, timestamp
        self._next_id += 1
        self._tracks.append(track)  # ids only grow, so the list stays sorted by id
        return track

    def _apply_match(self, track: TrackState, det: Detection, timestamp: float) -> None:
        dt = timestamp - track.last_seen
        if dt > 0:
            self._update_velocity(track, det.box, dt)
        track.box = det.box
        track.confidence = det.confidence
        track.last_seen = timestamp
        track.hits += 1
        if det.confidence > track.best_confidence:
            track.best_confidence = det.confidence
            track.best_box = det.box
            track.best_timestamp = timestamp
        settings = self._settings
        if not track.confirmed and settings.confirms(track.hits, timestamp - track.first_seen):
            track.confirmed, track.confirmed_at = True, timestamp
        track.settle(det.box, timestamp, settings)

    def _update_velocity(self, track: TrackState, box: Box, dt: float) -> None:
        (ox, oy), (nx, ny) = centre(track.box), centre(box)
        measured = ((nx - ox) / dt, (ny - oy) / dt)
        if track.velocity is None:
            # First estimate taken as-is: blending with an assumed zero would halve it and make
            # the next prediction lag exactly when frames are sparse.
            track.velocity = measured
            return
        a = self._settings.velocity_smoothing
        vx, vy = track.velocity
        track.velocity = (a * measured[0] + (1 - a) * vx, a * measured[1] + (1 - a) * vy)
