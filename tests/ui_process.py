"""Start `appliance ui` (Streamlit) as a subprocess on a free port, reading a real edge box."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from appliance.edge.server import free_port
from tests.edge_process import PROJECT_ROOT, EdgeProcess, appliance_command

TOKEN_VARIABLE = "UI_TEST_EDGE_TOKEN"


@dataclass
class UiProcess:
    url: str
    process: subprocess.Popen[bytes]
    output_path: Path

    @property
    def output(self) -> str:
        return self.output_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextmanager
def running_ui(
    work_dir: Path, edge: EdgeProcess, refresh_s: float = 2.0, port: int | None = None
) -> Iterator[UiProcess]:
    """`appliance ui` with the edge's API token taken from the environment, as a service does;
    on `port` (default: a free one)."""
    port = port or free_port()
    config = {
        "edge_url": edge.base_url,
        "api_token": "${" + TOKEN_VARIABLE + "}",
        "refresh_s": refresh_s,
        "port": port,
    }
    path = work_dir / "ui.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {**os.environ, TOKEN_VARIABLE: edge.api_token or "", "HOME": str(work_dir)}
    output_path = work_dir / "ui.output"
    with output_path.open("wb") as out:
        process = subprocess.Popen(
            [*appliance_command(), "ui", "--config", str(path)],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    ui = UiProcess(f"http://127.0.0.1:{port}", process, output_path)
    try:
        _wait_healthy(ui, time.monotonic() + 60)
        yield ui
    finally:
        ui.stop()


def _wait_healthy(ui: UiProcess, deadline: float) -> None:
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if ui.process.poll() is not None:
                raise RuntimeError(
                    f"appliance ui exited with {ui.process.returncode}:\n{ui.output}"
                )
            try:
                if client.get(ui.url + "/_stcore/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"appliance ui not healthy in time:\n{ui.output}")
