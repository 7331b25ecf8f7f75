"""Start a real edge box (`appliance edge`) as a subprocess on a free loopback port.

Used by the API tests: the edge is driven only through HTTP and signals, exactly as a camera
node or an operator would, and its stdout/stderr stay readable after it stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from appliance.edge.server import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HEALTH_PATH = "/api/v1/health"
STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


def appliance_command() -> list[str]:
    """`python -m appliance.cli` with this interpreter (the console script as a fallback)."""
    probe = subprocess.run(
        [sys.executable, "-c", "import appliance.cli"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=False,
    )
    if probe.returncode == 0:
        return [sys.executable, "-m", "appliance.cli"]
    script = Path(sys.executable).with_name("appliance")
    if not script.exists():
        raise RuntimeError(f"cannot run the appliance CLI: {probe.stderr.decode(errors='replace')}")
    return [str(script)]


@dataclass
class EdgeProcess:
    """A running (or stopped) edge box and what it printed."""

    base_url: str
    tokens: dict[str, str]
    """Camera id -> camera token."""
    api_token: str | None
    data_dir: Path
    config_path: Path
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    returncode: int | None = field(default=None)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "appliance.db"

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def read_headers(self) -> dict[str, str]:
        """Headers for the read API (stats, events): the api token when one is configured."""
        return {"Authorization": f"Bearer {self.api_token}"} if self.api_token else {}

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, then SIGKILL after `timeout_s`; returns the exit code. Safe to call twice."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.returncode = self.process.returncode
        return self.returncode


def edge_config(
    port: int,
    data_dir: Path,
    tokens: Mapping[str, str],
    api_token: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "listen": {"host": "127.0.0.1", "port": port},
        "data_dir": str(data_dir),
        "cameras": [{"id": cid, "name": cid, "token": token} for cid, token in tokens.items()],
    }
    if api_token is not None:
        config["api_token"] = api_token
    for key, value in (extra or {}).items():
        if key == "listen":
            config["listen"].update(value)  # the port stays the free one found
        else:
            config[key] = value
    return config


def _wait_healthy(edge: EdgeProcess, deadline: float) -> None:
    with httpx.Client(timeout=1.0) as client:
        while True:
            if edge.process.poll() is not None:
                raise RuntimeError(
                    f"edge box exited with code {edge.process.returncode} during startup; "
                    f"stderr:\n{edge.stderr}"
                )
            try:
                if client.get(edge.base_url + HEALTH_PATH).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"edge box not healthy in time; stderr:\n{edge.stderr}")
            time.sleep(0.05)


@contextmanager
def running_edge(
    work_dir: Path,
    tokens: Mapping[str, str],
    api_token: str | None = None,
    extra: Mapping[str, Any] | None = None,
    log_level: str = "WARNING",
    startup_timeout_s: float = STARTUP_TIMEOUT_S,
) -> Iterator[EdgeProcess]:
    """Write an edge YAML into `work_dir`, start the edge, wait for health, stop on exit."""
    work_dir.mkdir(parents=True, exist_ok=True)
    data_dir = work_dir / "data"
    config_path = work_dir / "edge.yaml"
    command = appliance_command()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for attempt in range(3):  # a free port can be taken between probing and binding
        port = free_port()
        config = edge_config(port, data_dir, tokens, api_token, extra)
        config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        stdout_path, stderr_path = work_dir / "edge.stdout", work_dir / "edge.stderr"
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            process = subprocess.Popen(
                [*command, "--log-level", log_level, "edge", "--config", str(config_path)],
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        edge = EdgeProcess(
            base_url=f"http://127.0.0.1:{port}",
            tokens=dict(tokens),
            api_token=api_token,
            data_dir=data_dir,
            config_path=config_path,
            process=process,
            stdout_path=stdout_path,
            stderr_path=stderr_path,
        )
        try:
            _wait_healthy(edge, time.monotonic() + startup_timeout_s)
        except RuntimeError:
            edge.stop()
            if "address already in use" in edge.stderr.lower() and attempt < 2:
                continue
            raise
        break
    try:
        yield edge
    finally:
        edge.stop()


# --- reading the running edge's API ---------------------------------------------------------


def stats(client: httpx.Client, edge: EdgeProcess) -> dict[str, Any]:
    response = client.get("/api/v1/stats", headers=edge.read_headers())
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def store_totals(client: httpx.Client, edge: EdgeProcess) -> dict[str, int]:
    totals: dict[str, int] = stats(client, edge)["store"]
    return totals


def camera_stats(client: httpx.Client, edge: EdgeProcess, camera: str) -> dict[str, Any]:
    (row,) = [c for c in stats(client, edge)["cameras"] if c["id"] == camera]
    return row
