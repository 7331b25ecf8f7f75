"""Camera settings through the API: validated like the YAML, applied at once, kept on restart."""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeConfig
from appliance.edge.http import settings as settings_routes
from appliance.edge.server import EdgeServer, free_port
from tests.edge_process import EdgeProcess, running_edge
from tests.live_edge import feed, vtest_jpegs

CAMERA = "door"
YAML_ZONE = {"name": "entrance", "points": [[0, 300], [400, 300], [400, 576], [0, 576]]}
NEW_SETTINGS: dict[str, Any] = {
    "difference_threshold": 0.07,
    "zones": [{"name": "path", "points": [[0, 0], [768, 0], [768, 576], [0, 576]]}],
    "budget_bytes_per_s": 50_000,
}


def start(work: Path, api_token: str) -> Any:
    cameras = [{"id": CAMERA, "name": CAMERA, "token": "door-token-1234", "zones": [YAML_ZONE]}]
    return running_edge(
        work, {CAMERA: "door-token-1234"}, api_token=api_token, extra={"cameras": cameras}
    )


def url(camera: str = CAMERA) -> str:
    return f"/api/v1/cameras/{camera}/settings"


def put(client: httpx.Client, edge: EdgeProcess, body: Any) -> httpx.Response:
    return client.put(url(), json=body, headers=edge.read_headers())


def get(client: httpx.Client, edge: EdgeProcess) -> dict[str, Any]:
    response = client.get(url(), headers=edge.read_headers())
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def fixed_part(feedback: dict[str, Any]) -> dict[str, Any]:
    """The feedback without `next_frame_s`, which follows the tracks of the frames fed."""
    return {k: v for k, v in feedback.items() if k != "next_frame_s"}


def check_refusals(client: httpx.Client, edge: EdgeProcess) -> None:
    too_few = {"zones": [{"name": "x", "points": [[0, 0], [1, 1]]}]}
    response = put(client, edge, too_few)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("zones.0.points: ")
    response = put(client, edge, {"difference_threshold": 1.5})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "difference_threshold: Input should be less than or equal to 1"
    )
    response = put(client, edge, {"threshold": 0.1})
    assert response.json()["detail"] == "threshold: unknown setting"
    twice = {"zones": [YAML_ZONE, YAML_ZONE]}
    assert "repeated: entrance" in put(client, edge, twice).json()["detail"]
    assert client.put(url(), json=NEW_SETTINGS).status_code == 401
    unknown = client.put(url("nope"), json=NEW_SETTINGS, headers=edge.read_headers())
    assert unknown.status_code == 404


def test_settings_are_validated_applied_and_survive_a_restart(tmp_path: Path) -> None:
    api_token = "api-" + secrets.token_hex(8)
    jpegs = vtest_jpegs(6)
    with start(tmp_path, api_token) as edge, httpx.Client(base_url=edge.base_url) as client:
        before = get(client, edge)
        assert before["settings"]["zones"] == [YAML_ZONE]
        assert before["settings"]["difference_threshold"] is None
        assert before["in_force"]["adaptive"] is True
        reply = feed(client, edge, CAMERA, jpegs[:2])[-1]
        assert reply["feedback"]["budget_bytes_per_s"] is None
        assert reply["feedback"]["jpeg_quality"] == 70  # the events query's
        assert reply["feedback"]["query"] == "events"  # named, with its target, for the camera
        assert reply["feedback"]["accuracy_target"] == 0.9
        check_refusals(client, edge)
        assert get(client, edge)["settings"] == before["settings"]  # nothing refused applied

        response = put(client, edge, NEW_SETTINGS)
        assert response.status_code == 200, response.text
        assert response.json()["in_force"] == {
            "query": None,
            "accuracy_target": None,
            "estimated_accuracy": None,
            "difference_threshold": 0.07,
            "skip_share": 0.0,
            "backoffs": 0,
            "follows_boxes": None,
            "adaptive": False,
            "budget_bytes_per_s": 50_000,
        }
        reply = feed(client, edge, CAMERA, jpegs[2:4])[-1]
        assert fixed_part(reply["feedback"]) == {
            "difference_threshold": 0.07,
            "skip_share": 0.0,
            "budget_bytes_per_s": 50_000,
            "jpeg_quality": None,  # a fixed threshold: no query, the camera's own quality
            "query": None,
            "accuracy_target": None,
            "send_picture": False,
            "masks": {"motion": [], "privacy": []},
        }

    with start(tmp_path, api_token) as edge, httpx.Client(base_url=edge.base_url) as client:
        after = get(client, edge)
        assert after["settings"]["zones"] == NEW_SETTINGS["zones"]
        assert after["settings"]["difference_threshold"] == 0.07
        reply = feed(client, edge, CAMERA, jpegs[4:])[-1]
        assert fixed_part(reply["feedback"]) == {
            "difference_threshold": 0.07,
            "skip_share": 0.0,
            "budget_bytes_per_s": 50_000,
            "jpeg_quality": None,  # a fixed threshold: no query, the camera's own quality
            "query": None,
            "accuracy_target": None,
            "send_picture": False,
            "masks": {"motion": [], "privacy": []},
        }

        back = put(client, edge, {"zones": [YAML_ZONE]})  # adaptive again, no fixed budget
        assert back.status_code == 200
        assert back.json()["in_force"]["adaptive"] is True
        assert back.json()["in_force"]["query"] == "events"
        assert back.json()["in_force"]["budget_bytes_per_s"] is None


def test_a_cameras_query_is_set_through_the_api_and_shown_in_stats(tmp_path: Path) -> None:
    api_token = "api-" + secrets.token_hex(8)
    jpegs = vtest_jpegs(4)
    with start(tmp_path, api_token) as edge, httpx.Client(base_url=edge.base_url) as client:
        refused = put(client, edge, {"query": "faces"})
        assert refused.status_code == 422 and refused.json()["detail"].startswith("query: ")
        response = put(client, edge, {"query": "boxes", "accuracy_target": 0.95})
        assert response.status_code == 200, response.text
        replies = feed(client, edge, CAMERA, jpegs)
        assert all(r["feedback"]["skip_share"] is not None for r in replies)
        # Exact boxes keep the camera's own JPEG quality (counts too); events need less.
        assert all(r["feedback"]["jpeg_quality"] is None for r in replies)
        stats = client.get("/api/v1/stats", headers=edge.read_headers()).json()
        (camera,) = [c for c in stats["cameras"] if c["id"] == CAMERA]
        control = camera["control"]
        assert control["query"] == "boxes" and control["accuracy_target"] == 0.95
        # The edge has seen frames: it estimates how well it answers the query between them.
        assert 0.0 <= control["estimated_accuracy"] <= 1.0
        assert control["skip_share"] == replies[-1]["feedback"]["skip_share"]
        assert put(client, edge, {"query": "counts"}).status_code == 200
        assert feed(client, edge, CAMERA, jpegs[:1])[0]["feedback"]["jpeg_quality"] is None
        assert put(client, edge, {"query": "events"}).status_code == 200
        assert feed(client, edge, CAMERA, jpegs[:1])[0]["feedback"]["jpeg_quality"] == 70


def test_concurrent_changes_leave_what_is_stored_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = EdgeConfig.model_validate(
        {
            "data_dir": str(tmp_path),
            "detector": {"kind": "hog"},
            "api_token": "api-token-5678",
            "cameras": [{"id": CAMERA, "token": "door-token-1234"}],
        }
    )
    box = EdgeBox(config)
    apply = settings_routes.apply_settings

    def slow_apply(box: EdgeBox, camera_id: str, settings: Any) -> None:
        # The first change is slow to apply: the second saves and applies meanwhile.
        if settings.difference_threshold == 0.01:
            time.sleep(0.5)
        apply(box, camera_id, settings)

    monkeypatch.setattr(settings_routes, "apply_settings", slow_apply)
    headers = {"Authorization": "Bearer api-token-5678"}
    with EdgeServer(box, free_port()) as server, httpx.Client(base_url=server.url) as client:

        def change(threshold: float) -> int:
            return client.put(
                url(), json={"difference_threshold": threshold}, headers=headers
            ).status_code

        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(change, 0.01)
            time.sleep(0.1)
            second = pool.submit(change, 0.02)
            assert (first.result(), second.result()) == (200, 200)
        in_force = box.cameras[CAMERA].difference_threshold
    box.close()
    stored = EdgeBox(config)  # a restart reads what was saved
    try:
        assert stored.cameras[CAMERA].difference_threshold == in_force == 0.02
    finally:
        stored.close()
