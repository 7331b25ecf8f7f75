"""`appliance demo`'s progress bar: on a terminal it goes to stderr with frames, frames sent, fps
and time left, while stdout carries only the summary; `--quiet` draws none."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import termios
import threading
from pathlib import Path

from tests.edge_process import PROJECT_ROOT, appliance_command

FRAMES = 8
BAR = re.compile(rb"demo: +100%\|[^|]*\| (\d+)/(\d+) \[[^]]*<[^]]*frame/s, sent=(\d+)\]")


def run_on_a_terminal(tmp_path: Path, *args: str) -> tuple[str, bytes]:
    """`appliance demo --json ARGS` with stderr on a pseudo-terminal, as in a shell where stdout
    is piped: what it printed on stdout, and what the terminal received."""
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    received = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the demo closed the terminal
                return
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    command = [*appliance_command(), "--log-level", "WARNING", "demo", "--json"]
    command += ["--frames", str(FRAMES), "--data-dir", str(tmp_path), *args]
    process = subprocess.run(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=terminal, timeout=300
    )
    os.close(terminal)
    reader.join(timeout=10)
    os.close(master)
    assert process.returncode == 0, received.decode(errors="replace")
    return process.stdout.decode(), bytes(received)


def test_the_bar_shows_on_the_terminal_and_never_in_the_json(tmp_path: Path) -> None:
    stdout, terminal = run_on_a_terminal(tmp_path)
    summary = json.loads(stdout)  # one JSON object and nothing else
    bars = BAR.findall(terminal)
    assert bars, terminal.decode(errors="replace")
    read, total, sent = (int(n) for n in bars[-1])
    assert read == total == summary["frames"] == FRAMES
    assert sent == summary["frames_sent"]


def test_quiet_draws_no_bar(tmp_path: Path) -> None:
    stdout, terminal = run_on_a_terminal(tmp_path, "--quiet")
    assert json.loads(stdout)["frames"] == FRAMES
    assert b"frame/s" not in terminal and b"demo:" not in terminal
