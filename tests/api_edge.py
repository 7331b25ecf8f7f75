"""A real `appliance edge` subprocess for the API tests (test_api.py, test_api_refusals.py):
two cameras, an API token, a small frame limit, and frames of vtest posted as a node would.

Each test module starts its own edge (a module-scoped fixture over `api_edge`).
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import cv2
import httpx
import pytest

from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST
from tests.edge_process import EdgeProcess, running_edge
from tests.footage import vtest_frames

FRAME_WIDTH, FRAME_HEIGHT = 768, 576
MAX_FRAME_BYTES = 200_000
DOOR, YARD = "door", "yard"

# Capture times only move forward across the whole module (the edge refuses older frames),
# so any test may post to any camera whatever ran before it.
_T0 = 1_700_000_000.0
_ticks = itertools.count(1)
_seqs = itertools.count(1)


def next_time() -> float:
    return _T0 + 0.1 * next(_ticks)


def meta(seq: int | None = None, captured_at: float | None = None, **extra: Any) -> str:
    return json.dumps(
        {
            "seq": next(_seqs) if seq is None else seq,
            "captured_at": next_time() if captured_at is None else captured_at,
            "filter_score": 0.2,
            **extra,
        }
    )


def first_vtest_jpegs() -> list[bytes]:
    """The first frames of vtest.avi as real JPEGs (each well under MAX_FRAME_BYTES)."""
    jpegs = []
    for image in vtest_frames(0, 60):
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        jpegs.append(encoded.tobytes())
    assert all(len(j) < MAX_FRAME_BYTES for j in jpegs)
    return jpegs


@contextmanager
def api_edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    """Two cameras (door, yard), an API token, MAX_FRAME_BYTES; logging at INFO."""
    tokens = {DOOR: "door-" + secrets.token_hex(12), YARD: "yard-" + secrets.token_hex(12)}
    with running_edge(
        tmp_path_factory.mktemp("edge"),
        tokens,
        api_token="api-" + secrets.token_hex(12),
        extra={"max_frame_bytes": MAX_FRAME_BYTES},
        # INFO rather than WARNING: more of the edge's output is checked for secrets.
        log_level="INFO",
    ) as box:
        yield box


def camera_headers(edge: EdgeProcess, camera: str, frame_meta: str | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {edge.tokens[camera]}", "Content-Type": "image/jpeg"}
    if frame_meta is not None:
        headers["X-Frame-Meta"] = frame_meta
    return headers


def post_frame(
    client: httpx.Client,
    edge: EdgeProcess,
    body: bytes,
    camera: str = DOOR,
    frame_meta: str | None = None,
) -> httpx.Response:
    return client.post(
        f"/api/v1/cameras/{camera}/frames",
        content=body,
        headers=camera_headers(edge, camera, meta() if frame_meta is None else frame_meta),
    )


def assert_detections_inside_frame(detections: list[dict[str, Any]]) -> None:
    """Objects of the default labels of interest, confident enough, boxes inside the frame."""
    for detection in detections:
        assert detection["label"] in DEFAULT_LABELS_OF_INTEREST
        assert 0.25 <= detection["confidence"] <= 1.0
        box = detection["box"]
        assert 0 <= box["x1"] < box["x2"] <= FRAME_WIDTH, box
        assert 0 <= box["y1"] < box["y2"] <= FRAME_HEIGHT, box


# --- a valid frame ------------------------------------------------------------------------
