"""The processes of `appliance bench link`: an `appliance edge` in the edge's network namespace
and an `appliance camera` in the camera's, under a CPU quota, each with its YAML config written
here, its output in a log file beside it, and both stopped however the run ends."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from appliance.bench.netns_link import ShapedLink
from appliance.config_loader import write_config

PORT = 8080
CAMERA_ID = "linkbench"
START_S = 90.0
"""An edge loading its models and migrating its store answers well within this."""


class LinkRunError(RuntimeError):
    """A process of the run failed (its log names why)."""


@dataclass(frozen=True)
class ExitFile:
    name: str
    path: Path
    accuracy: float
    """Measured (`appliance.plan.default_exits`): the camera plans with it as declared."""


@dataclass(frozen=True)
class CameraPlanning:
    """What the camera node plans with."""

    exits: tuple[ExitFile, ...]
    device_profile: Path
    edge_profile: Path
    deadline_ms: float
    encoding: str
    edge_detector_exit: str
    """The exit that is the edge's detector (the default detector): edge-only runs it."""


def edge_config(work: Path, exits: tuple[ExitFile, ...], api_token: str, token: str) -> Path:
    config: dict[str, Any] = {
        "listen": {"host": "0.0.0.0", "port": PORT},
        "api_token": api_token,
        "data_dir": str(work / "data"),
        "cameras": [{"id": CAMERA_ID, "token": token}],
        "edgent": {
            "enabled": True,
            "exits": [{"name": e.name, "model_path": str(e.path)} for e in exits],
        },
    }
    return write_config(work / "edge.yaml", config)


def camera_config(
    work: Path, video: Path, edge_url: str, token: str, planning: CameraPlanning
) -> Path:
    config: dict[str, Any] = {
        "id": CAMERA_ID,
        "source": str(video),
        "edge_url": edge_url,
        "token": token,
        "realtime": True,
        "edgent": {
            "enabled": True,
            "exits": [
                {"name": e.name, "model_path": str(e.path), "accuracy": e.accuracy}
                for e in planning.exits
            ],
            "edge_detector_exit": planning.edge_detector_exit,
            "device_profile": str(planning.device_profile),
            "edge_profile": str(planning.edge_profile),
            "deadline_ms": planning.deadline_ms,
            "codec": {"encoding": planning.encoding},
            "threads": 1,
        },
    }
    return write_config(work / "camera.yaml", config)


def start_role(
    link: ShapedLink,
    namespace: str,
    role: str,
    config: Path,
    preexec: Callable[[], None] | None = None,
) -> subprocess.Popen[bytes]:
    """`appliance ROLE --config CONFIG` in `namespace`, its output in ROLE.log beside it."""
    argv = [sys.executable, "-m", "appliance.cli", "--log-level", "WARNING", role]
    with (config.parent / f"{role}.log").open("wb") as log:
        return subprocess.Popen(
            link.command(namespace, [*argv, "--config", str(config)]),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec,
        )


def wait_healthy(url: str, edge: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if edge.poll() is not None:
            raise LinkRunError(f"the edge exited while starting: {tail(log)}")
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise LinkRunError(f"the edge did not answer within {START_S:.0f} s: {tail(log)}")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"
