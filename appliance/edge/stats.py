"""Edge-box counters, incremented where the work happens and read by the API.

Counted per camera and summed for the box. `detector_calls` counts whole-frame runs of the
detector (the cascade's `full` exit, and `split`: the tail of a model whose head ran on the
camera node); `exits` shows how every analysed frame was answered (`cache`, `regions`,
`full`, `split`), and `scanned_fraction` how much of the frames the detector
looked at, so the cost of region runs is never hidden. `counts()` hands the same counters to
the Prometheus collector (appliance/edge/prometheus.py) at scrape time.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipelines.frame_difference import SendReason

EXITS = ("cache", "regions", "full", "split")
_REASONS = frozenset(reason.value for reason in SendReason)
LATENCY_WINDOW = 1000
"""Latencies kept per camera for the percentiles (the most recent frames)."""
LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds of the latency histogram's buckets, seconds (+Inf is added)."""


@dataclass
class LatencyHistogram:
    """Capture-to-stored latencies of every analysed frame since start, by bucket: a
    Prometheus histogram needs counts of all frames, not the percentile window's recent ones."""

    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))
    """Frames per bucket (not cumulative); the last one is above the largest bound."""
    sum_s: float = 0.0

    def observe(self, latency_s: float) -> None:
        self.buckets[bisect.bisect_left(LATENCY_BUCKETS_S, latency_s)] += 1
        self.sum_s += latency_s

    def add(self, other: LatencyHistogram) -> None:
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        self.sum_s += other.sum_s

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, frames at or below it) per bucket, ending with (inf, all frames)."""
        return list(
            zip((*LATENCY_BUCKETS_S, math.inf), itertools.accumulate(self.buckets), strict=True)
        )


@dataclass(frozen=True)
class CameraCounts:
    """One camera's counters at one moment, for exporters."""

    frames_received: int
    bytes_received: int
    frames_analysed: int
    frames_duplicate: int
    exits: dict[str, int]
    detector_seconds: float
    dropped: dict[str, int]
    """Frames the scheduler shed, by reason."""
    received_by_reason: dict[str, int]
    """Frames received, by the camera's reason for sending each (`SendReason`)."""
    latency: list[tuple[float, int]]
    """Cumulative latency buckets (see LatencyHistogram.cumulative)."""
    latency_sum_s: float


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
    reasons: Counter[str] = field(default_factory=Counter)
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    def add(self, other: _CameraCounters) -> None:
        self.frames_received += other.frames_received
        self.bytes_received += other.bytes_received
        self.frames_analysed += other.frames_analysed
        self.frames_duplicate += other.frames_duplicate
        self.exits.update(other.exits)
        self.detector_seconds += other.detector_seconds
        self.scanned += other.scanned
        self.dropped.update(other.dropped)
        self.reasons.update(other.reasons)
        self.latencies_ms.extend(other.latencies_ms)
        self.latency.add(other.latency)

    def counts(self) -> CameraCounts:
        return CameraCounts(
            frames_received=self.frames_received,
            bytes_received=self.bytes_received,
            frames_analysed=self.frames_analysed,
            frames_duplicate=self.frames_duplicate,
            exits={name: self.exits[name] for name in EXITS},
            detector_seconds=self.detector_seconds,
            dropped=dict(self.dropped),
            received_by_reason=dict(self.reasons),
            latency=self.latency.cumulative(),
            latency_sum_s=self.latency.sum_s,
        )

    def snapshot(self) -> dict[str, Any]:
        analysed = self.frames_analysed
        ran = self.exits["full"] + self.exits["regions"] + self.exits["split"]
        latencies = np.array(self.latencies_ms, dtype=np.float64)
        return {
            "frames_received": self.frames_received,
            "received_by_reason": dict(sorted(self.reasons.items())),
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

    def received(self, camera_id: str, size: int, reason: str) -> None:
        """An accepted upload of `size` bytes that the camera sent for `reason` (a name outside
        `SendReason` counts as "other": the label set stays bounded whatever a camera says)."""
        with self._lock:
            counters = self._camera(camera_id)
            counters.frames_received += 1
            counters.bytes_received += size
            counters.reasons[reason if reason in _REASONS else "other"] += 1

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
            counters.latency.observe(latency_s)

    def dropped(self, camera_id: str, reason: str) -> None:
        """Work shed by the scheduler (a frame superseded, expired or pushed out)."""
        with self._lock:
            self._camera(camera_id).dropped[reason] += 1

    def counts(self, known: Iterable[str] = ()) -> tuple[dict[str, CameraCounts], dict[str, int]]:
        """Each camera's counters, zeros for the `known` ones that sent nothing yet, and the
        uploads refused by reason."""
        with self._lock:
            ids = sorted(set(self._cameras) | set(known))
            cameras = {cid: self._cameras.get(cid, _CameraCounters()).counts() for cid in ids}
            return cameras, dict(self.rejected)

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
