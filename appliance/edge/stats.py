"""Edge-box counters, incremented where the work happens and read by the API.

Counted per camera and summed for the box. `detector_calls` counts whole-frame runs of the
detector (the cascade's `full` exit, and `split`: the tail of a model whose head ran on the
camera node); `exits` shows how every analysed frame was answered (`cache`, `regions`,
`full`, `split`), and `scanned_fraction` how much of the frames the detector
looked at, so the cost of region runs is never hidden.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EXITS = ("cache", "regions", "full", "split")
LATENCY_WINDOW = 1000
"""Latencies kept per camera for the percentiles (the most recent frames)."""


@dataclass
class _CameraCounters:
    frames_received: int = 0
    bytes_received: int = 0
    frames_analysed: int = 0
    frames_duplicate: int = 0
    exits: Counter[str] = field(default_factory=Counter)
    detector_seconds: float = 0.0
    scanned: float = 0.0
    dropped: Counter[str] = field(default_factory=Counter)
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    def add(self, other: _CameraCounters) -> None:
        self.frames_received += other.frames_received
        self.bytes_received += other.bytes_received
        self.frames_analysed += other.frames_analysed
        self.frames_duplicate += other.frames_duplicate
        self.exits.update(other.exits)
        self.detector_seconds += other.detector_seconds
        self.scanned += other.scanned
        self.dropped.update(other.dropped)
        self.latencies_ms.extend(other.latencies_ms)

    def snapshot(self) -> dict[str, Any]:
        analysed = self.frames_analysed
        ran = self.exits["full"] + self.exits["regions"] + self.exits["split"]
        latencies = np.array(self.latencies_ms, dtype=np.float64)
        return {
            "frames_received": self.frames_received,
            "frames_analysed": analysed,
            "frames_duplicate": self.frames_duplicate,
            "bytes_received": self.bytes_received,
            "detector_calls": self.exits["full"] + self.exits["split"],
            "cache_hits": self.exits["cache"],
            "cache_hit_rate": self.exits["cache"] / analysed if analysed else None,
            "exits": {name: self.exits[name] for name in EXITS},
            "scanned_fraction": self.scanned / analysed if analysed else None,
            "ms_per_analysed_frame": 1000 * self.detector_seconds / ran if ran else None,
            "latency_ms": _percentiles(latencies),
            "dropped": dict(self.dropped),
        }


def _percentiles(values: np.ndarray) -> dict[str, float | None]:
    if values.size == 0:
        return {"p50": None, "p95": None}
    p50, p95 = np.percentile(values, [50, 95])
    return {"p50": round(float(p50), 1), "p95": round(float(p95), 1)}


@dataclass
class EdgeStats:
    rejected: Counter[str] = field(default_factory=Counter)
    _cameras: dict[str, _CameraCounters] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _camera(self, camera_id: str) -> _CameraCounters:
        return self._cameras.setdefault(camera_id, _CameraCounters())

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1

    def received(self, camera_id: str, size: int) -> None:
        with self._lock:
            counters = self._camera(camera_id)
            counters.frames_received += 1
            counters.bytes_received += size

    def duplicate(self, camera_id: str) -> None:
        with self._lock:
            self._camera(camera_id).frames_duplicate += 1

    def analysed(
        self, camera_id: str, exit_name: str, detector_s: float, scanned: float, latency_s: float
    ) -> None:
        """One frame answered by the cascade `exit_name` and stored, `latency_s` after capture."""
        with self._lock:
            counters = self._camera(camera_id)
            counters.frames_analysed += 1
            counters.exits[exit_name] += 1
            counters.detector_seconds += detector_s
            counters.scanned += scanned
            counters.latencies_ms.append(1000 * latency_s)

    def dropped(self, camera_id: str, reason: str) -> None:
        """Work shed by the scheduler (a frame superseded, expired or pushed out)."""
        with self._lock:
            self._camera(camera_id).dropped[reason] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            total = _CameraCounters(latencies_ms=deque())
            for counters in self._cameras.values():
                total.add(counters)
            return {
                **total.snapshot(),
                "rejected": dict(self.rejected),
                "cameras": {cid: c.snapshot() for cid, c in sorted(self._cameras.items())},
            }
