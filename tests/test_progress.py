"""Progress of long commands: bars on a terminal's stderr, never on stdout, none under --quiet.

A real `appliance bench edge` runs on a few frames of vtest (HOG, the quickest detector) with
its stderr on a pseudo-terminal, as a person at a terminal would see it, or on a pipe, as a
script or a log file would take it.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

FRAMES = 6
TIMEOUT_S = 300.0
BAR = re.compile(
    rf"full detector and cascade:\s+100%\|[^|]*\| {FRAMES}/{FRAMES} \[\d\d:\d\d<\d\d:\d\d,"
)
"""The stage's name, frames done of total, time taken and time left."""


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    config = tmp_path_factory.mktemp("progress") / "edge.yaml"
    config.write_text("cameras: [{id: bench, token: bench-token}]\ndetector: {kind: hog}\n")
    return [sys.executable, "-m", "appliance.cli", "bench", "edge", "--config", str(config)]


def on_terminal(command: list[str]) -> Run:
    """`command` with its stderr on a pseudo-terminal 120 columns wide, stdout on a pipe."""
    terminal, stderr = pty.openpty()
    fcntl.ioctl(stderr, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr
    )
    os.close(stderr)
    shown = bytearray()
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if select.select([terminal], [], [], 1.0)[0]:
                try:
                    chunk = os.read(terminal, 65536)
                except OSError:  # Linux: EIO once the command's end of the terminal is closed
                    break
                if not chunk:
                    break
                shown += chunk
        stdout, _ = process.communicate(timeout=30)
    finally:
        process.kill()
        os.close(terminal)
    return Run(process.returncode, stdout.decode(), shown.decode(errors="replace"))


def one_json_object(stdout: str) -> dict[str, object]:
    lines = stdout.splitlines()
    assert len(lines) == 1, f"stdout must be one JSON line, got {stdout!r}"
    report = json.loads(lines[0])
    assert isinstance(report, dict)
    return report


def test_a_terminal_sees_the_bar_and_stdout_only_the_json(bench: list[str]) -> None:
    done = on_terminal([*bench, "--frames", str(FRAMES), "--json"])
    assert done.returncode == 0, done.stderr
    assert one_json_object(done.stdout)["frames"] == FRAMES
    assert "\r" not in done.stdout and "frame/s" not in done.stdout
    assert f"0/{FRAMES}" in done.stderr, "the bar starts at none of the frames done"
    assert BAR.search(done.stderr), done.stderr


def test_quiet_leaves_the_terminal_to_errors(bench: list[str], tmp_path: Path) -> None:
    done = on_terminal([*bench, "--frames", str(FRAMES), "--json", "--quiet"])
    assert done.returncode == 0, done.stderr
    assert one_json_object(done.stdout)["frames"] == FRAMES
    assert done.stderr == "", "no bar and no INFO logs under --quiet"
    missing = tmp_path / "no-such-clip.avi"
    failed = on_terminal([*bench, "--frames", "2", "--quiet", "--video", str(missing)])
    assert failed.returncode != 0 and failed.stdout == ""
    assert str(missing) in failed.stderr, "the error still reaches the terminal"


def test_no_bar_when_stderr_is_not_a_terminal(bench: list[str]) -> None:
    done = subprocess.run(
        [*bench, "--frames", str(FRAMES), "--json"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert one_json_object(done.stdout)["frames"] == FRAMES
    assert "full detector and cascade" not in done.stderr
    assert "\r" not in done.stderr and "frame/s" not in done.stderr
