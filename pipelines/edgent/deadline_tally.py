"""How often the frames a planner ran met its latency requirement, as measured on the camera.

The planner predicts each frame's latency (head here, upload, tail on the edge); this tallies
what the frames took, so the edge's stats and the UI show the requirement held, not only
planned for, and a benchmark can read the met fraction over any stretch by differencing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class DeadlineTally:
    deadline_ms: float
    frames: int = 0
    met: int = 0
    last_ms: float | None = None

    def record(self, total_ms: float) -> None:
        """One frame's measured head + upload + tail, ms."""
        self.frames += 1
        self.met += total_ms <= self.deadline_ms
        self.last_ms = total_ms

    def status(self) -> dict[str, Any]:
        last = None if self.last_ms is None else round(self.last_ms, 3)
        return {"frames_timed": self.frames, "frames_met": self.met, "last_ms": last}
