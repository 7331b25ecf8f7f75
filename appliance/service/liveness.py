"""A role's liveness for systemd: READY=1 at its first sign of progress, then the watchdog is
fed only while progress keeps coming.

The role's main loop calls `beat()` whenever it moves on: the edge box on every tick of
uvicorn's main loop (10 a second), a camera node on every frame and every reconnect attempt.
A loop that stops beating for `max_silence_s` (half the watchdog timeout by default) stops the
feeding, and systemd restarts the service once the timeout passes. The UI launcher can use the
same class: `with ServiceLiveness.from_environment("ui on :8501") as live: ... live.beat()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from appliance.service.notify import SystemdNotifier


class ServiceLiveness:
    def __init__(
        self,
        notifier: SystemdNotifier,
        status: str,
        max_silence_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.notifier = notifier
        self.status = status
        timeout = notifier.watchdog_timeout_s
        self.max_silence_s = max_silence_s if max_silence_s is not None else (timeout or 0) / 2
        self._clock = clock
        self._last: float | None = None
        self._stopping = False

    @classmethod
    def from_environment(cls, status: str, max_silence_s: float | None = None) -> ServiceLiveness:
        """Notifies the systemd that started this process (nothing when none did)."""
        return cls(SystemdNotifier(), status, max_silence_s)

    @property
    def ready(self) -> bool:
        return self._last is not None

    def beat(self) -> None:
        """The loop made progress; the first beat tells systemd the service is ready."""
        first = self._last is None
        self._last = self._clock()
        if first:
            self.notifier.ready(self.status)
            self.notifier.start_watchdog(self.alive)

    def alive(self) -> bool:
        """Whether the last beat is recent enough to feed the watchdog."""
        return self._last is not None and self._clock() - self._last <= self.max_silence_s

    def stopping(self) -> None:
        """Tell systemd the service is shutting down (once); safe in a signal handler."""
        if not self._stopping:
            self._stopping = True
            self.notifier.stopping(f"{self.status}: stopping")

    def close(self) -> None:
        self.stopping()
        self.notifier.close()

    def __enter__(self) -> ServiceLiveness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
