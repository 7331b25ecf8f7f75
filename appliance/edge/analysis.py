"""Per-camera analysis on the edge box: detect, track into events, store in one transaction."""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from appliance.edge.event_book import EventBook
from appliance.edge.snapshots import SnapshotWriter
from appliance.edge.store import DetectionRow, FrameRow, Store, StoreError
from cameras.protocol import FrameMeta
from pipelines.appearance import Appearance, describe_all
from pipelines.box_motion import TrackShift
from pipelines.cascade import EarlyExitCascade, Exit
from pipelines.detectors.yolo_decode import FrameSize
from pipelines.feedback import Gap, HeldAnswer, QueryController, reply_after
from pipelines.frame_difference import SendReason
from pipelines.region_uploads import composite
from pipelines.tracker import IouTracker, TrackerSettings, TrackUpdate
from pipelines.types import Box, Detection
from pipelines.weak_detections import split_weak
from pipelines.zones import Zone

log = logging.getLogger(__name__)

CLOCK_SLACK_S = 2.0
"""How far a camera's stamps may run ahead of the edge's clock and still count as right."""


class StaleFrameError(Exception):
    """A frame captured before the last one analysed for its camera."""


class NeedsFullFrameError(Exception):
    """Regions arrived, but there is no picture of the camera to paste them onto."""


class BadRegionsError(Exception):
    """Regions that do not lie inside the frame."""


@dataclass(frozen=True)
class AnalysisResult:
    frame_id: int | None
    """None when the frame was a duplicate of one already stored."""
    detections: list[Detection]
    track_ids: dict[int, int]
    """Detection index -> track id."""
    active_tracks: int
    moving_tracks: int
    """Tracks that are not stationary (tentative ones too): the camera keeps sending while any
    exist."""
    difference_threshold: float | None = None
    """The threshold the camera should use from now on (None: no advice)."""
    skip_share: float | None = None
    """The share of changed frames the camera should skip from now on (None: no advice)."""
    next_frame_s: float | None = None
    """A track awaits confirmation: the camera should send a frame within this long."""
    exit: Exit | None = None
    """The cascade exit that answered (None for a duplicate frame)."""
    detector_s: float = 0.0
    """Time the detector took (0 for a cache hit)."""
    scanned: float = 0.0
    """Fraction of the frame the detector looked at."""
    needs_picture: bool = False
    """An event has no snapshot yet: the camera should send its next frame as a picture."""
    moving_detections: int = 0
    """Detections not of a stationary object: what the frame showed that a picture can add to."""
    stationary: tuple[Box, ...] = ()
    """Where the objects tracked as stationary are: the camera's detector finding them is no
    news."""

    @property
    def from_cache(self) -> bool:
        """Answered from the result cache, without the detector."""
        return self.exit is Exit.CACHE


@dataclass(frozen=True)
class LatestView:
    """The latest picture of a camera and what was found on it (for the live view)."""

    version: int
    """Counts analysed frames: a new value means a new picture."""
    image: npt.NDArray[np.uint8]
    """Shared, never changed in place: copy before drawing on it."""
    detections: list[Detection]
    track_ids: dict[int, int]
    zones: list[Zone]


class CameraAnalyzer:
    """Owns one camera's tracker; frames of one camera are analysed one at a time, in order."""

    def __init__(
        self,
        camera_id: str,
        cascade: EarlyExitCascade,
        store: Store,
        tracker_settings: TrackerSettings,
        snapshots: SnapshotWriter | None = None,
        controller: QueryController | None = None,
        zones: Sequence[Zone] = (),
        reported_from: float | None = None,
    ) -> None:
        """`reported_from`: the detector's own threshold when it runs lower for the tracker
        (`pipelines.weak_detections`); None: every detection it returns is reported."""
        self.camera_id = camera_id
        self._reported_from = reported_from
        self.cascade = cascade
        self.store = store
        self.snapshots = snapshots
        self._tracker = IouTracker(tracker_settings)
        self._held = HeldAnswer()
        self._controller = controller
        self.zones = list(zones)
        self._book = EventBook(camera_id, snapshots)
        self._lock = threading.Lock()
        self._last: tuple[int, float] | None = None
        self._dropped: int | None = None
        """The camera's count of chosen frames it could not upload, at the last frame."""
        self._canvas: npt.NDArray[np.uint8] | None = None
        """The latest full picture of the scene: regions are pasted onto it."""
        self._view_lock = threading.Lock()
        self._view: LatestView | None = None

    def analyse(
        self, image: npt.NDArray[np.uint8], meta: FrameMeta, jpeg_bytes: int
    ) -> AnalysisResult:
        with self._lock:
            known = self._seen(meta)
            if known is not None:
                return known
            image = self._picture(image, meta)
            # The camera's own model found the held answer stale on this frame: where the
            # regions exit's bet (little changed, keep the detections elsewhere) is weakest.
            whole = meta.send_reason == SendReason.STALE.value
            answer = self.cascade.run(image, meta.captured_at, whole)
            height, width = image.shape[:2]
            result = self._record(
                answer.detections, meta, FrameSize(width, height), jpeg_bytes, image
            )
            self._canvas = image
            self._show(image, result.detections, result.track_ids)
            self.cascade.commit(answer)
            return replace(
                result, exit=answer.exit, detector_s=answer.detector_s, scanned=answer.scanned
            )

    def analyse_detections(
        self,
        detections: list[Detection],
        meta: FrameMeta,
        size: FrameSize,
        body_bytes: int,
        detector_s: float,
    ) -> AnalysisResult:
        """A frame the edge has no picture of (Edgent: its model's tail ran on tensors): its
        detections, in the pixels of a frame of `size`, are tracked and stored as a frame's.
        Events are kept; their snapshots come only from frames with a picture."""
        with self._lock:
            known = self._seen(meta)
            if known is not None:
                return known
            result = self._record(detections, meta, size, body_bytes, None)
            return replace(result, exit=Exit.SPLIT, detector_s=detector_s, scanned=1.0)

    def _seen(self, meta: FrameMeta) -> AnalysisResult | None:
        """The answer to a frame stored already (a resend); refuses one older than the last,
        unless the camera's clock stepped back (then the camera's timeline starts again)."""
        if self._last is not None and (meta.seq, meta.captured_at) == self._last:
            return self._duplicate()
        if self._last is not None and meta.captured_at < self._last[1]:
            if not _clock_stepped_back(self._last, meta, time.time()):
                raise StaleFrameError(
                    f"frame {meta.seq} was captured before the last analysed frame of "
                    f"camera {self.camera_id}"
                )
            log.warning(
                "camera %s: its clock stepped back %.1f s; open events ended, tracking restarts",
                self.camera_id,
                self._last[1] - meta.captured_at,
            )
            self._end_all()
        return None

    def _duplicate(self) -> AnalysisResult:
        return AnalysisResult(None, [], {}, len(self._tracker.active), self._tracker.moving)

    def _end_all(self) -> int:
        """End every open event and start the camera's timeline afresh; how many ended. Nothing
        changes if the events cannot be stored (StoreError)."""
        ended = self._tracker.active
        self.store.save_events([self._book.row(t, ended=True) for t in ended])
        self._book.forget_except([])
        self._tracker = IouTracker(self._tracker.settings)
        self._held = HeldAnswer()
        self._last = None
        self._dropped = None
        return len(ended)

    def _record(
        self,
        detections: list[Detection],
        meta: FrameMeta,
        size: FrameSize,
        body_bytes: int,
        image: npt.NDArray[np.uint8] | None,
    ) -> AnalysisResult:
        """Track and store one frame's detections in one transaction (or change nothing)."""
        # A frame that is not stored must not have moved the tracks either.
        saved = copy.deepcopy((self._tracker, self._held, self._book.events, self._controller))
        split = split_weak(detections, self._reported_from)
        try:
            appearances = self._appearances(image, split.reported)
            update, held = self._held.update(
                self._tracker,
                split.reported,
                meta.captured_at,
                appearances,
                split.weak,
                self._moved(meta),
            )
            if image is not None:
                self._book.keep_best_crops(image, update, meta.captured_at)
            self._book.note_zones(update, meta.captured_at, self.zones)
            frame_id = self.store.record_analysis(
                self._frame_row(size, meta, body_bytes),
                [_detection_row(d, update.matches.get(i)) for i, d in enumerate(split.reported)],
                self._book.rows(update, meta.captured_at),
            )
        except Exception:
            self._book.discarded()
            self._tracker, self._held, self._book.events, self._controller = saved
            raise
        if frame_id is None:
            # Stored already (resent after the edge restarted): it must not count twice.
            self._book.discarded()
            self._tracker, self._held, self._book.events, self._controller = saved
            return self._duplicate()
        self._book.committed()
        self._book.forget_except(update.tracks)
        gap = Gap() if self._last is None else _gap(self._last, meta, self._dropped)
        self._last = (meta.seq, meta.captured_at)
        self._dropped = meta.dropped_busy
        reply = reply_after(self._tracker, self._controller, held, gap)  # as every replay does
        active = [t for t in update.tracks if t.confirmed]
        return AnalysisResult(
            frame_id,
            split.reported,
            update.matches,
            len(active),
            reply.moving_tracks,
            reply.threshold,
            reply.skip,
            reply.next_frame_s,
            needs_picture=self._book.needs_picture(active),
            moving_detections=_moving_detections(update),
            stationary=reply.stationary,
        )

    def _moved(self, meta: FrameMeta) -> tuple[TrackShift, ...]:
        """The camera's shifts of the tracks, if measured from the last frame analysed here."""
        motion = meta.motion
        if motion is None or self._last is None or motion.origin_seq != self._last[0]:
            return ()
        return motion.shifts()

    def _appearances(
        self, image: npt.NDArray[np.uint8] | None, detections: list[Detection]
    ) -> list[Appearance] | None:
        """Descriptors for the tracker's appearance gate, from the pixels analysed (none for a
        frame without a picture, or with the gate off: the tracker then uses boxes only)."""
        if image is None or self._tracker.settings.appearance_gate is None:
            return None
        return describe_all(image, detections)

    def _show(
        self, image: npt.NDArray[np.uint8], detections: list[Detection], tracks: dict[int, int]
    ) -> None:
        with self._view_lock:
            version = 1 if self._view is None else self._view.version + 1
            self._view = LatestView(version, image, detections, dict(tracks), list(self.zones))

    def latest_view(self) -> LatestView | None:
        """The latest analysed picture; safe to call from any thread, never waits for analysis."""
        with self._view_lock:
            return self._view

    def set_zones(self, zones: Sequence[Zone]) -> None:
        """Zones from now on (events already open keep the zones they visited)."""
        with self._lock:
            self.zones = list(zones)

    @property
    def controller(self) -> QueryController | None:
        return self._controller

    def set_controller(self, controller: QueryController | None) -> None:
        """Adapt the camera's threshold with `controller` from now on (None: fixed)."""
        with self._lock:
            self._controller = controller

    def _picture(self, image: npt.NDArray[np.uint8], meta: FrameMeta) -> npt.NDArray[np.uint8]:
        """The frame itself, or its regions pasted onto the last picture of the scene."""
        if not meta.regions:
            return image
        if self._canvas is None or self._canvas.shape != image.shape:
            raise NeedsFullFrameError(
                f"camera {self.camera_id} sent regions, but the edge has no full frame of it"
            )
        height, width = image.shape[:2]
        boxes = [r.box() for r in meta.regions]
        if any(not (0 <= b.x1 < b.x2 <= width and 0 <= b.y1 < b.y2 <= height) for b in boxes):
            raise BadRegionsError(f"regions must lie inside the {width}x{height} frame")
        return composite(self._canvas, image, boxes)

    def close(self) -> int:
        """End every open event (shutdown); returns how many were ended. A store that fails
        leaves them open (they end at the next start's first frames) and shutdown goes on."""
        with self._lock:
            try:
                return self._end_all()
            except StoreError as exc:
                log.error("camera %s: open events not ended at shutdown: %s", self.camera_id, exc)
                return 0

    def _frame_row(self, size: FrameSize, meta: FrameMeta, body_bytes: int) -> FrameRow:
        return FrameRow(
            camera_id=self.camera_id,
            seq=meta.seq,
            captured_at=meta.captured_at,
            received_at=time.time(),
            jpeg_bytes=body_bytes,
            width=size.width,
            height=size.height,
            filter_score=meta.filter_score,
        )


def _clock_stepped_back(last: tuple[int, float], meta: FrameMeta, now: float) -> bool:
    """Whether a frame stamped before the last one comes from a camera clock that was set back,
    not late: a later frame of the same run (a greater seq), or a frame stamped about now
    after one stamped ahead of the edge's clock (the camera restarted with a corrected clock).
    Refusing it would lock the camera out until real time passed its wrong stamps."""
    seq, captured_at = last
    return meta.seq > seq or (
        captured_at > now + CLOCK_SLACK_S and meta.captured_at <= now + CLOCK_SLACK_S
    )


def _gap(last: tuple[int, float], meta: FrameMeta, dropped_before: int | None) -> Gap:
    """Frames and seconds since the frame analysed before (a restarted camera counts from 0),
    whether the camera dropped frames it chose meanwhile (its count of them grew), and whether
    it said where the tracked objects went."""
    seq, captured_at = last
    dropped = meta.dropped_busy
    congested = dropped is not None and dropped_before is not None and dropped > dropped_before
    return Gap(
        frames=max(1, meta.seq - seq),
        seconds=max(0.0, meta.captured_at - captured_at),
        congested=congested,
        followed=meta.motion is not None,
    )


def _detection_row(detection: Detection, track_id: int | None) -> DetectionRow:
    box = detection.box
    return DetectionRow(
        label=detection.label,
        confidence=detection.confidence,
        x1=box.x1,
        y1=box.y1,
        x2=box.x2,
        y2=box.y2,
        track_id=track_id,
    )


def _moving_detections(update: TrackUpdate) -> int:
    """Detections whose track is not stationary (a parked car is no reason to send pictures)."""
    stationary = {t.track_id for t in update.tracks if t.stationary}
    return sum(1 for track_id in update.matches.values() if track_id not in stationary)
