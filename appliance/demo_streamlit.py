"""The demo's monitoring UI: Streamlit (ui/app.py) as a child process, and its stopping.

The child runs in a session of its own, so a terminal's Ctrl-C reaches only the demo, which
then stops it (SIGTERM, then SIGKILL) and waits for it. The edge's API token reaches the app
through the environment (`${VAR}` in the generated ui.yaml), never a file or a command line.
It listens on loopback only, where the UI asks for no password (ui/config.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx

from appliance.config_loader import write_config
from appliance.ui_launcher import HEALTH_PATH, streamlit_command
from ui.config import CONFIG_ENV, UiConfig

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
REFRESH_S = 2.0
TOKEN_VARIABLE = "APPLIANCE_DEMO_API_TOKEN"
TOKEN_REFERENCE = "${" + TOKEN_VARIABLE + "}"
STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 20


def ui_url(port: int) -> str:
    return f"http://{HOST}:{port}"


class UiStartError(Exception):
    """The UI exited or did not answer in time; the message carries the end of its output."""


class DemoUi:
    """`ui/app.py` under Streamlit on 127.0.0.1:`port`, reading the edge at `edge_url`."""

    def __init__(self, run_dir: Path, edge_url: str, api_token: str, port: int) -> None:
        self._config = UiConfig(edge_url=edge_url, host=HOST, port=port, refresh_s=REFRESH_S)
        self.url = ui_url(port)
        self.log_path = run_dir / "ui.log"
        self._config_path = run_dir / "ui.yaml"
        settings = {**self._config.model_dump(exclude_none=True), "api_token": TOKEN_REFERENCE}
        write_config(self._config_path, settings)
        self._api_token = api_token
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, stop: threading.Event) -> None:
        """Start Streamlit and wait until it answers; `UiStartError` if it dies or hangs."""
        env = {**os.environ, TOKEN_VARIABLE: self._api_token}
        env[CONFIG_ENV] = str(self._config_path.resolve())
        with self.log_path.open("wb") as output:
            self.process = subprocess.Popen(
                streamlit_command(self._config),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        log.info("demo: ui started (pid %d), its output in %s", self.process.pid, self.log_path)
        self._wait_healthy(stop)

    def _wait_healthy(self, stop: threading.Event) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        with httpx.Client(timeout=2.0) as client:
            while not stop.is_set():
                if (code := self.exit_code()) is not None:
                    raise UiStartError(self.failure(f"the UI exited with status {code}"))
                try:
                    if client.get(self.url + HEALTH_PATH).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise UiStartError(self.failure(f"the UI did not answer at {self.url}"))
                stop.wait(0.25)

    def exit_code(self) -> int | None:
        """The UI's exit status once it has exited; None while it runs (or before start)."""
        return None if self.process is None else self.process.poll()

    def failure(self, what: str) -> str:
        """`what` went wrong, then the end of the UI's output (where Streamlit says why)."""
        if not self.log_path.exists():
            return what
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join([f"{what}, its last output:", *lines[-LOG_TAIL_LINES:]])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; returns once it has exited."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("demo: the UI did not stop in %.0f s: killed", STOP_TIMEOUT_S)
            process.kill()
            process.wait()
        # Anything Streamlit started in its session goes with it.
        _signal_group(process.pid, signal.SIGKILL)


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)
