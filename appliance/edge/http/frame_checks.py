"""Checks on an uploaded frame before any analysis: each failure is a clear 4xx, nothing stored."""

from __future__ import annotations

import logging
import threading
import time
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from fastapi import HTTPException, Request
from pydantic import BaseModel, ValidationError

from appliance.edge.store import StoreError
from cameras.config_checks import describe_validation_error
from cameras.jpeg import decode_jpeg as decode_camera_jpeg
from cameras.jpeg import jpeg_dimensions
from cameras.protocol import META_HEADER, FrameMeta

log = logging.getLogger(__name__)

JPEG_MAGIC = b"\xff\xd8\xff"
MIN_FRAME_SIDE = 32
"""Smaller frames are no camera's picture; detectors have windows larger than that (HOG's is
64x128, and OpenCV 4.14's HOG corrupted memory on a 1x1 frame)."""
MAX_FRAME_SIDE = 8192
MAX_FRAME_PIXELS = 7680 * 4320
"""8K UHD: decoding trusts the header, and 629 bytes can declare 20000x20000 pixels (1.2 GB)."""
Meta = TypeVar("Meta", bound=BaseModel)


class RejectedFrame(HTTPException):
    """An HTTP error that also names the reason counted in the edge's stats."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(status_code=status, detail=detail)
        self.reason = reason


class _RareLog:
    """Logs a repeated failure once, then at most every `every_s` with how many came between:
    a full disk must not be filled further by a log line per refused frame."""

    def __init__(self, every_s: float = 60.0) -> None:
        self.every_s = every_s
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._since = 0

    def __call__(self, message: str, *args: object) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.every_s:
                self._since += 1
                return
            repeats, self._since, self._last = self._since, 0, now
        log.error("%s (%d more since the last such line)", message % args, repeats)


_disk_full_log = _RareLog()


def store_refusal(what: str, exc: StoreError) -> RejectedFrame:
    """507 when the edge's disk is full (it takes frames again once there is room), else 503
    for a store that failed; the driver's words go to the edge's log, not to clients."""
    if exc.disk_full:
        _disk_full_log("%s not stored, the disk is full: %s", what, exc)
        return RejectedFrame(507, "disk_full", f"{what} not stored: the edge box's disk is full")
    log.warning("%s not stored: %s", what, exc)
    return RejectedFrame(
        503, "store_error", f"{what} not stored: the edge's database failed (see the edge's log)"
    )


def check_capture_time(meta: FrameMeta, now: float, max_ahead_s: float) -> None:
    ahead = meta.captured_at - now
    if ahead > max_ahead_s:
        raise RejectedFrame(
            422,
            "clock_ahead",
            f"captured_at is {ahead:.0f} s ahead of the edge's clock (limit {max_ahead_s:.0f} s):"
            " check the camera's clock",
        )


def parse_meta(header: str | None) -> FrameMeta:
    return parse_header(header, FrameMeta, META_HEADER)


def parse_header(header: str | None, model: type[Meta], name: str) -> Meta:
    """The JSON header `name` as `model`: 400 when missing, 422 naming the bad field."""
    if not header:
        raise RejectedFrame(400, "no_metadata", f"missing {name} header")
    return parse_json(header, model, name, "bad_metadata")


def parse_json(text: str | bytes, model: type[Meta], what: str, reason: str) -> Meta:
    """`text` as `model`, or 422 naming the bad field (never echoing the input)."""
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise RejectedFrame(422, reason, f"bad {what}: {describe_validation_error(exc)}") from None


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RejectedFrame(413, "too_large", f"frame of {declared} bytes exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RejectedFrame(413, "too_large", f"frame exceeds {limit} bytes")
        chunks.append(chunk)
    if size == 0:
        raise RejectedFrame(400, "empty", "empty body: expected a JPEG image")
    return b"".join(chunks)


def check_header(body: bytes, camera_limit: tuple[int, int] | None = None) -> None:
    """Refuse a body that is no JPEG, or whose header declares a size this camera (or any
    camera) does not send: read from the header alone, before any decoding or queueing."""
    if not body.startswith(JPEG_MAGIC):
        raise RejectedFrame(415, "not_jpeg", "body is not a JPEG image")
    size = jpeg_dimensions(body)
    check_dimensions(size)
    if camera_limit is not None and size is not None:
        (width, height), (most_w, most_h) = size, camera_limit
        if width > most_w or height > most_h:
            raise RejectedFrame(
                413,
                "frame_too_big",
                f"frame of {width}x{height} pixels: this camera sends at most {most_w}x{most_h}",
            )


def decode_jpeg(body: bytes) -> npt.NDArray[np.uint8]:
    """The frame's pixels, once its header says a size worth decoding."""
    check_header(body)
    image = decode_camera_jpeg(body)
    if image is None:
        raise RejectedFrame(415, "not_jpeg", "body is a damaged JPEG image that cannot be decoded")
    return image


def check_dimensions(size: tuple[int, int] | None) -> None:
    """Refuse, before decoding, a JPEG whose header is missing or declares a size no camera
    sends: too small for a detector, or too large to decode safely."""
    if size is None:
        raise RejectedFrame(415, "not_jpeg", "body is a JPEG without a readable frame header")
    width, height = size
    if min(width, height) < MIN_FRAME_SIDE:
        raise RejectedFrame(
            422,
            "frame_too_small",
            f"frame of {width}x{height} pixels: at least {MIN_FRAME_SIDE} pixels each way",
        )
    if max(width, height) > MAX_FRAME_SIDE or width * height > MAX_FRAME_PIXELS:
        raise RejectedFrame(
            413,
            "frame_too_big",
            f"frame of {width}x{height} pixels: at most {MAX_FRAME_SIDE} pixels each way and"
            f" {MAX_FRAME_PIXELS} in all",
        )
