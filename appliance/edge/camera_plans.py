"""The Edgent plan each camera reports running (exit, partition, predicted latency, why).

A camera node that runs a split model puts its planner's status in every frame's metadata
(`FrameMeta.plan`); the edge keeps the latest report per camera with the time it arrived, for
`/api/v1/stats` and the UI. Cameras that never sent one have no plan (null).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cameras.protocol import PlanReport


@dataclass(frozen=True)
class ReceivedPlan:
    report: PlanReport
    received_at: float
    """When the edge received it, epoch seconds."""

    def snapshot(self) -> dict[str, Any]:
        return {**self.report.model_dump(), "received_at": self.received_at}


class CameraPlans:
    """The latest plan report per camera (in memory: the next frame after a restart refills it)."""

    def __init__(self) -> None:
        self._latest: dict[str, ReceivedPlan] = {}
        self._lock = threading.Lock()

    def observe(self, camera_id: str, report: PlanReport, received_at: float) -> None:
        with self._lock:
            self._latest[camera_id] = ReceivedPlan(report, received_at)

    def latest(self, camera_id: str) -> ReceivedPlan | None:
        with self._lock:
            return self._latest.get(camera_id)

    def snapshot(self, camera_ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """Every camera in `camera_ids`: its latest report and when it came, or None."""
        with self._lock:
            latest = dict(self._latest)
        return {cid: (latest[cid].snapshot() if cid in latest else None) for cid in camera_ids}
