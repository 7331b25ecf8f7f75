"""The edge API as a camera node and an operator see it: a real `appliance edge` subprocess,
real JPEG frames of the vtest pedestrian clip, plain HTTP.

The edge starts once for the module. Tests run in file order; the last two stop the edge
(SIGTERM) and then inspect its database and its output.
"""

from __future__ import annotations

import itertools
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST
from tests.edge_process import EdgeProcess, camera_stats, running_edge, stats, store_totals
from tests.footage import vtest_frames

FRAME_WIDTH, FRAME_HEIGHT = 768, 576
MAX_FRAME_BYTES = 200_000
DOOR, YARD = "door", "yard"
EVENT_RUN_FRAMES = 40

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


@pytest.fixture(scope="module")
def vtest_jpegs() -> list[bytes]:
    """The first frames of vtest.avi as real JPEGs (each well under MAX_FRAME_BYTES)."""
    jpegs = []
    for image in vtest_frames(0, 60):
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        jpegs.append(encoded.tobytes())
    assert all(len(j) < MAX_FRAME_BYTES for j in jpegs)
    return jpegs


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
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


@pytest.fixture(scope="module")
def client(edge: EdgeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.base_url, timeout=30.0) as http:
        yield http


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


def test_health_is_open(client: httpx.Client) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_real_frame_is_analysed_and_stored(
    client: httpx.Client, edge: EdgeProcess, vtest_jpegs: list[bytes]
) -> None:
    before = store_totals(client, edge)
    door_before = camera_stats(client, edge, DOOR)["frames_received"]
    posted = 0
    reply: dict[str, Any] = {}
    for jpeg in vtest_jpegs[:31]:
        response = post_frame(client, edge, jpeg)
        assert response.status_code == 200, response.text
        posted += 1
        reply = response.json()
        assert isinstance(reply["frame_id"], int)
        assert_detections_inside_frame(reply["detections"])
        if reply["detections"]:
            break
    assert reply["detections"], "the detector found nothing in the first 31 frames of vtest"
    assert reply["active_tracks"] >= 0

    after = store_totals(client, edge)
    assert after["frames"] == before["frames"] + posted
    assert after["detections"] >= before["detections"] + len(reply["detections"])
    assert camera_stats(client, edge, DOOR)["frames_received"] == door_before + posted
    assert stats(client, edge)["edge"]["frames_analysed"] >= posted


def test_resent_frame_is_stored_once(
    client: httpx.Client, edge: EdgeProcess, vtest_jpegs: list[bytes]
) -> None:
    frame_meta = meta()
    first = post_frame(client, edge, vtest_jpegs[5], frame_meta=frame_meta)
    assert first.status_code == 200, first.text
    assert isinstance(first.json()["frame_id"], int)
    before = store_totals(client, edge)

    again = post_frame(client, edge, vtest_jpegs[5], frame_meta=frame_meta)

    assert again.status_code == 200, again.text
    assert again.json()["frame_id"] is None
    assert store_totals(client, edge) == before
    assert stats(client, edge)["edge"]["frames_duplicate"] >= 1


# --- bad input: a clear 4xx, nothing stored -------------------------------------------------


def _png(jpegs: list[bytes]) -> bytes:
    """A real image, but a PNG (a quarter-size vtest frame, so it stays under the size limit)."""
    image = cv2.imdecode(np.frombuffer(jpegs[0], dtype=np.uint8), cv2.IMREAD_COLOR)
    ok, encoded = cv2.imencode(".png", cv2.resize(image, (FRAME_WIDTH // 4, FRAME_HEIGHT // 4)))
    assert ok
    return encoded.tobytes()


def _door_token(edge: EdgeProcess) -> str | None:
    return f"Bearer {edge.tokens[DOOR]}"


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
    "unknown camera": BadFrame(404, "unknown camera", camera="garage"),
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

    stale = post_frame(client, edge, vtest_jpegs[11], frame_meta=meta(captured_at=latest - 1.0))

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


# --- read API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/stats", "/api/v1/events", "/api/v1/events/nope"])
def test_reads_require_the_api_token(client: httpx.Client, edge: EdgeProcess, path: str) -> None:
    assert edge.api_token is not None
    for headers in (
        {},
        {"Authorization": "Bearer wrong-api-token"},
        {"Authorization": f"Bearer {edge.tokens[DOOR]}"},  # a camera token is not an API token
        {"Authorization": edge.api_token},  # no Bearer scheme
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert "token" in response.json()["detail"].lower()
    allowed = client.get(path, headers=edge.read_headers())
    assert allowed.status_code == (404 if path.endswith("nope") else 200), allowed.text


def test_events_with_snapshots_after_a_run_of_frames(
    client: httpx.Client, edge: EdgeProcess, vtest_jpegs: list[bytes]
) -> None:
    for jpeg in vtest_jpegs[:EVENT_RUN_FRAMES]:
        response = post_frame(client, edge, jpeg, camera=YARD)
        assert response.status_code == 200, response.text
        assert_detections_inside_frame(response.json()["detections"])

    response = client.get("/api/v1/events", params={"camera": YARD}, headers=edge.read_headers())
    assert response.status_code == 200, response.text
    events = response.json()
    assert events, "no events after 40 frames of people walking"
    labels = {e["label"] for e in events}
    assert "person" in labels and labels <= set(DEFAULT_LABELS_OF_INTEREST)
    assert all(e["camera_id"] == YARD for e in events)
    with_snapshot = [e for e in events if e["snapshot"] and e["label"] == "person"]
    assert with_snapshot, events
    assert any(e["ended_at"] is None for e in events), "people still in view: an open event"

    event = with_snapshot[0]
    assert event["hits"] >= 3
    assert event["started_at"] <= event["last_seen_at"]
    one = client.get(f"/api/v1/events/{event['id']}", headers=edge.read_headers())
    assert one.status_code == 200
    assert one.json() == event

    snapshot = client.get(f"/api/v1/events/{event['id']}/snapshot.jpg", headers=edge.read_headers())
    assert snapshot.status_code == 200
    assert snapshot.headers["content-type"] == "image/jpeg"
    assert snapshot.content.startswith(b"\xff\xd8\xff")
    image = cv2.imdecode(np.frombuffer(snapshot.content, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[0] > image.shape[1]  # an upright person crop

    assert client.get(f"/api/v1/events/{event['id']}/snapshot.jpg").status_code == 401
    missing = client.get("/api/v1/events/nope/snapshot.jpg", headers=edge.read_headers())
    assert missing.status_code == 404


# --- shutdown (these stop the edge: keep them last) ------------------------------------------


def test_sigterm_stops_cleanly_and_ends_open_events(
    client: httpx.Client, edge: EdgeProcess, vtest_jpegs: list[bytes]
) -> None:
    for jpeg in vtest_jpegs[:6]:  # people in view right now: their events are open
        assert post_frame(client, edge, jpeg, camera=YARD).status_code == 200
    events = client.get("/api/v1/events", headers=edge.read_headers()).json()
    assert any(e["ended_at"] is None for e in events)

    returncode = edge.stop()

    with closing(sqlite3.connect(edge.db_path)) as db:
        total = db.execute("SELECT count(*) FROM events").fetchone()[0]
        still_open = db.execute("SELECT id FROM events WHERE ended_at IS NULL").fetchall()
    assert total >= len(events)
    assert still_open == [], "events left open after shutdown"
    assert returncode == 0, f"exit code {returncode}; end of stderr:\n{edge.stderr[-1500:]}"


def test_output_never_contains_secrets(edge: EdgeProcess) -> None:
    edge.stop()
    output = edge.output
    assert edge.api_token is not None
    assert "edge box stopping" in output  # the output checked is the whole run's
    for secret in (*edge.tokens.values(), edge.api_token):
        assert secret not in output
