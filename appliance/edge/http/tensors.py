"""`POST /api/v1/cameras/{id}/tensors`: a frame a camera node analysed collaboratively (Edgent).

The body is the tensor message of the head the camera ran (`cameras/tensor_meta.py`); the edge
runs the tail on its analysis workers, reads the output into detections in frame pixels and
feeds them to the camera's tracker and store like a frame's. The reply is the frame's reply.
"""

from __future__ import annotations

import time
from functools import partial

from fastapi import FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse

from appliance.edge.analysis import AnalysisResult
from appliance.edge.box import EdgeBox
from appliance.edge.http.auth import authenticate_camera
from appliance.edge.http.frame_checks import (
    RejectedFrame,
    check_capture_time,
    parse_header,
    read_body,
)
from appliance.edge.http.uploads import (
    analysis_refusals,
    count_arrival,
    count_outcome,
    frame_reply,
    scheduled,
    timing_headers,
)
from appliance.edge.scheduler import FrameWork, usefulness
from cameras.protocol import FrameReply
from cameras.tensor_meta import TENSOR_META_HEADER, TensorMeta
from pipelines.detectors.yolo_decode import FrameSize


def add_tensor_ingest(app: FastAPI, box: EdgeBox) -> None:
    @app.post("/api/v1/cameras/{camera_id}/tensors", response_model=FrameReply)
    async def post_tensors(
        camera_id: str,
        request: Request,
        response: Response,
        authorization: str | None = Header(None),
        tensor_meta: str | None = Header(None, alias=TENSOR_META_HEADER),
    ) -> FrameReply | JSONResponse:
        camera = authenticate_camera(box, camera_id, authorization)
        meta = parse_tensor_meta(tensor_meta)
        check_capture_time(meta, time.time(), box.config.max_clock_ahead_s)
        _check_exit(box, meta)
        body = await _read_message(request, box)
        arrived = time.perf_counter()
        count_arrival(box, camera_id, meta, len(body))
        run = partial(_analyse_tensors, box, camera_id, body, meta)
        result = await scheduled(box, FrameWork(camera_id, usefulness(meta), run), meta.seq)
        if isinstance(result, JSONResponse):
            return result
        timing_headers(response, arrived, result)
        return frame_reply(box, camera, result)


def parse_tensor_meta(header: str | None) -> TensorMeta:
    return parse_header(header, TensorMeta, TENSOR_META_HEADER)


def _check_exit(box: EdgeBox, meta: TensorMeta) -> None:
    if box.tails is None:
        raise RejectedFrame(
            404, "edgent_off", "this edge box runs no split models (edgent.enabled is false)"
        )
    box.tails.check(meta)


async def _read_message(request: Request, box: EdgeBox) -> bytes:
    limit = box.tails.max_bytes if box.tails is not None else 0
    try:
        return await read_body(request, limit)
    except RejectedFrame as exc:
        if exc.reason == "empty":
            raise RejectedFrame(400, "empty", "empty body: expected a tensor message") from None
        raise


def _analyse_tensors(box: EdgeBox, camera_id: str, body: bytes, meta: TensorMeta) -> AnalysisResult:
    assert box.tails is not None  # checked before the body was read
    answer = box.tails.answer(meta, body)
    size = FrameSize(meta.frame_width, meta.frame_height)
    with analysis_refusals(camera_id, meta):
        result = box.analyzers[camera_id].analyse_detections(
            answer.detections, meta, size, len(body), answer.seconds
        )
    count_outcome(box, camera_id, len(body), meta, result)
    return result
