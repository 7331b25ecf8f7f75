"""Uplink bandwidth measured from real transfers, with a probe asked for when the link is idle.

Each transfer gives one throughput sample (bytes / seconds spent sending them); transfers too
small to fill the pipe say more about round trips than bandwidth and are not counted. Samples
are averaged exponentially over about `window` transfers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BandwidthSettings:
    window: float = 8.0
    min_bytes: int = 16_000
    probe_after_s: float = 10.0
    """Ask for a probe transfer when no sample came for this long."""


class BandwidthEstimator:
    def __init__(self, settings: BandwidthSettings = BandwidthSettings()) -> None:
        if settings.window < 1:
            raise ValueError("window must be >= 1 transfer")
        self.settings = settings
        self._bps: float | None = None
        self._last: float | None = None
        self.samples = 0

    def add(self, nbytes: int, seconds: float, at: float) -> None:
        if nbytes < self.settings.min_bytes or seconds <= 0:
            return
        sample = nbytes * 8.0 / seconds
        weight = 1.0 / min(self.samples + 1, self.settings.window)
        self._bps = sample if self._bps is None else self._bps + weight * (sample - self._bps)
        self._last = at
        self.samples += 1

    def bps(self) -> float | None:
        """The current estimate in bit/s; None before the first sample."""
        return self._bps

    def needs_probe(self, at: float) -> bool:
        return self._last is None or at - self._last >= self.settings.probe_after_s
