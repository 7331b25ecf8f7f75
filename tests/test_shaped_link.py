"""Edgent over a real shaped link: a camera node in one network namespace plans against an edge
box in another, across a veth pair that `tc` rate-limits. When the link's rate drops, the
planner's measured bandwidth (what the edge shows as the camera's plan) follows within seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from appliance.bench.netns_link import ShapedLink, shaped_link, unavailable
from tests.edge_process import PROJECT_ROOT
from tests.edgent_fixtures import FIXTURES
from tests.edgent_runtime import CONFIDENCE, camera_edgent, edge_extra
from tests.footage import vtest_path

CAMERA, TOKEN, API_TOKEN = "shaped", "shaped-token-1", "shaped-api-token"
PORT = 8080
FAST_MBIT, SLOW_MBIT = 40.0, 1.0
CAMERA_SLOWDOWN = 40.0
"""A camera this much slower than the recorded profile's CPU: running the whole model on it
misses the requirement, so a fast link is worth using."""
DEADLINE_MS = 100.0
LAST: dict[str, Any] = {}
FOLLOW_S = 10.0
"""How soon the planner must see the new rate."""


@pytest.fixture(scope="module")
def link() -> Iterator[ShapedLink]:
    why = unavailable()
    if why is not None:  # the loopback token bucket (tests/test_plan_bench.py) still runs
        pytest.skip(f"no shaped link on this machine: {why}")
    with shaped_link(FAST_MBIT) as made:
        yield made


def start(link: ShapedLink, namespace: str, role: str, config: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "appliance.cli", "--log-level", "WARNING", role]
    log = (config.parent / f"{role}.log").open("wb")
    return subprocess.Popen(
        link.command(namespace, [*command, "--config", str(config)]),
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def camera_profile(folder: Path, slowdown: float) -> Path:
    profile = json.loads((FIXTURES / "camera.json").read_text())
    profile["scale"] *= slowdown
    path = folder / "camera-profile.json"
    path.write_text(json.dumps(profile))
    return path


def write(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def running(
    link: ShapedLink, edgent_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The edge in its namespace, a camera node planning against it in the other; the URL the
    test reads the edge at."""
    work = tmp_path_factory.mktemp("shaped")
    edge_config = {
        "listen": {"host": "0.0.0.0", "port": PORT},
        "api_token": API_TOKEN,
        "data_dir": str(work / "data"),
        "cameras": [{"id": CAMERA, "token": TOKEN}],
        # Edge-only frames (JPEGs) meet the exit's own model, as the planner's profiles assume.
        "detector": {"kind": "yolo-onnx", "yolo_onnx": {"model_path": str(edgent_model)}},
        **edge_extra(edgent_model),
    }
    edge = start(link, link.edge_ns, "edge", write(work / "edge.yaml", edge_config))
    url = f"http://{link.edge_from_test}:{PORT}"
    node: subprocess.Popen[bytes] | None = None
    try:
        wait_healthy(url, edge)
        camera_config = {
            "id": CAMERA,
            "source": str(vtest_path()),
            "edge_url": f"http://{link.edge_address}:{PORT}",
            "token": TOKEN,
            "realtime": True,
            "edgent": camera_edgent(
                edgent_model,
                device_profile=str(camera_profile(work, CAMERA_SLOWDOWN)),
                edge_profile=str(FIXTURES / "edge.json"),
                deadline_ms=DEADLINE_MS,
                min_confidence=CONFIDENCE,
            ),
        }
        node = start(link, link.camera_ns, "camera", write(work / "camera.yaml", camera_config))
        yield url
    finally:
        for process in (node, edge):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(20)


def wait_healthy(url: str, edge: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert edge.poll() is None, "the edge exited while starting"
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the edge in its namespace did not answer")


def planned_mbps(url: str) -> float | None:
    """The bandwidth the camera's planner measured, as the edge shows it (None: none yet)."""
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    cameras = httpx.get(url + "/api/v1/stats", headers=headers, timeout=5).json()["cameras"]
    (camera,) = [c for c in cameras if c["id"] == CAMERA]
    report = camera["plan"]
    LAST.clear()
    LAST.update(camera)
    if report is None or not report["bandwidth_measured"]:
        return None
    return float(report["bandwidth_mbps"])


def wait_for_mbps(url: str, within_s: float, fits: Any) -> tuple[float, float]:
    """(seconds waited, bandwidth) once the planned bandwidth `fits`; fails after `within_s`."""
    started = time.monotonic()
    seen: list[float | None] = []
    while time.monotonic() - started < within_s:
        mbps = planned_mbps(url)
        seen.append(mbps)
        if mbps is not None and fits(mbps):
            return time.monotonic() - started, mbps
        time.sleep(0.25)
    raise AssertionError(
        f"planned bandwidth never fit within {within_s} s: {seen[-12:]}; camera: {LAST}"
    )


def planned_cut() -> int:
    cut: int = LAST["plan"]["plan"]["cut"]
    return cut


def test_the_planner_follows_the_links_rate(link: ShapedLink, running: str) -> None:
    _, fast = wait_for_mbps(running, 60, lambda mbps: mbps > 4.0)
    fast_cut = planned_cut()
    link.set_rate(SLOW_MBIT)
    # Within seconds the planner sees the drop (its estimate within 3x of the new rate: the
    # uploads it then plans are too small to measure more closely) and plans for it.
    wait_for_mbps(running, FOLLOW_S, lambda mbps: mbps < 3 * SLOW_MBIT)
    assert planned_cut() != fast_cut, "a plan for the fast link kept"
    link.set_rate(FAST_MBIT)  # and back up when the link recovers (a probe every 10 s)
    wait_for_mbps(running, 2 * FOLLOW_S + 5, lambda mbps: mbps > fast / 3)
