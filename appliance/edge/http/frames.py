"""Camera nodes' uploads: `POST .../frames` (a JPEG and its metadata, analysed through the
scheduler) and `POST .../status` (the node's source state)."""

from __future__ import annotations

import logging
import time
from functools import partial

from fastapi import FastAPI, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from appliance.edge.analysis import AnalysisResult
from appliance.edge.box import EdgeBox
from appliance.edge.camera_settings import paint_privacy
from appliance.edge.http.auth import authenticate_camera
from appliance.edge.http.frame_checks import (
    check_capture_time,
    check_header,
    decode_jpeg,
    parse_json,
    parse_meta,
    read_body,
    store_refusal,
)
from appliance.edge.http.json_bodies import json_body
from appliance.edge.http.uploads import (
    analysis_refusals,
    count_arrival,
    count_outcome,
    frame_reply,
    scheduled,
    timing_headers,
)
from appliance.edge.scheduler import FrameWork, usefulness
from appliance.edge.store import CameraState, StoreError
from cameras.protocol import META_HEADER, CameraStatus, FrameMeta, FrameReply

log = logging.getLogger(__name__)


def add_frame_ingest(app: FastAPI, box: EdgeBox) -> None:
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
        check_header(body, camera.max_frame_size)
        arrived = time.perf_counter()
        count_arrival(box, camera_id, meta, len(body))
        work = FrameWork(camera_id, usefulness(meta), partial(_analyse, box, camera_id, body, meta))
        result = await scheduled(box, work, meta.seq)
        if isinstance(result, JSONResponse):
            return result
        timing_headers(response, arrived, result)
        return frame_reply(box, camera, result)


def add_status(app: FastAPI, box: EdgeBox) -> None:
    @app.post("/api/v1/cameras/{camera_id}/status", openapi_extra=json_body(CameraStatus))
    async def post_status(
        camera_id: str, request: Request, authorization: str | None = Header(None)
    ) -> dict[str, bool]:
        # The camera's token first, then its (capped) body: nobody else makes the box parse.
        authenticate_camera(box, camera_id, authorization)
        body = await request.body()
        status = parse_json(body, CameraStatus, "status report", "bad_status")
        return await run_in_threadpool(_store_status, box, camera_id, status)


def _store_status(box: EdgeBox, camera_id: str, status: CameraStatus) -> dict[str, bool]:
    report = CameraState(camera_id, status.state, status.since, status.detail)
    try:
        applied = box.store.set_camera_state(report)
    except StoreError as exc:
        raise store_refusal("camera state", exc) from None
    log.info("camera %s is %s (%s)", camera_id, status.state, status.detail or "no detail")
    return {"applied": applied}


def _analyse(box: EdgeBox, camera_id: str, body: bytes, meta: FrameMeta) -> AnalysisResult:
    image = paint_privacy(box, camera_id, decode_jpeg(body))
    with analysis_refusals(camera_id, meta):
        result = box.analyzers[camera_id].analyse(image, meta, len(body))
    count_outcome(box, camera_id, len(body), meta, result)
    return result
