"""The edge box HTTP API: frame ingest from camera nodes, and read access for UIs and tools."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from appliance.analysis import (
    AnalysisResult,
    BadRegionsError,
    NeedsFullFrameError,
    StaleFrameError,
)
from appliance.camera_settings_api import add_camera_settings
from appliance.config import EdgeCameraConfig
from appliance.edge import EdgeBox
from appliance.ingest import (
    RejectedFrame,
    check_capture_time,
    decode_jpeg,
    parse_meta,
    read_body,
)
from appliance.live_view import add_live_view
from appliance.scheduler import FrameWork, ShedError, usefulness
from appliance.store import CameraState, StoreError
from cameras.protocol import (
    META_HEADER,
    CameraStatus,
    EdgeFeedback,
    FrameMeta,
    FrameReply,
    WireBox,
    WireDetection,
)

log = logging.getLogger(__name__)


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def create_app(box: EdgeBox, close_on_shutdown: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if close_on_shutdown:
            box.close()

    app = FastAPI(title="Smart-camera edge appliance", version="0.1.0", lifespan=lifespan)

    @app.exception_handler(RejectedFrame)
    async def _rejected(_: Request, exc: RejectedFrame) -> JSONResponse:
        box.stats.reject(exc.reason)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    _add_ingest(app, box)
    _add_status(app, box)
    _add_reads(app, box, _reader_check(box))
    add_camera_settings(app, box, _reader_check(box))
    add_live_view(app, box, _reader_check(box))
    return app


def _add_ingest(app: FastAPI, box: EdgeBox) -> None:
    @app.post("/api/v1/cameras/{camera_id}/frames", response_model=FrameReply)
    async def post_frame(
        camera_id: str,
        request: Request,
        authorization: str | None = Header(None),
        frame_meta: str | None = Header(None, alias=META_HEADER),
    ) -> FrameReply | JSONResponse:
        camera = _authenticate_camera(box, camera_id, authorization)
        fixed = camera.difference_threshold
        meta = parse_meta(frame_meta)
        check_capture_time(meta, time.time(), box.config.max_clock_ahead_s)
        body = await read_body(request, box.config.max_frame_bytes)
        box.stats.received(camera_id, len(body))
        box.inputs.observe(camera_id, meta, len(body))
        work = FrameWork(camera_id, usefulness(meta), partial(_analyse, box, camera_id, body, meta))
        try:
            result = await asyncio.wrap_future(box.scheduler.submit(work))
        except ShedError as exc:
            detail = f"frame {meta.seq} not analysed ({exc.reason}): {exc}"
            return JSONResponse({"detail": detail, "shed": exc.reason}, status_code=503)
        return FrameReply(
            frame_id=result.frame_id,
            detections=[
                WireDetection(
                    label=d.label,
                    confidence=d.confidence,
                    box=WireBox(x1=d.box.x1, y1=d.box.y1, x2=d.box.x2, y2=d.box.y2),
                    track_id=result.track_ids.get(i),
                )
                for i, d in enumerate(result.detections)
            ],
            active_tracks=result.active_tracks,
            feedback=EdgeFeedback(
                difference_threshold=result.difference_threshold if fixed is None else fixed,
                budget_bytes_per_s=box.site_uplink.budget(camera_id),
            ),
        )


def _add_status(app: FastAPI, box: EdgeBox) -> None:
    @app.post("/api/v1/cameras/{camera_id}/status")
    def post_status(
        camera_id: str, status: CameraStatus, authorization: str | None = Header(None)
    ) -> dict[str, bool]:
        _authenticate_camera(box, camera_id, authorization)
        report = CameraState(camera_id, status.state, status.since, status.detail)
        try:
            applied = box.store.set_camera_state(report)
        except StoreError as exc:
            raise HTTPException(503, f"state not stored: {exc}") from None
        log.info("camera %s is %s (%s)", camera_id, status.state, status.detail or "no detail")
        return {"applied": applied}


def _authenticate_camera(
    box: EdgeBox, camera_id: str, authorization: str | None
) -> EdgeCameraConfig:
    camera = box.camera(camera_id)
    if camera is None:
        raise RejectedFrame(404, "unknown_camera", f"unknown camera {camera_id!r}")
    if not box.token_matches(camera.token.get_secret_value(), _bearer(authorization)):
        raise RejectedFrame(401, "unauthorised", "missing or wrong camera token")
    return camera


def _analyse(box: EdgeBox, camera_id: str, body: bytes, meta: FrameMeta) -> AnalysisResult:
    image = decode_jpeg(body)
    try:
        result = box.analyzers[camera_id].analyse(image, meta, len(body))
    except StaleFrameError as exc:
        raise RejectedFrame(409, "stale", str(exc)) from None
    except NeedsFullFrameError as exc:
        raise RejectedFrame(428, "needs_full_frame", str(exc)) from None
    except BadRegionsError as exc:
        raise RejectedFrame(422, "bad_regions", str(exc)) from None
    except StoreError as exc:
        log.error("frame %d of camera %s not stored: %s", meta.seq, camera_id, exc)
        raise RejectedFrame(503, "store_error", f"frame not stored: {exc}") from None
    if result.exit is None:
        box.stats.duplicate(camera_id)
    else:
        # A file replayed faster than real time is stamped ahead of the clock: count it as 0.
        latency = max(0.0, time.time() - meta.captured_at)
        box.stats.analysed(camera_id, result.exit.value, result.detector_s, result.scanned, latency)
    box.site_uplink.observe(
        camera_id, len(body), meta.demand_bytes_per_s, len(result.detections), meta.captured_at
    )
    return result


def _reader_check(box: EdgeBox) -> Callable[[str | None], None]:
    def check(authorization: str | None = Header(None)) -> None:
        token = box.config.api_token
        if token is not None and not box.token_matches(
            token.get_secret_value(), _bearer(authorization)
        ):
            raise HTTPException(401, "missing or wrong API token")

    return check


def _add_reads(app: FastAPI, box: EdgeBox, reader: Callable[[str | None], None]) -> None:
    guarded = [Depends(reader)]

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/stats", dependencies=guarded)
    def stats() -> dict[str, Any]:
        return {
            "edge": {**box.stats.snapshot(), "scheduler": box.scheduler.snapshot()},
            "inputs": box.inputs.snapshot(),
            "store": dataclasses.asdict(box.store.totals()),
            "cameras": [dataclasses.asdict(c) for c in box.store.camera_stats()],
            "uplink": {
                "capacity_bytes_per_s": box.site_uplink.capacity,
                "cameras": box.site_uplink.snapshot(),
            },
            "cloud": box.cloud.snapshot() if box.cloud else {"enabled": False},
        }

    @app.get("/api/v1/cameras/{camera_id}/counts", dependencies=guarded)
    def counts(
        camera_id: str,
        since: float | None = None,
        until: float | None = None,
        bucket_s: int = Query(60, ge=1, le=86_400),
    ) -> list[dict[str, Any]]:
        """Objects per analysed frame over time (default: the last hour, by minute)."""
        if box.camera(camera_id) is None:
            raise HTTPException(404, f"unknown camera {camera_id!r}")
        end = time.time() if until is None else until
        start = end - 3600 if since is None else since
        rows = box.store.counts(camera_id, start, end, bucket_s)
        return [dataclasses.asdict(r) for r in rows]

    @app.get("/api/v1/events", dependencies=guarded)
    def events(
        camera: str | None = None,
        label: str | None = None,
        since: float | None = None,
        zone: str | None = None,
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[dict[str, Any]]:
        rows = box.store.list_events(
            camera_id=camera, label=label, since=since, limit=limit, zone=zone
        )
        return [dataclasses.asdict(r) for r in rows]

    @app.get("/api/v1/events/{event_id}", dependencies=guarded)
    def event(event_id: str) -> dict[str, Any]:
        row = box.store.get_event(event_id)
        if row is None:
            raise HTTPException(404, f"unknown event {event_id!r}")
        return dataclasses.asdict(row)

    @app.get("/api/v1/events/{event_id}/snapshot.jpg", dependencies=guarded)
    def snapshot(event_id: str) -> FileResponse:
        row = box.store.get_event(event_id)
        if row is None or row.snapshot is None or box.snapshots is None:
            raise HTTPException(404, f"no snapshot for event {event_id!r}")
        return FileResponse(box.snapshots.path(row.snapshot), media_type="image/jpeg")
