"""`jpeg_chroma`: a camera node sends its frames with the chroma subsampling configured, and a
bad value is refused naming the setting. The node runs for real on vtest against an HTTP server
that keeps what it receives and answers as the edge does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

from cameras.config import CameraConfig
from cameras.jpeg import encode_jpeg
from cameras.runtime import run_camera_node
from tests.footage import vtest_frames, vtest_path

SOF_MARKERS = {0xC0, 0xC1, 0xC2}


def luma_sampling(jpeg: bytes) -> tuple[int, int]:
    """The (horizontal, vertical) sampling factors of the first component, from the JPEG's SOF
    segment: (2, 2) when colour is kept at half resolution (4:2:0), (1, 1) for 4:4:4."""
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    at = 2
    while at + 4 <= len(jpeg):
        marker, length = jpeg[at + 1], int.from_bytes(jpeg[at + 2 : at + 4], "big")
        if marker in SOF_MARKERS:
            sampling = jpeg[at + 4 + 7]  # precision, height, width, count, then component 1
            return sampling >> 4, sampling & 0x0F
        at += 2 + length
    raise AssertionError("no SOF segment")


class Recorder(BaseHTTPRequestHandler):
    frames: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        reply: dict[str, Any] = {}
        if self.path.endswith("/frames"):
            self.frames.append(body)
            reply = {"frame_id": len(self.frames), "detections": [], "active_tracks": 1}
        payload = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def edge() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []
    handler = type("Handler", (Recorder,), {"frames": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def send(url: str, chroma: str | None) -> None:
    extra = {} if chroma is None else {"jpeg_chroma": chroma}
    config = CameraConfig.model_validate(
        {"id": "cam", "source": str(vtest_path()), "edge_url": url, "token": "t0k", **extra}
    )
    stats = run_camera_node(config, max_frames=6)
    assert stats.upload_failures == 0
    assert stats.jpegs_encoded == stats.frames_sent > 0  # without Edgent each frame sent is one


@pytest.mark.parametrize(("chroma", "sampling"), [(None, (1, 1)), ("420", (2, 2)), ("444", (1, 1))])
def test_the_node_sends_frames_with_the_configured_chroma(
    edge: tuple[str, list[bytes]], chroma: str | None, sampling: tuple[int, int]
) -> None:
    url, received = edge
    send(url, chroma)
    assert received, "the node sent nothing"
    assert {luma_sampling(jpeg) for jpeg in received} == {sampling}


def test_full_colour_resolution_costs_bytes_at_the_same_quality() -> None:
    image = vtest_frames(100, 1)[0]
    small, large = (len(encode_jpeg(image, 85, chroma)) for chroma in ("420", "444"))
    assert 1.05 * small < large < 2 * small


def test_an_unknown_chroma_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValidationError) as raised:
        config = {"id": "cam", "source": "x.avi", "edge_url": "http://e", "token": "t"}
        CameraConfig.model_validate({**config, "jpeg_chroma": 422})
    assert "jpeg_chroma" in str(raised.value)
