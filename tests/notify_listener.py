"""A stand-in for systemd's notification socket: what a `Type=notify` service tells systemd.

A real AF_UNIX datagram socket (a path, or an abstract '@name') read by a thread; every
datagram is kept with its arrival time, split into its `KEY=VALUE` lines.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType


@dataclass(frozen=True)
class Message:
    at: float
    """time.monotonic() on arrival."""
    fields: dict[str, str]


class NotifyListener:
    def __init__(self, path: Path | None = None) -> None:
        """A socket at `path`, or an abstract one (NOTIFY_SOCKET=@name) when None."""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if path is None:
            name = f"appliance-test-{os.getpid()}-{id(self)}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.sock.bind(str(path))
            self.address = str(path)
        self.sock.settimeout(0.1)
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def env(self, watchdog_usec: int | None = None) -> dict[str, str]:
        """What systemd puts in the service's environment."""
        env = {"NOTIFY_SOCKET": self.address}
        if watchdog_usec is not None:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        return env

    def received(self) -> list[Message]:
        with self._lock:
            return list(self.messages)

    def with_key(self, key: str, value: str = "1") -> list[Message]:
        return [m for m in self.received() if m.fields.get(key) == value]

    def wait_for(self, key: str, value: str = "1", count: int = 1, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.with_key(key, value)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {count} x {key}={value} in {timeout_s:.0f} s; got {self.received()}"
                )
            time.sleep(0.02)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def __enter__(self) -> NotifyListener:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            lines = data.decode("utf-8").splitlines()
            fields = dict(line.split("=", 1) for line in lines if "=" in line)
            with self._lock:
                self.messages.append(Message(time.monotonic(), fields))
