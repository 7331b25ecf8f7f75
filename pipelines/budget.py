"""A camera's uplink budget: a token bucket, and what to send when tokens run short.

While the bucket is comfortably full every worthwhile frame goes; as it drains, only frames
showing objects of interest go, and then at a lower JPEG quality, so a busy scene spends the
budget on the frames that matter (Vigil's utility-first uplink, per camera).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Admission:
    send: bool
    quality_scale: float
    """Multiply the configured JPEG quality by this (1.0: unchanged)."""
    reason: str


class UplinkBudget:
    """Bytes per second with a burst allowance; no rate set means no limit."""

    def __init__(self, bytes_per_s: float | None = None, burst_s: float = 2.0) -> None:
        if burst_s <= 0:
            raise ValueError("burst_s must be > 0")
        self.burst_s = burst_s
        self.bytes_per_s = bytes_per_s
        self._tokens = self._capacity()
        self._updated: float | None = None
        self.skipped = 0

    def _capacity(self) -> float:
        return float("inf") if self.bytes_per_s is None else self.bytes_per_s * self.burst_s

    def set_rate(self, bytes_per_s: float | None) -> None:
        self.bytes_per_s = bytes_per_s
        self._tokens = min(self._tokens, self._capacity())
        if self._tokens == float("inf"):
            self._tokens = self._capacity()

    def fill(self, now: float) -> float:
        """Tokens as a fraction of the burst (1.0 when unlimited, 0.0 when in debt)."""
        self._refill(now)
        capacity = self._capacity()
        if capacity == float("inf"):
            return 1.0
        return max(self._tokens, 0.0) / capacity if capacity > 0 else 0.0

    def admit(self, utility: float, now: float) -> Admission:
        fill = self.fill(now)
        if fill >= 0.5:
            return Admission(True, 1.0, "within budget")
        if utility <= 0:
            return Admission(False, 1.0, "budget low: nothing of interest")
        if fill >= 0.25:
            return Admission(True, 1.0, "budget low: objects of interest")
        return Admission(True, 0.6, "budget very low: objects of interest, lower quality")

    def spend(self, nbytes: int, now: float) -> bool:
        """Take `nbytes` if the bucket is not empty; False (nothing taken) if it is.

        The bucket may go into debt by one frame: with a small budget, a frame larger than the
        whole burst must still go now and then, or the camera would starve (and, sending
        nothing, never hear that its budget grew).
        """
        self._refill(now)
        if self._tokens <= 0:
            self.skipped += 1
            return False
        self._tokens -= nbytes
        return True

    def settle(self, charged: int, sent: int) -> None:
        """A frame `spend` charged at `charged` bytes went as `sent` bytes (what actually goes is
        known only after the upload, e.g. Edgent's tensors instead of the JPEG): refund or
        charge the difference."""
        self._tokens = min(self._capacity(), self._tokens + charged - sent)

    def _refill(self, now: float) -> None:
        if self._updated is not None and self.bytes_per_s is not None and now > self._updated:
            self._tokens = min(
                self._capacity(), self._tokens + (now - self._updated) * self.bytes_per_s
            )
        self._updated = now if self._updated is None else max(self._updated, now)


class RateMeter:
    """Exponentially decaying bytes-per-second average over about `window_s` seconds."""

    def __init__(self, window_s: float = 10.0) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be > 0")
        self.window_s = window_s
        self._rate = 0.0
        self._updated: float | None = None
        self._first: float | None = None

    def add(self, nbytes: float, now: float) -> None:
        self._decay(now)
        self._first = now if self._first is None else self._first
        self._rate += nbytes / self.window_s

    def rate(self, now: float) -> float:
        self._decay(now)
        if self._first is None:
            return 0.0
        # Early on the average has seen only part of its window: scale it up (as Adam's bias
        # correction does), or a camera's first frames would claim a tiny demand.
        seen = max(now - self._first, 0.1)
        return self._rate / (1.0 - math.exp(-seen / self.window_s))

    def _decay(self, now: float) -> None:
        if self._updated is not None and now > self._updated:
            self._rate *= math.exp(-(now - self._updated) / self.window_s)
        self._updated = now if self._updated is None else max(self._updated, now)
