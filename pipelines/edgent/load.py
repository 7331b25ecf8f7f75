"""How loaded each side runs now, from the times real frames took against what the profile
predicts for them: the `device_load` and `edge_load` that stretch the planner's compute times.

A load is measured / predicted time, smoothed over recent frames and never below 1 (a profile
that is a little pessimistic must not make the planner promise more than it measured). The
edge's time includes the wait for an analysis worker, so a busy edge box moves work to the
cameras, as Edgent's runtime optimiser intends.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoadSettings:
    smoothing: float = 0.2
    """Weight of the newest frame's ratio."""
    min_predicted_ms: float = 1.0
    """Parts predicted shorter than this (an empty head or tail) say nothing about load."""
    max_load: float = 100.0
    warmup: int = 1
    """First observations ignored: a session's first runs carry its warm-up (the edge's first
    frame took 100 times its profile over a shaped link, and with the plan then keeping work
    off the edge, no later frame came to correct it)."""


class LoadMeter:
    def __init__(self, settings: LoadSettings = LoadSettings()) -> None:
        if not 0.0 < settings.smoothing <= 1.0:
            raise ValueError(f"smoothing must be in (0, 1], got {settings.smoothing}")
        self.settings = settings
        self._ratio: float | None = None
        self._seen = 0

    def observe(self, measured_ms: float, predicted_ms: float) -> None:
        """One part of one frame: what it took here, and what the unloaded profile predicted."""
        if predicted_ms < self.settings.min_predicted_ms or measured_ms < 0:
            return
        self._seen += 1
        if self._seen <= self.settings.warmup:
            return
        ratio = min(measured_ms / predicted_ms, self.settings.max_load)
        if self._ratio is None:
            self._ratio = ratio
        else:
            self._ratio += self.settings.smoothing * (ratio - self._ratio)

    @property
    def load(self) -> float:
        """1.0 until measured; then the smoothed ratio, at least 1."""
        return 1.0 if self._ratio is None else max(self._ratio, 1.0)
