"""`appliance camera` on a real RTSP camera, against a real edge box: the stream drops and
comes back by itself, the edge sees the node's state, and no secret reaches any log."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.edge_process import EdgeProcess, appliance_command, running_edge
from tests.rtsp_server import RtspServer

RTSP_USER, RTSP_PASSWORD = "viewer", "rtsp-pa55-" + secrets.token_hex(4)


def camera_stats(edge: EdgeProcess) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {edge.api_token}"}
    stats = httpx.get(f"{edge.base_url}/api/v1/stats", headers=headers, timeout=5).json()
    camera: dict[str, Any] = stats["cameras"][0]
    return camera


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def write_camera_config(path: Path, server: RtspServer, edge: EdgeProcess) -> None:
    assert RTSP_PASSWORD in server.url
    config = {
        "id": "street",
        "source": server.url,
        "edge_url": edge.base_url,
        "token": edge.tokens["street"],
        "filter": {"max_interval_s": 0.5},
        "reconnect": {"initial_backoff_s": 0.3, "max_backoff_s": 1.0},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


def test_camera_survives_a_server_restart(tmp_path: Path, h264_clip: Path) -> None:
    token = "street-" + secrets.token_hex(8)
    server = RtspServer(h264_clip, user=RTSP_USER, password=RTSP_PASSWORD)
    server.start()
    try:
        with running_edge(tmp_path / "edge", {"street": token}, api_token=secrets.token_hex(8),
                          log_level="INFO") as edge:  # fmt: skip
            config = tmp_path / "camera.yaml"
            write_camera_config(config, server, edge)
            log = (tmp_path / "camera.log").open("wb")
            camera = subprocess.Popen(
                [*appliance_command(), "--log-level", "DEBUG", "camera", "--config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            try:
                check_drop_and_recovery(server, edge)
                camera.send_signal(signal.SIGTERM)
                assert camera.wait(timeout=20) == 0
            finally:
                if camera.poll() is None:
                    camera.kill()
                log.close()
            wait_until(lambda: camera_stats(edge)["state"] == "stopped", 10, "state stopped")
            output = (tmp_path / "camera.log").read_text(errors="replace") + edge.output
            assert RTSP_PASSWORD not in output
            assert token not in output
            assert "rtsp://***@" in output
    finally:
        server.close()


def check_drop_and_recovery(server: RtspServer, edge: EdgeProcess) -> None:
    wait_until(lambda: camera_stats(edge)["state"] == "connected", 30, "first connection")
    wait_until(lambda: camera_stats(edge)["frames_received"] >= 3, 30, "first frames")

    server.stop()
    wait_until(lambda: camera_stats(edge)["state"] == "retrying", 20, "state retrying")
    received_during_outage = camera_stats(edge)["frames_received"]

    server.start()
    wait_until(lambda: camera_stats(edge)["state"] == "connected", 30, "reconnection")
    wait_until(
        lambda: camera_stats(edge)["frames_received"] > received_during_outage + 2,
        30,
        "frames after reconnection",
    )
