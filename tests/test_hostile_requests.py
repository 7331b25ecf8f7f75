"""Requests an attacker on the LAN sends: huge bodies without a token, junk that asks to be
echoed, camera ids of 70,000 characters. The box answers each with a short, clear refusal,
reads no more than it must, and goes on serving."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.edge_process import EdgeProcess, running_edge

CAMERA = "gate"
TOKEN = "gate-token-12345"
API_TOKEN = "api-token-123456"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with running_edge(tmp_path_factory.mktemp("edge"), {CAMERA: TOKEN}, api_token=API_TOKEN) as e:
        yield e


def client(edge: EdgeProcess) -> httpx.Client:
    return httpx.Client(base_url=edge.base_url, timeout=30)


def test_a_huge_body_is_refused_before_it_is_read(edge: EdgeProcess) -> None:
    huge = b"[" + b"1," * (10 * 1024 * 1024) + b"1]"  # 20 MB of JSON, no token
    with client(edge) as http:
        for path, method in (
            (f"/api/v1/cameras/{CAMERA}/status", "POST"),
            ("/api/v1/cameras/nosuch/status", "POST"),
            (f"/api/v1/cameras/{CAMERA}/settings", "PUT"),
        ):
            refused = http.request(method, path, content=huge)
            assert refused.status_code == 413, (path, refused.text[:200])
            assert len(refused.content) < 200  # nothing of the input comes back
        started = time.monotonic()
        assert http.get("/api/v1/health").status_code == 200
        assert time.monotonic() - started < 5.0  # still serving, not parsing


def test_the_token_is_checked_before_the_body(edge: EdgeProcess) -> None:
    with client(edge) as http:
        status = http.post(f"/api/v1/cameras/{CAMERA}/status", content=b"{not json")
        assert status.status_code == 401  # no token: the body is never parsed
        settings = http.put(f"/api/v1/cameras/{CAMERA}/settings", content=b"{not json")
        assert settings.status_code == 401
        camera = {"Authorization": f"Bearer {TOKEN}"}
        bad = http.post(f"/api/v1/cameras/{CAMERA}/status", content=b"{not json", headers=camera)
        assert bad.status_code == 422 and bad.json()["detail"].startswith("bad status report")


def test_errors_never_echo_the_input(edge: EdgeProcess) -> None:
    marker = "ECHO" * 2000
    camera = {"Authorization": f"Bearer {TOKEN}"}
    report = {"state": "connected", "since": time.time(), "detail": marker}
    with client(edge) as http:
        refused = http.post(f"/api/v1/cameras/{CAMERA}/status", json=report, headers=camera)
        assert refused.status_code == 422 and "ECHOECHO" not in refused.text
        long_id = "x" * 10_000  # (70,000 passes no HTTP client: the server echoes none of it)
        unknown = http.post(f"/api/v1/cameras/{long_id}/status", json=report)
        assert unknown.status_code == 401 and len(unknown.text) < 300
        readers = {"Authorization": f"Bearer {API_TOKEN}"}
        counts = http.get(f"/api/v1/cameras/{long_id}/counts", headers=readers)
        assert counts.status_code == 404 and len(counts.text) < 300
        typed = http.get("/api/v1/events", params={"limit": marker}, headers=readers)
        assert typed.status_code == 422 and "ECHOECHO" not in typed.text


def test_stored_settings_cannot_break_the_box(edge: EdgeProcess) -> None:
    readers = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    square = [[0, 0], [100, 0], [100, 100], [0, 100]]
    url = f"/api/v1/cameras/{CAMERA}/settings"
    with client(edge) as http:
        for points in (
            "[[0, 0], [NaN, 0], [100, 100]]",
            "[[0, 0], [1e308, 0], [100, 100]]",
            "[[0, 0], [-5, 0], [100, 100]]",
            str([[i, i] for i in range(65)]),
        ):
            body = '{"zones": [{"name": "bad", "points": ' + points + "}]}"
            refused = http.put(url, content=body, headers=readers)
            assert refused.status_code == 422, (points[:40], refused.text)
            assert refused.json()["detail"].startswith("zones.0.points")
        many = {"zones": [{"name": f"z{i}", "points": square} for i in range(33)]}
        too_many = http.put(url, json=many, headers=readers)
        assert too_many.status_code == 422 and too_many.json()["detail"].startswith("zones:")
        settings = http.get(url, headers=readers).json()["settings"]
        assert settings["zones"] == []  # nothing refused was stored
        assert http.get(f"/api/v1/cameras/{CAMERA}/frame.jpg", headers=readers).status_code in (
            200,
            404,  # no frame analysed yet: a clear answer either way, never 500
        )


@pytest.mark.parametrize("ticket", ["%C2%B2", "1.%C3%A9", "9999999999.x", ".", "abc"])
def test_a_bad_viewer_ticket_is_refused_not_a_server_error(edge: EdgeProcess, ticket: str) -> None:
    with client(edge) as http:
        response = http.get(f"/api/v1/cameras/{CAMERA}/frame.jpg?ticket={ticket}")
        assert response.status_code == 401, response.text


def test_the_api_schema_needs_the_token(edge: EdgeProcess) -> None:
    with client(edge) as http:
        assert http.get("/openapi.json").status_code == 401
        assert http.get("/docs").status_code == 404
        schema = http.get("/openapi.json", headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert schema.status_code == 200
        assert "/api/v1/cameras/{camera_id}/frames" in schema.json()["paths"]
