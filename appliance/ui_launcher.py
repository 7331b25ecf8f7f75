"""`appliance ui`: the launcher that runs the Streamlit app (ui/) with its config.

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

from ui.config import CONFIG_ENV, UiConfig

log = logging.getLogger(__name__)

HEALTH_PATH = "/_stcore/health"


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
