"""`appliance ui`: the monitoring UI's config, and the launcher that runs Streamlit with it.

The Streamlit app reads the same YAML itself (its path in APPLIANCE_UI_CONFIG), so the edge's
API token never appears on a command line or in a log line.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

log = logging.getLogger(__name__)

CONFIG_ENV = "APPLIANCE_UI_CONFIG"
HEALTH_PATH = "/_stcore/health"


class UiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    edge_url: str = Field(
        "http://127.0.0.1:8080",
        description="Base URL of the edge box's HTTP API, as this host reaches it.",
    )
    browser_edge_url: str | None = Field(
        None,
        description="The edge API's URL as the viewer's browser reaches it (live view over"
        " WebRTC or MJPEG); default: edge_url.",
    )
    api_token: SecretStr | None = Field(
        None, description="The edge's api_token (use ${VAR} to take it from the environment)."
    )
    refresh_s: float = Field(5.0, ge=1.0, le=300.0, description="Seconds between refreshes.")
    host: str = Field("127.0.0.1", description="Address the UI's web server binds to.")
    port: int = Field(8501, ge=1, le=65535, description="TCP port of the UI's web server.")

    @field_validator("edge_url", "browser_edge_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return None if url is None else url.rstrip("/")

    @property
    def viewer_edge_url(self) -> str:
        return self.browser_edge_url or self.edge_url


def app_path() -> Path:
    import ui

    return Path(ui.__file__).resolve().parent / "app.py"


def streamlit_command(config: UiConfig) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(app_path()),
        "--server.address", config.host,
        "--server.port", str(config.port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip


def run_ui(config_path: Path, config: UiConfig) -> int:
    """Run Streamlit until it exits or SIGTERM; READY/watchdog for systemd while it answers."""
    from appliance.service.liveness import ServiceLiveness

    env = {**os.environ, CONFIG_ENV: str(config_path.resolve())}
    url = f"http://{config.host}:{config.port}"
    with ServiceLiveness.from_environment(f"ui on {url}") as live:
        process = subprocess.Popen(streamlit_command(config), env=env, stdin=subprocess.DEVNULL)

        def terminate(*_: object) -> None:
            live.stopping()
            process.terminate()

        signal.signal(signal.SIGTERM, terminate)
        log.info("ui: serving %s, reading the edge at %s", url, config.edge_url)
        _watch(process, url + HEALTH_PATH, live.beat)
    return 0 if process.returncode in (0, -signal.SIGTERM) else 1


def _watch(process: subprocess.Popen[bytes], health_url: str, beat: Callable[[], None]) -> None:
    with httpx.Client(timeout=2.0) as client:
        while process.poll() is None:
            try:
                if client.get(health_url).status_code == 200:
                    beat()
            except httpx.TransportError:
                pass
            time.sleep(1.0)
