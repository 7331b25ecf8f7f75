"""The site's uplink shared by its cameras: each camera's budget, re-split as demand moves."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

from pipelines.allocation import CameraDemand, allocate
from pipelines.budget import RateMeter

BYTES_PER_MBIT = 125_000.0
MIN_SHARED = 0.05
"""Share of the capacity left to the cameras without a fixed budget, however large those are."""
UTILITY_HALF_LIFE_S = 10.0
"""A camera's utility halves every this many seconds it sends nothing: a camera gone quiet
(nothing moving, or only stationary objects) gives its share back."""


class SiteUplink:
    """Budgets by utility (detections of objects that are not stationary, per analysed frame,
    fading while the camera is silent) and demand (what cameras would send)."""

    def __init__(self, capacity_mbps: float | None, camera_ids: Iterable[str]) -> None:
        self.capacity = None if capacity_mbps is None else capacity_mbps * BYTES_PER_MBIT
        self._demand = {c: 0.0 for c in camera_ids}
        self._utility = {c: 0.0 for c in camera_ids}
        self._utility_at = {c: 0.0 for c in camera_ids}
        self._now = 0.0  # the latest capture time seen, the clock utilities decay on
        self._received = {c: RateMeter() for c in camera_ids}
        self._budgets: dict[str, float] = {}
        self._fixed: dict[str, float] = {}
        self._lock = threading.Lock()

    def observe(
        self, camera_id: str, nbytes: int, demand: float | None, detections: int, now: float
    ) -> None:
        """One analysed frame: what it cost, what the camera wants, what it showed."""
        with self._lock:
            meter = self._received[camera_id]
            meter.add(nbytes, now)
            self._demand[camera_id] = demand if demand is not None else meter.rate(now)
            self._now = max(self._now, now)
            # Objects of interest per analysed frame, smoothed over the last ~10 frames.
            utility = self._utility_now(camera_id)
            self._utility[camera_id] = utility + 0.1 * (detections - utility)
            self._utility_at[camera_id] = self._now
            self._reallocate()

    def _utility_now(self, camera_id: str) -> float:
        silent_s = max(self._now - self._utility_at[camera_id], 0.0)
        return self._utility[camera_id] * math.pow(0.5, silent_s / UTILITY_HALF_LIFE_S)

    def set_fixed(self, camera_id: str, bytes_per_s: float | None) -> None:
        """Give the camera a fixed budget instead of its share (None: its share again).
        Fixed budgets come off the capacity the other cameras share."""
        with self._lock:
            if bytes_per_s is None:
                self._fixed.pop(camera_id, None)
            else:
                self._fixed[camera_id] = bytes_per_s
            self._reallocate()

    def _shared_capacity(self) -> float:
        assert self.capacity is not None
        # Fixed budgets above the capacity still leave the others a floor to report changes.
        return max(self.capacity - sum(self._fixed.values()), MIN_SHARED * self.capacity)

    def _reallocate(self) -> None:
        if self.capacity is not None:
            self._budgets = allocate(self._shared_capacity(), self._demands())

    def budget(self, camera_id: str) -> float | None:
        """This camera's fixed budget or share in bytes per second; None: no limit."""
        with self._lock:
            if camera_id in self._fixed:
                return self._fixed[camera_id]
        if self.capacity is None:
            return None
        with self._lock:
            sharing = max(len(self._demand) - len(self._fixed), 1)
            return self._budgets.get(camera_id, self._shared_capacity() / sharing)

    def snapshot(self) -> dict[str, dict[str, float | None]]:
        """Per camera: its budget, its demand and its utility, for the stats API."""
        budgets = {c: self.budget(c) for c in self._demand}
        with self._lock:
            return {
                c: {
                    "budget_bytes_per_s": budgets[c],
                    "demand_bytes_per_s": self._demand[c],
                    "utility": self._utility_now(c),
                }
                for c in self._demand
            }

    def _demands(self) -> list[CameraDemand]:
        return [
            CameraDemand(c, self._demand[c], self._utility_now(c))
            for c in self._demand
            if c not in self._fixed
        ]
