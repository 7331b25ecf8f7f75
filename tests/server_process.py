"""Helpers shared by the fixtures that run real servers (PostgreSQL, Mosquitto, the appliance):
stop a process by its PID with escalating signals, wait for a port or any condition."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
HOST = "127.0.0.1"


def stop_process(
    proc: subprocess.Popen[bytes],
    signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGKILL),
    timeout_s: float = 10.0,
    extra_pids: Sequence[int] = (),
) -> int | None:
    """Send each signal in turn (to ``proc`` and ``extra_pids``) until ``proc`` exits; returns
    its exit code (None if it survived everything)."""
    for sig in signals:
        if proc.poll() is not None:
            break
        for pid in (*extra_pids, proc.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout_s)
    return proc.poll()


def port_open(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for(
    condition: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.05
) -> T:
    """Poll until ``condition()`` is truthy and return it; AssertionError naming ``what`` at the
    deadline. (A deadline, not a timing claim: it only bounds a hung test.)"""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)
