"""A frame the edge never got is not what the camera compares later frames with.

A real edge box refuses one frame (stamped two hours ahead of its clock, as a camera whose clock
jumped would). That frame showed something new; the scene then stays as it is. The camera must
send it again, since the edge has not seen it: compared with the refused frame, nothing changed,
and with nothing tracked no keepalive would ever go.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx
import numpy as np

from cameras.edge_client import EdgeUplink
from cameras.node import CameraNode
from cameras.sources import CapturedFrame
from pipelines.frame_difference import DifferenceSettings
from pipelines.motion import MotionSettings
from pipelines.selection import FrameSelector
from tests.edge_process import running_edge, stats

CAMERA = "gate"
FPS = 10.0
ARRIVES = 30
"""The frame on which a dark shape comes into the picture (and stays)."""
REFUSED_AHEAD_S = 7200.0

RNG = np.random.default_rng(5)
SCENE = RNG.integers(60, 200, size=(480, 640, 3), dtype=np.uint8)


class StillScene:
    """An empty scene; from frame ARRIVES on, a shape in it. The frame it arrives on is
    stamped REFUSED_AHEAD_S ahead."""

    fps = FPS

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.index = 0
        self.start = time.time() - frames / FPS

    def read(self) -> CapturedFrame | None:
        if self.index >= self.frames:
            return None
        image = SCENE.astype(np.int16) + RNG.normal(0, 2, size=SCENE.shape).astype(np.int16)
        if self.index >= ARRIVES:
            image[200:360, 300:360] = 20
        stamp = self.start + self.index / FPS
        if self.index == ARRIVES:
            stamp += REFUSED_AHEAD_S
        frame = CapturedFrame(self.index, stamp, np.clip(image, 0, 255).astype(np.uint8))
        self.index += 1
        return frame

    def close(self) -> None:
        pass


def test_the_camera_sends_again_what_the_edge_refused(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(12)
    with running_edge(tmp_path / "edge", {CAMERA: token}) as edge:
        selector = FrameSelector(DifferenceSettings(max_interval_s=0), MotionSettings())
        node = CameraNode(StillScene(60), selector, EdgeUplink(edge.base_url, CAMERA, token))
        node_stats = node.run()
        with httpx.Client(base_url=edge.base_url, timeout=10) as client:
            received = stats(client, edge)["edge"]["cameras"][CAMERA]["received_by_reason"]
    assert node_stats.upload_failures == 1  # the refused frame
    # The empty scene, then the shape's frame again right after the refusal; nothing more.
    assert received == {"first": 1, "arrival": 1}
