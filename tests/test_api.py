"""The edge API as a camera node and an operator see it: a real `appliance edge` subprocess,
real JPEG frames of the vtest pedestrian clip, plain HTTP.

Bad uploads are in test_api_refusals.py. The edge starts once for the module. Tests run in
file order; the last two stop the edge (SIGTERM) and then inspect its database and output.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST
from tests.api_edge import (
    DOOR,
    YARD,
    api_edge,
    assert_detections_inside_frame,
    first_vtest_jpegs,
    meta,
    post_frame,
)
from tests.edge_process import EdgeProcess, camera_stats, stats, store_totals


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


EVENT_RUN_FRAMES = 40


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
