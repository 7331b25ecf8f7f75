"""Camera nodes report their source's health; the edge keeps the newest report per camera."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from appliance.edge.access_config import ListenConfig
from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeCameraConfig, EdgeConfig
from appliance.edge.server import EdgeServer, free_port
from cameras.edge_client import EdgeUplink
from cameras.protocol import CameraStatus

TOKEN = "camera-token-0123456789"


@pytest.fixture()
def edge(tmp_path: Path) -> Iterator[tuple[EdgeBox, str]]:
    config = EdgeConfig(
        listen=ListenConfig(port=free_port()),
        data_dir=tmp_path,
        cameras=[EdgeCameraConfig(id="gate", name="Gate", token=TOKEN)],
    )
    box = EdgeBox(config)
    with EdgeServer(box, config.listen.port) as server:
        yield box, server.url
    box.close()


def camera_state(url: str) -> dict[str, object]:
    cameras = httpx.get(f"{url}/api/v1/stats").json()["cameras"]
    state: dict[str, object] = cameras[0]
    return state


def test_reported_state_shows_in_stats(edge: tuple[EdgeBox, str]) -> None:
    _, url = edge
    uplink = EdgeUplink(url, "gate", TOKEN)
    now = time.time()
    assert uplink.report_status(CameraStatus(state="connected", since=now))
    assert camera_state(url)["state"] == "connected"
    detail = "read timed out from rtsp://***@10.1.1.1/stream"
    assert uplink.report_status(CameraStatus(state="retrying", since=now + 5, detail=detail))
    state = camera_state(url)
    assert state["state"] == "retrying" and state["state_detail"] == detail
    assert state["state_since"] == pytest.approx(now + 5)


def test_late_report_does_not_overwrite_newer_state(edge: tuple[EdgeBox, str]) -> None:
    _, url = edge
    uplink = EdgeUplink(url, "gate", TOKEN)
    now = time.time()
    uplink.report_status(CameraStatus(state="failed", since=now))
    uplink.report_status(CameraStatus(state="connected", since=now - 10))
    assert camera_state(url)["state"] == "failed"


def test_state_reports_need_the_camera_token(edge: tuple[EdgeBox, str]) -> None:
    _, url = edge
    body = {"state": "connected", "since": time.time()}
    assert httpx.post(f"{url}/api/v1/cameras/gate/status", json=body).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    response = httpx.post(f"{url}/api/v1/cameras/gate/status", json=body, headers=wrong)
    assert response.status_code == 401
    assert not EdgeUplink(url, "nope", TOKEN).report_status(CameraStatus(**body))
    assert camera_state(url)["state"] is None


def test_unknown_state_is_refused(edge: tuple[EdgeBox, str]) -> None:
    _, url = edge
    response = httpx.post(
        f"{url}/api/v1/cameras/gate/status",
        json={"state": "exploded", "since": time.time()},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 422
    assert camera_state(url)["state"] is None
