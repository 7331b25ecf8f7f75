"""What every camera upload shares on the edge, whatever its body (a JPEG frame or Edgent
tensors): mapping analysis failures to clear refusals, counting the outcome, and the
`FrameReply` with the camera's feedback."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Response
from fastapi.responses import JSONResponse

from appliance.edge.analysis import (
    AnalysisResult,
    BadRegionsError,
    NeedsFullFrameError,
    StaleFrameError,
)
from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeCameraConfig
from appliance.edge.http.frame_checks import RejectedFrame, store_refusal
from appliance.edge.scheduler import FrameWork, ShedError
from appliance.edge.store import StoreError
from cameras.edge_client import EDGE_TIME_HEADER, MODEL_TIME_HEADER
from cameras.protocol import (
    MAX_ITEMS,
    EdgeFeedback,
    FrameMeta,
    FrameReply,
    WireBox,
    WireDetection,
)
from cameras.tensor_meta import TensorMeta

log = logging.getLogger(__name__)


def count_arrival(box: EdgeBox, camera_id: str, meta: FrameMeta | TensorMeta, nbytes: int) -> None:
    """An accepted upload, before analysis: received bytes, the camera's input rates, its plan."""
    box.stats.received(camera_id, nbytes, meta.send_reason)
    box.inputs.observe(camera_id, meta, nbytes)
    if meta.plan is not None:
        box.plans.observe(camera_id, meta.plan, time.time())


@contextmanager
def analysis_refusals(camera_id: str, meta: FrameMeta) -> Iterator[None]:
    """Analysis failures as the refusals the camera is answered with (nothing was stored)."""
    try:
        yield
    except StaleFrameError as exc:
        raise RejectedFrame(409, "stale", str(exc)) from None
    except NeedsFullFrameError as exc:
        raise RejectedFrame(428, "needs_full_frame", str(exc)) from None
    except BadRegionsError as exc:
        raise RejectedFrame(422, "bad_regions", str(exc)) from None
    except StoreError as exc:
        raise store_refusal(f"frame {meta.seq} of camera {camera_id}", exc) from None


def count_outcome(
    box: EdgeBox, camera_id: str, body_bytes: int, meta: FrameMeta, result: AnalysisResult
) -> None:
    """Stats (exit, latency) and the site uplink's view of the camera, after a stored frame."""
    if result.exit is None:
        box.stats.duplicate(camera_id)
    else:
        # A file replayed faster than real time is stamped ahead of the clock: count it as 0.
        latency = max(0.0, time.time() - meta.captured_at)
        box.stats.analysed(camera_id, result.exit.value, result.detector_s, result.scanned, latency)
    box.site_uplink.observe(
        camera_id, body_bytes, meta.demand_bytes_per_s, result.moving_detections, meta.captured_at
    )


def frame_reply(box: EdgeBox, camera: EdgeCameraConfig, result: AnalysisResult) -> FrameReply:
    fixed = camera.difference_threshold
    control = box.analyzers[camera.id].controller
    quality_for = box.config.filter_control.quality_for
    return FrameReply(
        frame_id=result.frame_id,
        detections=[
            WireDetection.of(d, result.track_ids.get(i)) for i, d in enumerate(result.detections)
        ],
        active_tracks=result.active_tracks,
        moving_tracks=result.moving_tracks,
        stationary=[WireBox.of(b) for b in result.stationary[:MAX_ITEMS]],
        feedback=EdgeFeedback(
            difference_threshold=result.difference_threshold if fixed is None else fixed,
            skip_share=result.skip_share if fixed is None else 0.0,
            next_frame_s=result.next_frame_s,
            budget_bytes_per_s=box.site_uplink.budget(camera.id),
            # Without query control (a fixed threshold): no query, the camera's own quality.
            jpeg_quality=None if control is None else quality_for(control.query),
            query=None if control is None else control.query,
            accuracy_target=None if control is None else control.settings.accuracy_target,
            send_picture=result.needs_picture,
            masks=camera.masks,
        ),
    )


def timing_headers(response: Response, since: float, result: AnalysisResult) -> None:
    """The edge's time since the body arrived at `since` (time.perf_counter), and its model's
    part of it, for the camera's transfer measure and Edgent's edge load."""
    response.headers[EDGE_TIME_HEADER] = f"{(time.perf_counter() - since) * 1000.0:.1f}"
    response.headers[MODEL_TIME_HEADER] = f"{result.detector_s * 1000.0:.1f}"


async def scheduled(
    box: EdgeBox, work: FrameWork[AnalysisResult], seq: int
) -> AnalysisResult | JSONResponse:
    """Run `work` on the edge's analysis workers; a 503 naming why when it was shed."""
    try:
        return await asyncio.wrap_future(box.scheduler.submit(work))
    except ShedError as exc:
        detail = f"frame {seq} not analysed ({exc.reason}): {exc}"
        return JSONResponse({"detail": detail, "shed": exc.reason}, status_code=503)
