"""The live view: each camera's latest analysed picture with boxes, track ids and zones drawn.

`GET .../frame.jpg` is the latest annotated picture (`?annotated=false`: nothing drawn, admin),
`GET .../stream.mjpeg` a low-rate MJPEG stream of them (the fallback player), and
`live_view_webrtc` sends them over WebRTC. Readers present a token, or a viewer ticket: a
short-lived HMAC of the camera id, expiry and role (admin or viewer) made with the API token
(`POST .../viewer-ticket`), so a browser can play a camera without holding a token; a stream
opened with a ticket ends when the ticket does. With `privacy.redact.viewers` the viewer token
and its tickets get the pictures with people redacted.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import cv2
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import StreamingResponse

from appliance.edge.box import EdgeBox
from appliance.edge.http.auth import Role, ViewerGrant, role_of, shown
from appliance.edge.http.redacted_pictures import viewer_redacted
from appliance.edge.http.webrtc import add_webrtc
from appliance.edge.live_frames import LiveFrames

BOUNDARY = "frame"
PLAIN_QUALITY = 90
"""JPEG quality of the un-annotated picture (`?annotated=false`), drawn on by the UI."""


def make_ticket(token: str, camera_id: str, expires_at: float, role: Role = Role.ADMIN) -> str:
    """A ticket for `camera_id` until `expires_at`, for a reader of `role` (signed, not shown:
    a viewer cannot pass its ticket off as the admin's)."""
    expiry = str(int(expires_at))
    signed = f"{camera_id}:{expiry}" + ("" if role is Role.ADMIN else f":{role.value}")
    mac = hmac.new(token.encode(), signed.encode(), hashlib.sha256)
    return f"{expiry}.{mac.hexdigest()[:40]}"


def ticket_role(token: str, camera_id: str, ticket: str, now: float) -> Role | None:
    """The role `ticket` was issued to, if it is this camera's and unexpired; None otherwise.
    Any string is a fair question (a ticket of "²" or of non-ASCII text is simply not valid)."""
    expiry, _, _ = ticket.partition(".")
    if not (expiry.isascii() and expiry.isdigit()) or int(expiry) < now:
        return None
    presented = ticket.encode("utf-8", "surrogateescape")
    for role in Role:
        expected = make_ticket(token, camera_id, int(expiry), role).encode()
        if hmac.compare_digest(expected, presented):
            return role
    return None


def viewer_check(box: EdgeBox) -> Callable[..., ViewerGrant]:
    """A reader's token, or a viewer ticket for this camera (`?ticket=`); then a known camera
    (checked after, so an unknown id tells no one without a token anything)."""

    def check(
        camera_id: str, ticket: str | None = Query(None), authorization: str | None = Header(None)
    ) -> ViewerGrant:
        grant = _grant(box, camera_id, ticket, authorization)
        if grant is None:
            raise HTTPException(401, "missing or wrong API token or viewer ticket")
        if box.camera(camera_id) is None:
            raise HTTPException(404, f"unknown camera {shown(camera_id)}")
        return grant

    return check


def _grant(
    box: EdgeBox, camera_id: str, ticket: str | None, authorization: str | None
) -> ViewerGrant | None:
    role = role_of(box, authorization)
    if role is not None:
        return ViewerGrant(redacted=viewer_redacted(box, role))
    token = box.config.api_token
    if ticket is None or token is None:
        return None
    role = ticket_role(token.get_secret_value(), camera_id, ticket, time.time())
    if role is None:
        return None
    expires_at = float(ticket.partition(".")[0])
    return ViewerGrant(expires_at=expires_at, redacted=viewer_redacted(box, role))


def add_live_view(app: FastAPI, box: EdgeBox, reader: Callable[..., None]) -> LiveFrames:
    """The live view routes, WebRTC included, and CORS for the configured origins (the UI's
    page, on another port, plays the live view from the browser); none by default."""

    frames = LiveFrames(box)
    viewer = viewer_check(box)
    origins = box.config.access.cors_origins
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "Content-Type"],
        )
    peers = add_webrtc(app, frames, viewer)
    _close_on_shutdown(app, peers.close)

    @app.post("/api/v1/cameras/{camera_id}/viewer-ticket", dependencies=[Depends(reader)])
    def viewer_ticket(
        camera_id: str, authorization: str | None = Header(None)
    ) -> dict[str, str | float | None]:
        """A ticket for this camera's live view, for a browser that holds no token; it sees
        what the token that asked for it sees."""
        if box.camera(camera_id) is None:
            raise HTTPException(404, f"unknown camera {shown(camera_id)}")
        token = box.config.api_token
        expires = time.time() + box.config.access.viewer_ticket_s
        role = role_of(box, authorization) or Role.VIEWER
        ticket = (
            None
            if token is None
            else make_ticket(token.get_secret_value(), camera_id, expires, role)
        )
        return {"ticket": ticket, "expires_at": expires}

    @app.get("/api/v1/cameras/{camera_id}/frame.jpg")
    async def frame_jpg(
        camera_id: str,
        grant: ViewerGrant = Depends(viewer),
        annotated: bool = Query(
            True,
            description="false: the picture as analysed, nothing drawn on it (api_token only)",
        ),
        authorization: str | None = Header(None),
    ) -> Response:
        # Unannotated is for whoever may draw zones and masks on it: nothing of the viewers'
        # treatment (tickets, redaction) applies to it.
        if not annotated and role_of(box, authorization) is not Role.ADMIN:
            raise HTTPException(403, "annotated=false needs the api_token")
        picture = (
            partial(frames.jpeg, redacted=grant.redacted) if annotated else partial(plain_jpeg, box)
        )
        latest = await asyncio.to_thread(picture, camera_id)
        if latest is None:
            raise HTTPException(404, f"no frame of camera {shown(camera_id)} yet")
        headers = {"Cache-Control": "no-store", "X-Frame-Version": str(latest[0])}
        return Response(latest[1], media_type="image/jpeg", headers=headers)

    @app.get("/api/v1/cameras/{camera_id}/stream.mjpeg")
    def stream(
        camera_id: str,
        grant: ViewerGrant = Depends(viewer),
        fps: float = Query(2.0, gt=0, le=10),
        max_s: float = Query(600.0, gt=0, le=3600),
    ) -> StreamingResponse:
        parts = _mjpeg_parts(frames, camera_id, fps, grant.seconds_left(max_s), grant.redacted)
        media_type = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        return StreamingResponse(
            parts, media_type=media_type, headers={"Cache-Control": "no-store"}
        )

    return frames


def plain_jpeg(box: EdgeBox, camera_id: str) -> tuple[int, bytes] | None:
    """(version, JPEG) of the camera's latest analysed picture with nothing drawn on it (what
    the UI draws zones and masks on); None before the first."""
    view = box.analyzers[camera_id].latest_view()
    if view is None:
        return None
    ok, encoded = cv2.imencode(".jpg", view.image, [cv2.IMWRITE_JPEG_QUALITY, PLAIN_QUALITY])
    return (view.version, bytes(encoded.tobytes())) if ok else None


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
    frames: LiveFrames, camera_id: str, fps: float, max_s: float, redacted: bool
) -> AsyncIterator[bytes]:
    """A part per new picture (and the same one again every 5 s), at most `fps` a second, for
    at most `max_s` and until the edge begins to stop (both noticed within a second, however
    low `fps` is)."""
    end = time.monotonic() + max_s
    sent_version, sent_at, next_look = -1, 0.0, 0.0
    while (now := time.monotonic()) < end and not frames.box.stopping.is_set():
        if now >= next_look:
            next_look = now + 1 / fps
            latest = await asyncio.to_thread(frames.jpeg, camera_id, redacted)
            if latest is not None and (latest[0] != sent_version or now - sent_at > 5):
                sent_version, sent_at = latest[0], now
                head = (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(latest[1])}"
                )
                yield head.encode() + b"\r\n\r\n" + latest[1] + b"\r\n"
        await asyncio.sleep(max(0.0, min(next_look, end, now + 1.0) - time.monotonic()))
