"""Uplink bandwidth measured from real transfers, with a probe asked for when the link is idle.

Each transfer gives one throughput sample (bytes / seconds spent sending them), averaged
exponentially over about `window` transfers. A transfer too small to fill the pipe says more
about round trips than bandwidth and is not counted, unless it took far longer than the round
trip: then the link got slower than believed, and the small transfers a plan for a fast link
sends are the only news of it (measured over a real shaped link, the estimate otherwise waited
for a probe every `probe_after_s` and took a minute to see a drop from 40 to 1 Mbit/s). A
sample more than `surprise` times off the estimate counts for half (the link changed: follow
it within a few transfers, not `window`); a slower one counts in seconds per bit, so a single
transfer at the new rate brings the estimate within 2x of it (deadlines are missed meanwhile).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class BandwidthSettings:
    window: float = 8.0
    min_bytes: int = 16_000
    probe_after_s: float = 10.0
    """Ask for a probe transfer when no sample came for this long."""
    small_bytes: int = 2_000
    """Smaller transfers never count (a few packets: round trip only)."""
    surprise: float = 2.0
    round_trips: int = 32
    """The round trip is the quickest of this many last transfers."""


class BandwidthEstimator:
    def __init__(self, settings: BandwidthSettings = BandwidthSettings()) -> None:
        if settings.window < 1 or settings.round_trips < 1 or settings.surprise <= 1:
            raise ValueError("need window >= 1 transfer, round_trips >= 1 and surprise > 1")
        self.settings = settings
        self._bps: float | None = None
        self._last: float | None = None
        self._recent: deque[float] = deque(maxlen=settings.round_trips)
        self.samples = 0

    def add(self, nbytes: int, seconds: float, at: float) -> None:
        if seconds <= 0:
            return
        self._recent.append(seconds)
        if nbytes >= self.settings.min_bytes:
            self._count(nbytes * 8.0 / seconds, at)
        elif nbytes >= self.settings.small_bytes:
            slower = self._slower_than_believed(nbytes, seconds)
            if slower is not None:
                self._count(slower, at)

    def _slower_than_believed(self, nbytes: int, seconds: float) -> float | None:
        """A small transfer's bandwidth net of the round trip, when it shows the link slower
        than the estimate by `surprise` (None: it shows nothing)."""
        round_trip = min(self._recent)
        if self._bps is None or seconds < 2 * round_trip:
            return None
        sample = nbytes * 8.0 / (seconds - round_trip)
        return sample if sample * self.settings.surprise < self._bps else None

    def _count(self, sample: float, at: float) -> None:
        weight = 1.0 / min(self.samples + 1, self.settings.window)
        bps = self._bps
        if bps is None:
            self._bps = sample
        elif sample * self.settings.surprise < bps:
            # Slower: averaged in seconds per bit, what a transfer's time is linear in, so one
            # transfer at the new rate moves the estimate most of the way (40 -> 1 Mbit/s: 1.95).
            weight = max(weight, 0.5)
            self._bps = 1.0 / (1.0 / bps + weight * (1.0 / sample - 1.0 / bps))
        else:
            if sample > bps * self.settings.surprise:
                weight = max(weight, 0.5)  # faster: follow it within a few transfers
            self._bps = bps + weight * (sample - bps)
        self._last = at
        self.samples += 1

    def bps(self) -> float | None:
        """The current estimate in bit/s; None before the first sample."""
        return self._bps

    def needs_probe(self, at: float) -> bool:
        return self._last is None or at - self._last >= self.settings.probe_after_s
