"""The live view: each camera's latest analysed picture with boxes, track ids and zones drawn.

`GET .../frame.jpg` is the latest annotated picture, `GET .../stream.mjpeg` a low-rate MJPEG
stream of them (the fallback player), and `live_view_webrtc` sends them over WebRTC. Readers
present the API token, or a viewer ticket: a short-lived HMAC of the camera id made with the API
token (`POST .../viewer-ticket`), so a browser can play a camera without holding the token.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import StreamingResponse

from appliance.edge.box import EdgeBox
from appliance.edge.http.auth import bearer, shown
from appliance.edge.http.webrtc import add_webrtc
from appliance.edge.live_frames import LiveFrames

TICKET_TTL_S = 300.0
BOUNDARY = "frame"


def make_ticket(token: str, camera_id: str, expires_at: float) -> str:
    expiry = str(int(expires_at))
    mac = hmac.new(token.encode(), f"{camera_id}:{expiry}".encode(), hashlib.sha256)
    return f"{expiry}.{mac.hexdigest()[:40]}"


def ticket_valid(token: str, camera_id: str, ticket: str, now: float) -> bool:
    """Whether `ticket` is this camera's and unexpired; any string is a fair question (a ticket
    of "²" or of non-ASCII text is simply not valid)."""
    expiry, _, _ = ticket.partition(".")
    if not (expiry.isascii() and expiry.isdigit()) or int(expiry) < now:
        return False
    expected = make_ticket(token, camera_id, int(expiry)).encode()
    return hmac.compare_digest(expected, ticket.encode("utf-8", "surrogateescape"))


def viewer_check(box: EdgeBox) -> Callable[..., None]:
    """The API token, or a viewer ticket for this camera (`?ticket=`); a known camera."""

    def check(
        camera_id: str, ticket: str | None = Query(None), authorization: str | None = Header(None)
    ) -> None:
        if box.camera(camera_id) is None:
            raise HTTPException(404, f"unknown camera {shown(camera_id)}")
        token = box.config.api_token
        if token is None:
            return
        secret = token.get_secret_value()
        if box.token_matches(secret, bearer(authorization)):
            return
        if ticket is None or not ticket_valid(secret, camera_id, ticket, time.time()):
            raise HTTPException(401, "missing or wrong API token or viewer ticket")

    return check


def add_live_view(app: FastAPI, box: EdgeBox, reader: Callable[..., None]) -> LiveFrames:
    """The live view routes, WebRTC included, and CORS so a UI page on another origin may call
    them: safe, because no route reads cookies (the token or a ticket is sent explicitly)."""

    frames = LiveFrames(box)
    viewer = [Depends(viewer_check(box))]
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PUT"],
        allow_headers=["Authorization", "Content-Type"],
    )
    peers = add_webrtc(app, frames, viewer_check(box))
    _close_on_shutdown(app, peers.close)

    @app.post("/api/v1/cameras/{camera_id}/viewer-ticket", dependencies=[Depends(reader)])
    def viewer_ticket(camera_id: str) -> dict[str, str | float | None]:
        if box.camera(camera_id) is None:
            raise HTTPException(404, f"unknown camera {shown(camera_id)}")
        token = box.config.api_token
        expires = time.time() + TICKET_TTL_S
        ticket = (
            None if token is None else make_ticket(token.get_secret_value(), camera_id, expires)
        )
        return {"ticket": ticket, "expires_at": expires}

    @app.get("/api/v1/cameras/{camera_id}/frame.jpg", dependencies=viewer)
    async def frame_jpg(camera_id: str) -> Response:
        latest = await asyncio.to_thread(frames.jpeg, camera_id)
        if latest is None:
            raise HTTPException(404, f"no frame of camera {shown(camera_id)} yet")
        headers = {"Cache-Control": "no-store", "X-Frame-Version": str(latest[0])}
        return Response(latest[1], media_type="image/jpeg", headers=headers)

    @app.get("/api/v1/cameras/{camera_id}/stream.mjpeg", dependencies=viewer)
    def stream(
        camera_id: str,
        fps: float = Query(2.0, gt=0, le=10),
        max_s: float = Query(600.0, gt=0, le=3600),
    ) -> StreamingResponse:
        parts = _mjpeg_parts(frames, camera_id, fps, max_s)
        media_type = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        return StreamingResponse(
            parts, media_type=media_type, headers={"Cache-Control": "no-store"}
        )

    return frames


def _close_on_shutdown(app: FastAPI, close: Callable[[], Awaitable[None]]) -> None:
    """Run `close` when the app shuts down, before the lifespan it already has ends."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with inner(application) as state:
            try:
                yield state
            finally:
                await close()

    app.router.lifespan_context = lifespan


async def _mjpeg_parts(
    frames: LiveFrames, camera_id: str, fps: float, max_s: float
) -> AsyncIterator[bytes]:
    """A part per new picture (and the same one again every 5 s), for at most `max_s` and
    until the edge begins to stop."""
    end = time.monotonic() + max_s
    sent_version, sent_at = -1, 0.0
    while time.monotonic() < end and not frames.box.stopping.is_set():
        latest = await asyncio.to_thread(frames.jpeg, camera_id)
        if latest is not None and (latest[0] != sent_version or time.monotonic() - sent_at > 5):
            sent_version, sent_at = latest[0], time.monotonic()
            head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(latest[1])}"
            yield head.encode() + b"\r\n\r\n" + latest[1] + b"\r\n"
        await asyncio.sleep(1 / fps)
