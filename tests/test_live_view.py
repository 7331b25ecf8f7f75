"""The live view of a real edge box: latest annotated frame, MJPEG stream, WebRTC with aiortc."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import cv2
import httpx
import numpy as np
import pytest

from tests.edge_process import EdgeProcess
from tests.live_edge import (
    FRAME_HEIGHT,
    FRAME_WIDTH,
    browser_peer,
    fed_edge,
    feed,
    vtest_jpegs,
    wait_for,
)

CAMERA, IDLE = "door", "yard"
ZONE = {"name": "path", "points": [[100, 300], [700, 300], [700, 570], [100, 570]]}


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    with fed_edge(tmp_path_factory.mktemp("live"), CAMERA, IDLE, ZONE, 8) as box:
        yield box


@pytest.fixture
def client(edge: EdgeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.base_url, timeout=30) as http:
        yield http


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG"
    return image


def test_latest_frame_is_an_annotated_jpeg_of_the_camera(
    client: httpx.Client, edge: EdgeProcess
) -> None:
    response = client.get(f"/api/v1/cameras/{CAMERA}/frame.jpg", headers=edge.read_headers())
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    image = decode(response.content)
    assert image.shape == (FRAME_HEIGHT, FRAME_WIDTH, 3)
    # The zone outline is drawn in its colour (BGR 255, 191, 0) along its top edge.
    edge_pixels = image[298:303, 150:650].reshape(-1, 3).astype(int)
    near = np.abs(edge_pixels - np.array([255, 191, 0])).sum(axis=1) < 120
    assert near.mean() > 0.3
    assert (
        client.get(f"/api/v1/cameras/{IDLE}/frame.jpg", headers=edge.read_headers()).status_code
        == 404
    )


def test_live_view_needs_the_token_or_a_ticket(client: httpx.Client, edge: EdgeProcess) -> None:
    path = f"/api/v1/cameras/{CAMERA}/frame.jpg"
    assert client.get(path).status_code == 401
    assert client.get(path, params={"ticket": "9999999999.bad"}).status_code == 401
    assert client.post(f"/api/v1/cameras/{CAMERA}/viewer-ticket").status_code == 401
    issued = client.post(f"/api/v1/cameras/{CAMERA}/viewer-ticket", headers=edge.read_headers())
    ticket = issued.json()["ticket"]
    assert client.get(path, params={"ticket": ticket}).status_code == 200
    # A ticket is for its camera only.
    other = client.get(f"/api/v1/cameras/{IDLE}/frame.jpg", params={"ticket": ticket})
    assert other.status_code == 401


def test_mjpeg_stream_yields_several_frames(client: httpx.Client, edge: EdgeProcess) -> None:
    params = {"fps": 5, "max_s": 20}
    path = f"/api/v1/cameras/{CAMERA}/stream.mjpeg"
    jpegs: list[bytes] = []
    with client.stream("GET", path, params=params, headers=edge.read_headers()) as response:
        assert response.headers["content-type"].startswith("multipart/x-mixed-replace")
        buffer = b""
        for chunk in response.iter_bytes():
            buffer += chunk
            while b"\xff\xd9\r\n" in buffer:
                part, buffer = buffer.split(b"\xff\xd9\r\n", 1)
                jpegs.append(part[part.index(b"\xff\xd8") :] + b"\xff\xd9")
                # The camera sends a new frame: the open stream shows it.
                feed(client, edge, CAMERA, vtest_jpegs(1, start=20 + len(jpegs)))
            if len(jpegs) >= 3:
                break
    assert len(jpegs) >= 3
    assert all(decode(j).shape == (FRAME_HEIGHT, FRAME_WIDTH, 3) for j in jpegs)
    assert len({bytes(j) for j in jpegs}) == len(jpegs)


async def receive_frames(edge: EdgeProcess, count: int) -> list[tuple[int, int]]:
    """Negotiate like a browser and decode `count` frames."""
    peer, track = await browser_peer(edge, CAMERA, headers=edge.read_headers())
    try:
        sizes = []
        for _ in range(count):
            frame = await asyncio.wait_for(track.recv(), 20)
            sizes.append((frame.width, frame.height))
        return sizes
    finally:
        await peer.close()


def test_webrtc_viewer_receives_the_annotated_frames(edge: EdgeProcess) -> None:
    sizes = asyncio.run(receive_frames(edge, 10))
    assert sizes[-1] == (FRAME_WIDTH, FRAME_HEIGHT)


def test_webrtc_refuses_a_bad_offer(client: httpx.Client, edge: EdgeProcess) -> None:
    path = f"/api/v1/cameras/{CAMERA}/webrtc"
    bad = client.post(path, json={"sdp": "v=0", "type": "offer"}, headers=edge.read_headers())
    assert bad.status_code == 400
    assert client.post(path, json={"sdp": "v=0", "type": "offer"}).status_code == 401


def test_edge_stops_cleanly_while_viewers_watch(edge: EdgeProcess) -> None:
    asyncio.run(receive_frames(edge, 2))
    parts: list[int] = []
    url = f"{edge.base_url}/api/v1/cameras/{CAMERA}/stream.mjpeg"

    def watch() -> None:
        with httpx.stream("GET", url, headers=edge.read_headers(), timeout=60) as response:
            parts.extend(len(chunk) for chunk in response.iter_bytes())

    viewer = threading.Thread(target=watch, daemon=True)
    viewer.start()
    wait_for(lambda: parts, 30, "the MJPEG viewer's first frame")
    assert edge.stop() == 0  # SIGTERM; an open stream must not hold the edge up
    viewer.join(timeout=10)
    assert not viewer.is_alive()
    assert "Traceback" not in edge.stderr
