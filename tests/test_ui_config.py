"""`appliance ui`: its config (example, one-line errors) and its launcher under systemd."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from appliance.config_loader import load_config
from appliance.edge.server import free_port
from tests.edge_process import PROJECT_ROOT, appliance_command
from tests.notify_listener import NotifyListener
from ui.config import UiConfig


def test_example_config_loads() -> None:
    config = load_config(PROJECT_ROOT / "configs" / "ui.yaml", UiConfig)
    assert config.edge_url == "http://127.0.0.1:8080"
    assert config.viewer_edge_url == config.edge_url


def test_bad_config_stops_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ui.yaml"
    path.write_text("edge_url: http://127.0.0.1:8080\nrefresh_s: 0\nportt: 1\n", encoding="utf-8")
    result = subprocess.run(
        [*appliance_command(), "ui", "--config", str(path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"appliance: config error: {path}: refresh_s: Input should be greater than or equal"
        " to 1; portt: unknown setting"
    )


def test_launcher_tells_systemd_ready_feeds_the_watchdog_and_stops(tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "ui.yaml"
    path.write_text(f"edge_url: http://127.0.0.1:9\nport: {port}\n", encoding="utf-8")
    with NotifyListener(tmp_path / "notify.sock") as listener:
        env = {**os.environ, **listener.env(2_000_000), "HOME": str(tmp_path)}
        process = subprocess.Popen(
            [*appliance_command(), "ui", "--config", str(path)],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            listener.wait_for("READY", timeout_s=60)
            assert httpx.get(f"http://127.0.0.1:{port}/_stcore/health").text == "ok"
            listener.wait_for("WATCHDOG", count=2, timeout_s=10)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        listener.wait_for("STOPPING", timeout_s=5)
    ready = listener.with_key("READY")[0].fields
    assert ready["STATUS"] == f"ui on http://127.0.0.1:{port}"
