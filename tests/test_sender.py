"""A camera node's uploads run beside its capture loop: a live camera never waits for a slow
edge (the newest chosen frame replaces one still waiting), a file replay sends every frame."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cameras.edge_client import EdgeUplink
from cameras.frame_sender import Delivery, FrameSender, Outgoing
from cameras.protocol import FrameMeta

ANALYSIS_S = 0.2


class SlowEdge(BaseHTTPRequestHandler):
    """Answers every frame after `ANALYSIS_S`, like an edge box busy with other cameras."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(ANALYSIS_S)
        body = json.dumps({"frame_id": 1, "detections": [], "active_tracks": 0}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def edge_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowEdge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def frame(index: int) -> Outgoing:
    return Outgoing(
        index, float(index), b"\xff\xd8\xff", FrameMeta(seq=index, captured_at=1e9 + index), [], []
    )


def test_a_live_camera_replaces_waiting_frames_instead_of_waiting(edge_url: str) -> None:
    sender = FrameSender(EdgeUplink(edge_url, "cam", "token-123"), in_flight=1, block=False)
    started = time.monotonic()
    for i in range(10):  # ten frames at 25 fps while each upload takes 0.2 s
        sender.offer(frame(i))
        time.sleep(0.04)
    offering_took = time.monotonic() - started
    deliveries = sender.close()
    assert offering_took < 10 * 0.04 + 0.2, "the capture loop never waited for the edge"
    sent = [d.frame.index for d in deliveries if d.reply is not None]
    replaced = [d.frame.index for d in deliveries if d.dropped_at_camera]
    assert sorted(sent + replaced) == list(range(10))
    assert 2 <= len(sent) <= 4 and sent[-1] == 9, "the newest frame is always sent"


def test_a_file_replay_sends_every_frame_each_answered_before_the_next(edge_url: str) -> None:
    sender = FrameSender(EdgeUplink(edge_url, "cam", "token-123"), in_flight=1, block=True)
    answered = []
    for i in range(6):
        sender.offer(frame(i))
        # The edge's reply is in hand before the node decides on the next frame.
        answered += [d.frame.index for d in sender.drain() if d.reply is not None]
        assert answered == list(range(i + 1))
    assert sender.close() == []


class BrokenUploader:
    """An uploader whose every upload fails with something other than an `UplinkError`."""

    def __init__(self, uplink: EdgeUplink) -> None:
        self.uplink = uplink

    def upload(self, frame: Outgoing) -> object:
        raise RuntimeError(f"codec exploded on frame {frame.index}")


def test_an_unexpected_upload_failure_is_reported_and_the_replay_goes_on(edge_url: str) -> None:
    uplink = EdgeUplink(edge_url, "cam", "token-123")
    sender = FrameSender(uplink, in_flight=1, block=True, uploader=BrokenUploader(uplink))  # type: ignore[arg-type]
    for i in range(3):  # a file replay: offer blocks until the frame's upload has an outcome
        sender.offer(frame(i))
    closed: list[list[Delivery]] = []
    closer = threading.Thread(target=lambda: closed.append(list(sender.close())))
    closer.start()
    closer.join(10)
    assert closed, "a worker died and the replay blocked"
    deliveries = sender.drain() + closed[0]
    assert len(deliveries) == 3
    assert all(d.error is not None and "codec exploded" in str(d.error) for d in deliveries)
