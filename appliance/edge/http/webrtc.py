"""The live view over WebRTC (aiortc): `POST .../webrtc` takes an SDP offer and answers it; the
edge then sends a video track of the camera's annotated pictures (VP8, a few frames a second).

Offers are complete (non-trickle): the browser waits for its ICE gathering before posting, and
the answer carries the edge's host candidates. No STUN/TURN: the viewer reaches the edge directly
(aiortc would otherwise ask a public STUN server, so the ICE server list is given, empty).

Viewer slots are few: a peer that has not connected within CONNECT_TIMEOUT_S is closed, and one
opened with a viewer ticket is closed when the ticket expires.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Literal

import cv2
import numpy as np
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from av import VideoFrame
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field

from appliance.edge.http.auth import ViewerGrant
from appliance.edge.live_frames import Image, LiveFrames

log = logging.getLogger(__name__)

CLOCK_RATE = 90_000
MAX_PEERS = 8
CONNECT_TIMEOUT_S = 20.0
WAITING_SIZE = (480, 640)


class SessionDescription(BaseModel):
    sdp: str = Field(min_length=1, max_length=100_000)
    type: Literal["offer", "answer"]


class AnnotatedTrack(VideoStreamTrack):
    """The camera's latest annotated picture (`redacted`: as viewers get it), `fps` times a
    second."""

    def __init__(
        self, frames: LiveFrames, camera_id: str, fps: float, redacted: bool = False
    ) -> None:
        super().__init__()
        self.frames = frames
        self.camera_id = camera_id
        self.fps = fps
        self.redacted = redacted
        self._started: float | None = None
        self._count = 0

    async def recv(self) -> VideoFrame:
        if self._started is None:
            self._started = time.monotonic()
        else:
            self._count += 1
            wait = self._started + self._count / self.fps - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        latest = await asyncio.to_thread(self.frames.annotated, self.camera_id, self.redacted)
        image = waiting_picture() if latest is None else latest[1]
        frame = VideoFrame.from_ndarray(_even(image), format="bgr24")
        frame.pts = round(self._count * CLOCK_RATE / self.fps)
        frame.time_base = Fraction(1, CLOCK_RATE)
        return frame


def waiting_picture() -> Image:
    image = np.full((*WAITING_SIZE, 3), 64, dtype=np.uint8)
    cv2.putText(
        image,
        "waiting for frames",
        (180, 240),
        cv2.FONT_HERSHEY_SIMPLEX,
        1.0,
        (220, 220, 220),
        2,
        cv2.LINE_AA,
    )
    return image


def _even(image: Image) -> Image:
    """VP8 (yuv420p) needs even sides."""
    height, width = image.shape[:2]
    return image[: height - height % 2, : width - width % 2]


class WebRtcPeers:
    """The open peer connections; each closes itself when its connection fails or ends."""

    def __init__(
        self, frames: LiveFrames, fps: float = 10.0, connect_timeout_s: float = CONNECT_TIMEOUT_S
    ) -> None:
        self.frames = frames
        self.fps = fps
        self.connect_timeout_s = connect_timeout_s
        self.peers: set[RTCPeerConnection] = set()
        self._timers: set[asyncio.Task[None]] = set()

    async def answer(
        self, camera_id: str, offer: SessionDescription, grant: ViewerGrant
    ) -> SessionDescription:
        if len(self.peers) >= MAX_PEERS:
            raise HTTPException(503, f"too many live viewers (at most {MAX_PEERS})")
        peer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.peers.add(peer)
        self._watch(peer, camera_id, grant.seconds_left(float("inf")))

        @peer.on("connectionstatechange")
        async def _state() -> None:
            log.debug("live view of %s: connection %s", camera_id, peer.connectionState)
            if peer.connectionState in ("failed", "closed"):
                await self._close(peer)

        try:
            await peer.setRemoteDescription(RTCSessionDescription(offer.sdp, offer.type))
            peer.addTrack(AnnotatedTrack(self.frames, camera_id, self.fps, grant.redacted))
            await peer.setLocalDescription(await peer.createAnswer())
        except (ValueError, AttributeError, KeyError) as exc:
            await self._close(peer)
            raise HTTPException(400, f"cannot answer this offer: {exc}") from None
        local = peer.localDescription
        log.info(
            "live view of camera %s: WebRTC viewer connected (%d open)", camera_id, len(self.peers)
        )
        return SessionDescription(sdp=local.sdp, type="answer")

    def _watch(self, peer: RTCPeerConnection, camera_id: str, ticket_left_s: float) -> None:
        """Close `peer` if it has not connected in time, and when its viewer's ticket ends."""

        async def watch() -> None:
            await asyncio.sleep(min(self.connect_timeout_s, ticket_left_s))
            if peer.connectionState != "connected":
                log.info("live view of camera %s: a viewer that never connected closed", camera_id)
            elif ticket_left_s > self.connect_timeout_s:
                await asyncio.sleep(ticket_left_s - self.connect_timeout_s)
                log.info("live view of camera %s: the viewer's ticket expired", camera_id)
            await self._close(peer)

        task = asyncio.create_task(watch())
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def _close(self, peer: RTCPeerConnection) -> None:
        self.peers.discard(peer)
        await peer.close()

    async def close(self) -> None:
        for task in list(self._timers):
            task.cancel()
        await asyncio.gather(*(self._close(p) for p in list(self.peers)))


def add_webrtc(app: FastAPI, frames: LiveFrames, viewer: Callable[..., ViewerGrant]) -> WebRtcPeers:
    peers = WebRtcPeers(frames)

    @app.post("/api/v1/cameras/{camera_id}/webrtc")
    async def webrtc(
        camera_id: str, offer: SessionDescription, grant: ViewerGrant = Depends(viewer)
    ) -> SessionDescription:
        if offer.type != "offer":
            raise HTTPException(422, "type: an offer is expected")
        return await peers.answer(camera_id, offer, grant)

    return peers
