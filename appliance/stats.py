"""Edge-box counters, incremented where the work happens and read by the API."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class EdgeStats:
    frames_received: int = 0
    frames_analysed: int = 0
    frames_duplicate: int = 0
    bytes_received: int = 0
    detector_calls: int = 0
    cache_hits: int = 0
    detector_seconds: float = 0.0
    rejected: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1

    def received(self, size: int) -> None:
        with self._lock:
            self.frames_received += 1
            self.bytes_received += size

    def analysed(self, seconds: float, duplicate: bool, from_cache: bool = False) -> None:
        with self._lock:
            if duplicate:
                self.frames_duplicate += 1
                return
            self.frames_analysed += 1
            if from_cache:
                self.cache_hits += 1
                return
            self.detector_calls += 1
            self.detector_seconds += seconds

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            calls = self.detector_calls
            return {
                "frames_received": self.frames_received,
                "frames_analysed": self.frames_analysed,
                "frames_duplicate": self.frames_duplicate,
                "bytes_received": self.bytes_received,
                "detector_calls": calls,
                "cache_hits": self.cache_hits,
                "ms_per_analysed_frame": 1000 * self.detector_seconds / calls if calls else None,
                "rejected": dict(self.rejected),
            }
