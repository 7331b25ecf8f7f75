"""A small sd_notify client: tells systemd READY, STATUS, STOPPING and feeds its watchdog.

systemd passes `$NOTIFY_SOCKET` to a `Type=notify` service: an AF_UNIX datagram socket, a path
or, starting with '@', an abstract name. With `WatchdogSec=` it also passes `$WATCHDOG_USEC`
(the timeout) and `$WATCHDOG_PID` (the process expected to feed it). Without `$NOTIFY_SOCKET`
(run by hand, in tests, in a container) every call here does nothing.

The watchdog is fed from a daemon thread at half the timeout, and only while `alive()` says the
process is making progress: a hung main loop stops the feeding and systemd restarts the service.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 2.0


def socket_address(value: str) -> str | None:
    """The address to send to: a path, or '\\0name' for an abstract socket ('@name')."""
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    if value:
        log.warning("NOTIFY_SOCKET %r is not a unix socket address; not notifying systemd", value)
    return None


def watchdog_timeout_s(environ: Mapping[str, str], pid: int) -> float | None:
    """The watchdog timeout systemd set for this process, or None when there is none for us."""
    owner = environ.get("WATCHDOG_PID", "").strip()
    if owner and owner != str(pid):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1e6 if usec > 0 else None


class SystemdNotifier:
    """Sends sd_notify messages; thread-safe; a no-op when systemd did not ask for them."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = socket_address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_timeout_s = watchdog_timeout_s(env, os.getpid())
        self._socket: socket.socket | None = None
        # Reentrant: a signal handler (STOPPING=1) may run while the main thread sends.
        self._lock = threading.RLock()
        self._stop_feeding = threading.Event()
        self._feeder: threading.Thread | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *assignments: str) -> bool:
        """Send `KEY=VALUE` lines in one datagram; False when not sent (logged once)."""
        if self.address is None:
            return False
        message = "\n".join(assignments).encode("utf-8")
        with self._lock:
            try:
                if self._socket is None:
                    self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    self._socket.settimeout(SEND_TIMEOUT_S)
                self._socket.sendto(message, self.address)
            except OSError as exc:
                if not self._warned:
                    log.warning("cannot notify systemd at %s: %s", self.address, exc)
                    self._warned = True
                return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def stopping(self, status: str | None = None) -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def start_watchdog(self, alive: Callable[[], bool]) -> bool:
        """Feed the watchdog at half its timeout while `alive()`; False if systemd set none."""
        timeout = self.watchdog_timeout_s
        if self.address is None or timeout is None or self._feeder is not None:
            return False
        self._feeder = threading.Thread(
            target=self._feed, args=(alive, timeout / 2), name="sd-watchdog", daemon=True
        )
        self._feeder.start()
        return True

    def close(self) -> None:
        """Stop feeding the watchdog and close the socket."""
        self._stop_feeding.set()
        if self._feeder is not None and self._feeder is not threading.current_thread():
            self._feeder.join(timeout=5)
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None

    def _feed(self, alive: Callable[[], bool], interval_s: float) -> None:
        stalled = False
        while not self._stop_feeding.wait(interval_s):
            try:
                ok = alive()
            except Exception:
                log.exception("liveness check failed")
                ok = False
            if ok:
                self.watchdog()
                if stalled:
                    log.warning("watchdog: progress again, feeding systemd's watchdog")
            elif not stalled:
                log.warning("watchdog: no progress; not feeding systemd (it restarts us)")
            stalled = not ok
