"""Run a role of the `appliance` CLI on a config the test writes, as a user would start it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


def run_cli(role: str, config: dict[str, Any], folder: Path) -> subprocess.CompletedProcess[str]:
    path = folder / f"{role}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    command = [sys.executable, "-m", "appliance.cli", "--log-level", "WARNING", role]
    return subprocess.run(
        [*command, "--config", str(path)], capture_output=True, text=True, timeout=120, check=False
    )


def assert_one_line_naming(result: subprocess.CompletedProcess[str], path: Path) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], result.stderr
    assert "Traceback" not in result.stderr
