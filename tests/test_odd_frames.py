"""Frames no camera sends: tiny, oddly shaped, or declaring a huge size in a few hundred bytes.

OpenCV 4.14's HOG corrupted memory on a 1x1 frame (the whole edge died) and a 629-byte JPEG
declaring 20000x20000 pixels grew the edge to 7.5 GB. Each detector takes any frame it is given
without crashing, and the edge refuses such uploads from the JPEG header, before decoding.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from appliance.edge.config import DetectorConfig
from appliance.edge.detector import build_detector
from cameras.jpeg import jpeg_dimensions
from pipelines.detectors import Detector
from pipelines.detectors.hog import HogPeopleDetector
from pipelines.types import Box
from tests.edge_process import running_edge
from tests.live_edge import post_frame, vtest_jpegs

ODD_SHAPES = [(1, 1), (10, 10), (200, 64), (32, 256), (64, 1), (1, 300), (65, 129)]
"""(width, height): tiny, wide and short, narrow and tall, just over HOG's window."""
CAMERA = "gate"


def jpeg(width: int, height: int) -> bytes:
    ok, encoded = cv2.imencode(".jpg", np.full((height, width, 3), 90, np.uint8))
    assert ok
    return encoded.tobytes()


def declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header claims `width` x `height` pixels."""
    data = bytearray(jpeg(64, 64))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 7] = height.to_bytes(2, "big")
    data[sof + 7 : sof + 9] = width.to_bytes(2, "big")
    return bytes(data)


@pytest.fixture(scope="module")
def detectors() -> dict[str, Detector]:
    default = build_detector(DetectorConfig(), Path("data"))  # the trained YOLOv3-tiny
    return {"default": default, "hog": HogPeopleDetector()}


@pytest.mark.parametrize("name", ["default", "hog"])
@pytest.mark.parametrize(("width", "height"), ODD_SHAPES)
def test_every_detector_takes_odd_frames(
    detectors: dict[str, Detector], name: str, width: int, height: int
) -> None:
    detector = detectors[name]
    image = np.full((height, width, 3), 90, np.uint8)
    found = detector.detect(image)
    assert all(0 <= d.box.x1 <= d.box.x2 <= width for d in found)
    regions = [Box(0, 0, width, height)]
    if getattr(detector, "regions_supported", False):
        detector.detect_regions(image, regions)  # type: ignore[attr-defined]


def test_dimensions_come_from_the_header_without_decoding() -> None:
    assert jpeg_dimensions(jpeg(768, 576)) == (768, 576)
    assert jpeg_dimensions(declaring(20000, 20000)) == (20000, 20000)
    ok, progressive = cv2.imencode(
        ".jpg", np.zeros((100, 120, 3), np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]
    )
    assert ok and jpeg_dimensions(progressive.tobytes()) == (120, 100)
    assert jpeg_dimensions(b"\xff\xd8\xff\xe0\x00\x10JFIF") is None  # cut before its header
    assert jpeg_dimensions(b"GIF89a") is None


def test_the_edge_refuses_them_before_decoding_and_keeps_serving(tmp_path: Path) -> None:
    with (
        running_edge(tmp_path, {CAMERA: "gate-token-12345"}) as edge,
        httpx.Client(base_url=edge.base_url, timeout=30) as client,
    ):
        for seq, (width, height) in enumerate([(1, 1), (10, 10), (200, 16)]):
            refused = post_frame(client, edge, CAMERA, jpeg(width, height), seq)
            assert refused.status_code == 422, refused.text
            assert f"{width}x{height}" in refused.json()["detail"]
        bomb = post_frame(client, edge, CAMERA, declaring(20000, 20000), 10)
        assert bomb.status_code == 413 and "20000x20000" in bomb.json()["detail"]
        accepted = post_frame(client, edge, CAMERA, vtest_jpegs(1)[0], 11)
        assert accepted.status_code == 200, accepted.text
        stats = client.get("/api/v1/stats", headers=edge.read_headers()).json()
        assert stats["edge"]["rejected"]["frame_too_small"] == 3
        assert stats["edge"]["rejected"]["frame_too_big"] == 1
        assert stats["store"]["frames"] == 1  # nothing refused was stored


def test_a_frame_larger_than_its_camera_sends_is_refused(tmp_path: Path) -> None:
    cameras = [{"id": CAMERA, "token": "gate-token-12345", "max_frame_size": [768, 576]}]
    with (
        running_edge(tmp_path, {CAMERA: "gate-token-12345"}, extra={"cameras": cameras}) as edge,
        httpx.Client(base_url=edge.base_url, timeout=30) as client,
    ):
        large = post_frame(client, edge, CAMERA, declaring(1920, 1080), 0)
        assert large.status_code == 413, large.text
        assert "at most 768x576" in large.json()["detail"]
        assert post_frame(client, edge, CAMERA, vtest_jpegs(1)[0], 1).status_code == 200
        # Zones must lie inside that frame too.
        url = f"/api/v1/cameras/{CAMERA}/settings"
        outside = {"zones": [{"name": "road", "points": [[0, 0], [900, 0], [900, 100]]}]}
        refused = client.put(url, json=outside)
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith("zones.0.points.1: (900, 0) lies outside")
        inside = {"zones": [{"name": "path", "points": [[0, 0], [768, 0], [768, 576]]}]}
        assert client.put(url, json=inside).status_code == 200
