"""A cap on bytes per minute over a sliding window."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 60.0


class ByteRateLimiter:
    """Allows a send when the bytes of the last minute plus it stay within the cap; a send
    bigger than the whole cap is allowed into an empty window (else it could never go)."""

    def __init__(
        self,
        max_bytes: int,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.window_s = window_s
        self._clock = clock
        self._sent: deque[tuple[float, int]] = deque()
        self._used = 0

    def used(self) -> int:
        """Bytes sent within the window ending now."""
        horizon = self._clock() - self.window_s
        while self._sent and self._sent[0][0] <= horizon:
            self._used -= self._sent.popleft()[1]
        return self._used

    def allows(self, size: int) -> bool:
        used = self.used()
        return used == 0 or used + size <= self.max_bytes

    def record(self, size: int) -> None:
        self._sent.append((self._clock(), size))
        self._used += size
