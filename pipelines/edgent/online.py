"""Edgent online: bandwidth from real transfers, re-planning when it or the load moves, and a
JSON-able status of the plan in force and why (for the edge's stats and the UI).

Planning runs only when the measured bandwidth or a load moved by more than `replan_change`
(relative) since the last planning; the `Replanner`'s hysteresis then decides whether to switch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pipelines.edgent.bandwidth import BandwidthEstimator, BandwidthSettings
from pipelines.edgent.planner import Conditions, Estimator, Exit
from pipelines.edgent.replan import Decision, Hysteresis, Replanner


@dataclass(frozen=True)
class OnlineSettings:
    deadline_ms: float
    hysteresis: Hysteresis = field(default_factory=Hysteresis)
    bandwidth: BandwidthSettings = field(default_factory=BandwidthSettings)
    replan_change: float = 0.1
    initial_bps: float = 1e6
    """Bandwidth assumed until the first transfer (or probe) is measured."""


class OnlinePlanner:
    def __init__(
        self, exits: Sequence[Exit], estimator: Estimator, settings: OnlineSettings
    ) -> None:
        self.settings = settings
        self.replanner = Replanner(exits, estimator, settings.deadline_ms, settings.hysteresis)
        self.bandwidth = BandwidthEstimator(settings.bandwidth)
        self.device_load = 1.0
        self.edge_load = 1.0
        self.decision: Decision | None = None
        self.switches = 0
        self._planned_for: Conditions | None = None

    def record_transfer(self, nbytes: int, seconds: float, at: float) -> None:
        self.bandwidth.add(nbytes, seconds, at)

    def set_load(self, device: float = 1.0, edge: float = 1.0) -> None:
        self.device_load, self.edge_load = max(device, 1.0), max(edge, 1.0)

    def conditions(self) -> Conditions:
        bps = self.bandwidth.bps() or self.settings.initial_bps
        return Conditions(bps, device_load=self.device_load, edge_load=self.edge_load)

    def plan(self, at: float) -> Decision:
        """The plan to run now; re-planned only when conditions moved enough."""
        now = self.conditions()
        if self.decision is not None and not self._moved(now):
            return replace(self.decision, changed=False)
        self.decision = self.replanner.update(now, at)
        self._planned_for = now
        self.switches += self.decision.changed
        return self.decision

    def needs_probe(self, at: float) -> bool:
        return self.bandwidth.needs_probe(at)

    def _moved(self, now: Conditions) -> bool:
        before = self._planned_for
        if before is None:
            return True
        pairs = (
            (before.bandwidth_bps, now.bandwidth_bps),
            (before.device_load, now.device_load),
            (before.edge_load, now.edge_load),
        )
        return any(abs(b - a) > self.settings.replan_change * a for a, b in pairs)

    def status(self) -> dict[str, Any]:
        """What the edge reports: the plan, its predicted parts, why, and the conditions."""
        now = self.conditions()
        out: dict[str, Any] = {
            "deadline_ms": self.settings.deadline_ms,
            "bandwidth_mbps": round(now.bandwidth_bps / 1e6, 3),
            "bandwidth_measured": self.bandwidth.bps() is not None,
            "device_load": self.device_load,
            "edge_load": self.edge_load,
            "switches": self.switches,
            "plan": None,
        }
        if self.decision is not None:
            plan = asdict(self.decision.plan)
            plan["total_ms"] = self.decision.plan.total_ms
            out["plan"] = {k: round(v, 3) if isinstance(v, float) else v for k, v in plan.items()}
            out["reason"] = self.decision.reason
        return out
