"""Feeding a real edge box (tests/edge_process.py) real vtest frames, as a camera node would."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from tests.edge_process import EdgeProcess, running_edge
from tests.footage import vtest_frames

FRAME_WIDTH, FRAME_HEIGHT = 768, 576


def vtest_jpegs(count: int, start: int = 0) -> list[bytes]:
    jpegs = []
    for image in vtest_frames(start, count):
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        jpegs.append(encoded.tobytes())
    return jpegs


def post_frame(
    client: httpx.Client,
    edge: EdgeProcess,
    camera: str,
    jpeg: bytes,
    seq: int,
    plan: dict[str, Any] | None = None,
    **more: Any,
) -> httpx.Response:
    """One whole frame captured now, `seq` frames after the node's first; `plan`: the Edgent
    plan report of a node that runs a split model (`OnlinePlanner.status()`); `more`: other
    metadata fields, or these ones replaced."""
    meta: dict[str, Any] = {"seq": seq, "captured_at": time.time(), "filter_score": 0.2}
    if plan is not None:
        meta["plan"] = plan
    meta.update(more)
    headers = {
        "Authorization": f"Bearer {edge.tokens[camera]}",
        "Content-Type": "image/jpeg",
        "X-Frame-Meta": json.dumps(meta),
    }
    return client.post(f"/api/v1/cameras/{camera}/frames", content=jpeg, headers=headers)


def feed(
    client: httpx.Client,
    edge: EdgeProcess,
    camera: str,
    jpegs: list[bytes],
    every: int = 2,
    plan: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Post the frames as a node sending every `every`-th frame it reads; the replies."""
    replies = []
    for index, jpeg in enumerate(jpegs):
        response = post_frame(client, edge, camera, jpeg, index * every, plan)
        assert response.status_code == 200, response.text
        replies.append(response.json())
    return replies


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll until `condition()` is truthy; its value. Fails naming `what` after the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)


@contextmanager
def fed_edge(
    work: Path,
    camera: str,
    idle: str,
    zone: dict[str, Any],
    frames: int,
    plan: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Iterator[EdgeProcess]:
    """A running edge box with an API token and two cameras: `camera` (with `zone`) fed the
    first `frames` vtest frames (each with the Edgent `plan` report, if any), `idle` fed
    nothing; `extra`: more of the edge's config."""
    tokens = {camera: f"{camera}-" + secrets.token_hex(8), idle: f"{idle}-" + secrets.token_hex(8)}
    cameras = [
        {"id": camera, "token": tokens[camera], "zones": [zone]},
        {"id": idle, "token": tokens[idle]},
    ]
    api_token = "api-" + secrets.token_hex(8)
    with running_edge(
        work, tokens, api_token=api_token, extra={"cameras": cameras, **(extra or {})}
    ) as box:
        with httpx.Client(base_url=box.base_url, timeout=30) as client:
            feed(client, box, camera, vtest_jpegs(frames), plan=plan)
        yield box


async def browser_peer(
    edge: EdgeProcess,
    camera: str,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[RTCPeerConnection, MediaStreamTrack]:
    """Negotiate the camera's live view as a browser does (recvonly video, complete offer):
    the peer (close it) and the video track once it arrives."""
    peer = RTCPeerConnection()
    peer.addTransceiver("video", direction="recvonly")
    tracks: asyncio.Queue[MediaStreamTrack] = asyncio.Queue()
    peer.on("track", tracks.put_nowait)
    await peer.setLocalDescription(await peer.createOffer())
    offer = {"sdp": peer.localDescription.sdp, "type": "offer"}
    async with httpx.AsyncClient(base_url=edge.base_url, timeout=30) as http:
        path = f"/api/v1/cameras/{camera}/webrtc"
        response = await http.post(path, json=offer, params=params, headers=headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    await peer.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
    try:
        return peer, await asyncio.wait_for(tracks.get(), 20)
    except BaseException:
        await peer.close()
        raise
