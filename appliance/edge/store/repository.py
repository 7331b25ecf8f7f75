"""The store: every read and write the appliance does, each in its own transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import queries
from .convert import detection_model, detection_row, event_row, frame_model
from .database import Database
from .errors import StoreError
from .hooks import StoreHook
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
from .schema import Camera, Detection, Event, Frame
from .sessions import read_session, write_session

logger = logging.getLogger(__name__)


class Store:
    """Repository over a Database; takes and returns the frozen rows of ``rows.py`` only."""

    def __init__(
        self, db: Database, clock: Callable[[], float] = time.time, hook: StoreHook | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._hook = hook

    def ensure_cameras(self, cameras: Sequence[CameraRow]) -> None:
        """Insert missing cameras and rename existing ones; never deletes."""
        wanted = {cam.id: cam.name for cam in cameras}
        with self._write("ensure cameras") as session:
            existing = {
                c.id: c for c in session.scalars(select(Camera).where(Camera.id.in_(wanted)))
            }
            for cam_id, name in wanted.items():
                if cam_id not in existing:
                    session.add(Camera(id=cam_id, name=name, created_at=self._clock()))
                    logger.info("camera %s registered", cam_id)
                elif existing[cam_id].name != name:
                    existing[cam_id].name = name

    def record_analysis(
        self, frame: FrameRow, detections: Sequence[DetectionRow], events: Sequence[EventRow]
    ) -> int | None:
        """Store one analysed frame atomically; None (nothing written) for a duplicate upload."""
        what = f"record frame {frame.camera_id}/{frame.seq}"
        try:
            with self._write(what) as session:
                if queries.frame_id(session, frame) is not None:
                    logger.debug("duplicate frame %s/%s ignored", frame.camera_id, frame.seq)
                    return None
                queries.require_cameras(session, {frame.camera_id, *(e.camera_id for e in events)})
                if self._hook is not None:
                    self._hook.on_analysis(session, frame, events)
                model = frame_model(frame, len(detections))
                session.add(model)
                session.flush()
                session.add_all(detection_model(d, model.id, frame.camera_id) for d in detections)
                queries.upsert_events(session, events)
                queries.bump_camera(session, frame)
                return model.id
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError) and self._frame_stored(frame):
                logger.debug("frame %s/%s stored concurrently", frame.camera_id, frame.seq)
                return None
            raise

    def set_camera_state(self, report: CameraState) -> bool:
        """Record a camera's reported health; an older report than the stored one is ignored."""
        with self._write(f"set state of camera {report.camera_id}") as session:
            camera = session.get(Camera, report.camera_id)
            if camera is None:
                raise StoreError(f"unknown camera(s): {report.camera_id}")
            if camera.state_since is not None and camera.state_since > report.since:
                return False
            camera.state = report.state
            camera.state_since = report.since
            camera.state_detail = report.detail
            if self._hook is not None:
                self._hook.on_camera_state(session, report)
            return True

    def save_events(self, events: Sequence[EventRow]) -> None:
        """Insert or update events by id in one transaction."""
        with self._write("save events") as session:
            queries.require_cameras(session, {e.camera_id for e in events})
            if self._hook is not None:
                self._hook.on_events(session, events)
            queries.upsert_events(session, events)

    def close_hook(self) -> None:
        """Let the hook write what it still holds (the edge is stopping)."""
        if self._hook is not None:
            with self._write("close store hook") as session:
                self._hook.on_close(session)

    def list_events(
        self,
        camera_id: str | None = None,
        label: str | None = None,
        since: float | None = None,
        limit: int = 100,
        zone: str | None = None,
    ) -> list[EventRow]:
        """Events newest started first; ``since`` keeps events with started_at >= since."""
        stmt = select(Event)
        if camera_id is not None:
            stmt = stmt.where(Event.camera_id == camera_id)
        if label is not None:
            stmt = stmt.where(Event.label == label)
        if since is not None:
            stmt = stmt.where(Event.started_at >= since)
        if zone is not None:
            stmt = stmt.where(Event.zones.contains(f",{zone},", autoescape=True))
        stmt = stmt.order_by(Event.started_at.desc(), Event.id.desc()).limit(max(limit, 0))
        with self._read("list events") as session:
            return [event_row(e) for e in session.scalars(stmt)]

    def get_event(self, event_id: str) -> EventRow | None:
        with self._read("get event") as session:
            model = session.get(Event, event_id)
            return None if model is None else event_row(model)

    def camera_stats(self) -> list[CameraStats]:
        """Per-camera counters, ordered by camera id."""
        detections = queries.count_for_camera(Detection.id, Detection.camera_id)
        events = queries.count_for_camera(Event.id, Event.camera_id)
        stmt = select(
            Camera.id,
            Camera.name,
            Camera.frames_received,
            Camera.last_frame_at,
            detections.label("detections"),
            events.label("events"),
            Camera.state,
            Camera.state_since,
            Camera.state_detail,
        ).order_by(Camera.id)
        with self._read("camera stats") as session:
            return [
                CameraStats(
                    id=r.id,
                    name=r.name,
                    frames_received=r.frames_received,
                    last_frame_at=r.last_frame_at,
                    detections=r.detections or 0,
                    events=r.events or 0,
                    state=r.state,
                    state_since=r.state_since,
                    state_detail=r.state_detail,
                )
                for r in session.execute(stmt)
            ]

    def counts(
        self, camera_id: str, since: float, until: float, bucket_s: int
    ) -> list[CountBucket]:
        """Objects per analysed frame of one camera, in buckets of `bucket_s` seconds."""
        # Whole-second timestamps and integer division: the same SQL on SQLite and PostgreSQL.
        bucket = cast(Frame.captured_at, BigInteger) // bucket_s
        stmt = (
            select(
                bucket.label("bucket"),
                func.count(Frame.id).label("frames"),
                func.avg(Frame.detection_count).label("mean"),
                func.max(Frame.detection_count).label("max"),
            )
            .where(
                Frame.camera_id == camera_id,
                Frame.captured_at >= since,
                Frame.captured_at < until,
            )
            .group_by(bucket)
            .order_by(bucket)
        )
        with self._read("counts") as session:
            return [
                CountBucket(float(r.bucket * bucket_s), r.frames, float(r.mean), r.max)
                for r in session.execute(stmt)
            ]

    def totals(self) -> StoreTotals:
        with self._read("totals") as session:
            size = queries.database_bytes(session)
            return StoreTotals(
                cameras=queries.count(session, Camera),
                frames=queries.count(session, Frame),
                detections=queries.count(session, Detection),
                events=queries.count(session, Event),
                database_mb=None if size is None else round(size / 1e6, 2),
            )

    def database_bytes(self) -> int | None:
        """The database on disk (`StoreTotals.database_mb`), without counting rows."""
        with self._read("database size") as session:
            return queries.database_bytes(session)

    def detections_for_frame(self, camera_id: str, seq: int) -> list[DetectionRow]:
        """Detections of the latest-captured frame with this seq (a camera restart reuses seqs)."""
        frame_id = (
            select(Frame.id)
            .where(Frame.camera_id == camera_id, Frame.seq == seq)
            .order_by(Frame.captured_at.desc(), Frame.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        stmt = select(Detection).where(Detection.frame_id == frame_id).order_by(Detection.id)
        with self._read("detections for frame") as session:
            return [detection_row(d) for d in session.scalars(stmt)]

    def _frame_stored(self, frame: FrameRow) -> bool:
        with self._read("check frame") as session:
            return queries.frame_id(session, frame) is not None

    def _write(self, what: str) -> AbstractContextManager[Session]:
        """A transaction that commits on success and rolls back on any error."""
        return write_session(self._db, what)

    def _read(self, what: str) -> AbstractContextManager[Session]:
        return read_session(self._db, what)
