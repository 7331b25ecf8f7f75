"""Bad uploads to the edge API, as a broken or hostile camera node sends them: each gets a
clear 4xx naming the problem, is counted in the edge's stats, and changes nothing stored; the
edge keeps serving (a real `appliance edge` subprocess, real vtest JPEGs)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import httpx
import numpy as np
import pytest

from tests.api_edge import (
    DOOR,
    FRAME_HEIGHT,
    FRAME_WIDTH,
    MAX_FRAME_BYTES,
    YARD,
    api_edge,
    assert_detections_inside_frame,
    first_vtest_jpegs,
    meta,
    next_time,
    post_frame,
)
from tests.edge_process import EdgeProcess, stats, store_totals


@pytest.fixture(scope="module")
def vtest_jpegs() -> list[bytes]:
    return first_vtest_jpegs()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    with api_edge(tmp_path_factory) as box:
        yield box


@pytest.fixture(scope="module")
def client(edge: EdgeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.base_url, timeout=30.0) as http:
        yield http


def _png(jpegs: list[bytes]) -> bytes:
    """A real image, but a PNG (a quarter-size vtest frame, so it stays under the size limit)."""
    image = cv2.imdecode(np.frombuffer(jpegs[0], dtype=np.uint8), cv2.IMREAD_COLOR)
    ok, encoded = cv2.imencode(".png", cv2.resize(image, (FRAME_WIDTH // 4, FRAME_HEIGHT // 4)))
    assert ok
    return encoded.tobytes()


def _door_token(edge: EdgeProcess) -> str | None:
    return f"Bearer {edge.tokens[DOOR]}"


def _motion(dx: object = 1.0, dy: object = 0.0, tracks: int = 1) -> dict[str, object]:
    """A frame's `motion` whose shifts are `dx`, `dy`, for `tracks` tracks."""
    shift = {"track_id": 1, "dx": dx, "dy": dy}
    return {"origin_seq": 0, "tracks": [shift] * tracks}


@dataclass(frozen=True)
class BadFrame:
    """One bad upload: by default a valid door frame, with one thing changed."""

    status: int
    word: str
    """Must appear (case-insensitively) in the error's detail."""
    body: Callable[[list[bytes]], bytes] = lambda jpegs: jpegs[10]
    chunked: bool = False
    camera: str = DOOR
    auth: Callable[[EdgeProcess], str | None] = _door_token
    frame_meta: Callable[[], str | None] = meta


BAD_FRAMES = {
    "png": BadFrame(415, "jpeg", body=_png),
    "text": BadFrame(415, "jpeg", body=lambda _: b"hello, this is not an image\n"),
    "truncated jpeg": BadFrame(415, "jpeg", body=lambda j: j[10][:200]),
    "jpeg magic then garbage": BadFrame(415, "jpeg", body=lambda j: j[10][:3] + b"\0" * 5000),
    "empty body": BadFrame(400, "empty", body=lambda _: b""),
    "oversized": BadFrame(413, "exceeds", body=lambda j: j[10] + b"\0" * MAX_FRAME_BYTES),
    "oversized chunked": BadFrame(
        413, "exceeds", body=lambda j: j[10] + b"\0" * MAX_FRAME_BYTES, chunked=True
    ),
    "unknown camera": BadFrame(401, "token", camera="garage"),
    "wrong token": BadFrame(401, "token", auth=lambda _: "Bearer not-the-door-token"),
    "other camera's token": BadFrame(401, "token", auth=lambda e: f"Bearer {e.tokens[YARD]}"),
    "token without Bearer": BadFrame(401, "token", auth=lambda e: e.tokens[DOOR]),
    "missing token": BadFrame(401, "token", auth=lambda _: None),
    "missing meta": BadFrame(400, "x-frame-meta", frame_meta=lambda: None),
    "meta not JSON": BadFrame(422, "x-frame-meta", frame_meta=lambda: "{seq: 1"),
    "meta not an object": BadFrame(422, "x-frame-meta", frame_meta=lambda: "[1, 2]"),
    "negative seq": BadFrame(422, "seq", frame_meta=lambda: meta(seq=-1)),
    "zero captured_at": BadFrame(422, "captured_at", frame_meta=lambda: meta(captured_at=0.0)),
    "infinite captured_at": BadFrame(
        422, "captured_at", frame_meta=lambda: meta(captured_at=float("inf"))
    ),
    "seq beyond 64 bits": BadFrame(422, "seq", frame_meta=lambda: meta(seq=2**70)),
    "camera clock a day ahead": BadFrame(
        422, "clock", frame_meta=lambda: meta(captured_at=time.time() + 86400)
    ),
    "filter_score above 1": BadFrame(
        422, "filter_score", frame_meta=lambda: meta(filter_score=2.0)
    ),
    "unknown meta field": BadFrame(422, "camera", frame_meta=lambda: meta(camera=DOOR)),
    "shift not a number": BadFrame(
        422, "motion.tracks.0.dx", frame_meta=lambda: meta(motion=_motion(dx="far"))
    ),
    "shift beyond any frame": BadFrame(
        422, "motion.tracks.0.dy", frame_meta=lambda: meta(motion=_motion(dy=1e9))
    ),
    "too many shifts": BadFrame(
        422, "motion.tracks", frame_meta=lambda: meta(motion=_motion(tracks=65))
    ),
}


def send_bad_frame(
    client: httpx.Client, edge: EdgeProcess, bad: BadFrame, jpegs: list[bytes]
) -> httpx.Response:
    headers = {"Content-Type": "image/jpeg"}
    auth, frame_meta = bad.auth(edge), bad.frame_meta()
    if auth is not None:
        headers["Authorization"] = auth
    if frame_meta is not None:
        headers["X-Frame-Meta"] = frame_meta
    body = bad.body(jpegs)
    return client.post(
        f"/api/v1/cameras/{bad.camera}/frames",
        content=iter([body[:65536], body[65536:]]) if bad.chunked else body,
        headers=headers,
    )


@pytest.mark.parametrize("case", BAD_FRAMES)
def test_bad_frame_is_refused_and_nothing_stored(
    client: httpx.Client, edge: EdgeProcess, vtest_jpegs: list[bytes], case: str
) -> None:
    bad = BAD_FRAMES[case]
    before = store_totals(client, edge)

    response = send_bad_frame(client, edge, bad, vtest_jpegs)

    assert response.status_code == bad.status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert bad.word in detail.lower(), detail
    assert store_totals(client, edge) == before


def test_frame_older_than_last_analysed_is_refused(
    client: httpx.Client, edge: EdgeProcess, vtest_jpegs: list[bytes]
) -> None:
    latest = next_time()
    ok = post_frame(client, edge, vtest_jpegs[12], frame_meta=meta(captured_at=latest))
    assert ok.status_code == 200, ok.text
    before = store_totals(client, edge)

    # A late frame: sent before the last one was, stamped before it (a clock set back would
    # come with a greater seq, and is taken: tests/test_analysis.py).
    stale = post_frame(
        client, edge, vtest_jpegs[11], frame_meta=meta(seq=0, captured_at=latest - 1.0)
    )

    assert stale.status_code == 409, stale.text
    assert "before" in stale.json()["detail"]
    assert store_totals(client, edge) == before
    # Another camera has its own timeline: the same old capture time is fine there.
    other = post_frame(client, edge, vtest_jpegs[11], camera=YARD, frame_meta=meta())
    assert other.status_code == 200, other.text


REFUSAL_REASONS = {
    "png": "not_jpeg",
    "empty body": "empty",
    "oversized": "too_large",
    "unknown camera": "unknown_camera",
    "wrong token": "unauthorised",
    "missing meta": "no_metadata",
    "negative seq": "bad_metadata",
}


def test_refusals_are_counted_in_edge_stats(
    client: httpx.Client, edge: EdgeProcess, vtest_jpegs: list[bytes]
) -> None:
    before = stats(client, edge)["edge"]
    for case in REFUSAL_REASONS:
        assert send_bad_frame(client, edge, BAD_FRAMES[case], vtest_jpegs).status_code >= 400

    after = stats(client, edge)["edge"]
    for reason in REFUSAL_REASONS.values():
        assert after["rejected"].get(reason, 0) == before["rejected"].get(reason, 0) + 1, reason
    assert after["frames_analysed"] == before["frames_analysed"]


def test_edge_keeps_serving_after_bad_input(
    client: httpx.Client, edge: EdgeProcess, vtest_jpegs: list[bytes]
) -> None:
    before = store_totals(client, edge)
    response = post_frame(client, edge, vtest_jpegs[20])
    assert response.status_code == 200, response.text
    assert_detections_inside_frame(response.json()["detections"])
    assert store_totals(client, edge)["frames"] == before["frames"] + 1
