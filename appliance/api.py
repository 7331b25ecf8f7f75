"""The edge box HTTP API: frame ingest from camera nodes, and read access for UIs and tools."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from appliance.analysis import AnalysisResult
from appliance.api_tensors import add_tensor_ingest
from appliance.camera_settings_api import add_camera_settings
from appliance.edge import EdgeBox
from appliance.ingest import (
    RejectedFrame,
    check_capture_time,
    decode_jpeg,
    parse_meta,
    read_body,
)
from appliance.ingest_reply import (
    analysis_refusals,
    authenticate_camera,
    bearer,
    count_outcome,
    edge_time_ms,
    frame_reply,
    scheduled,
)
from appliance.live_view import add_live_view
from appliance.scheduler import FrameWork, usefulness
from appliance.store import CameraState, StoreError
from cameras.protocol import META_HEADER, CameraStatus, FrameMeta, FrameReply
from cameras.uplink import EDGE_TIME_HEADER

log = logging.getLogger(__name__)


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
    add_tensor_ingest(app, box)
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
        response: Response,
        authorization: str | None = Header(None),
        frame_meta: str | None = Header(None, alias=META_HEADER),
    ) -> FrameReply | JSONResponse:
        camera = authenticate_camera(box, camera_id, authorization)
        meta = parse_meta(frame_meta)
        check_capture_time(meta, time.time(), box.config.max_clock_ahead_s)
        body = await read_body(request, box.config.max_frame_bytes)
        arrived = time.perf_counter()
        box.stats.received(camera_id, len(body))
        box.inputs.observe(camera_id, meta, len(body))
        if meta.plan is not None:
            box.plans.observe(camera_id, meta.plan, time.time())
        work = FrameWork(camera_id, usefulness(meta), partial(_analyse, box, camera_id, body, meta))
        result = await scheduled(box, work, meta.seq)
        if isinstance(result, JSONResponse):
            return result
        response.headers[EDGE_TIME_HEADER] = edge_time_ms(arrived)
        return frame_reply(box, camera, result)


def _add_status(app: FastAPI, box: EdgeBox) -> None:
    @app.post("/api/v1/cameras/{camera_id}/status")
    def post_status(
        camera_id: str, status: CameraStatus, authorization: str | None = Header(None)
    ) -> dict[str, bool]:
        authenticate_camera(box, camera_id, authorization)
        report = CameraState(camera_id, status.state, status.since, status.detail)
        try:
            applied = box.store.set_camera_state(report)
        except StoreError as exc:
            raise HTTPException(503, f"state not stored: {exc}") from None
        log.info("camera %s is %s (%s)", camera_id, status.state, status.detail or "no detail")
        return {"applied": applied}


def _analyse(box: EdgeBox, camera_id: str, body: bytes, meta: FrameMeta) -> AnalysisResult:
    image = decode_jpeg(body)
    with analysis_refusals(camera_id, meta):
        result = box.analyzers[camera_id].analyse(image, meta, len(body))
    count_outcome(box, camera_id, len(body), meta, result)
    return result


def _reader_check(box: EdgeBox) -> Callable[[str | None], None]:
    def check(authorization: str | None = Header(None)) -> None:
        token = box.config.api_token
        if token is not None and not box.token_matches(
            token.get_secret_value(), bearer(authorization)
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
        cameras = box.store.camera_stats()
        plans = box.plans.snapshot(c.id for c in cameras)
        return {
            "edge": {**box.stats.snapshot(), "scheduler": box.scheduler.snapshot()},
            "detector": box.detector.snapshot(),
            "inputs": box.inputs.snapshot(),
            "store": dataclasses.asdict(box.store.totals()),
            "cameras": [{**dataclasses.asdict(c), "plan": plans[c.id]} for c in cameras],
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
