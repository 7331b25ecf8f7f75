"""Re-planning as bandwidth and load change, with hysteresis so the plan does not flap.

A new plan is adopted when the one in force no longer meets the requirement (at once), or when
a more accurate one meets it with `margin` to spare and the current plan has been held for at
least `min_hold_s`. Small bandwidth wobbles therefore never switch the split back and forth.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pipelines.edgent.planner import Conditions, Estimator, Exit, Plan, search

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hysteresis:
    margin: float = 0.1
    """A plan replacing a working one must meet the requirement with this fraction to spare."""
    min_hold_s: float = 5.0


@dataclass(frozen=True)
class Decision:
    plan: Plan
    changed: bool
    reason: str


class Replanner:
    def __init__(
        self,
        exits: Sequence[Exit],
        estimator: Estimator,
        deadline_ms: float,
        hysteresis: Hysteresis = Hysteresis(),
    ) -> None:
        if not 0 <= hysteresis.margin < 1:
            raise ValueError("margin must be in [0, 1)")
        self.exits = list(exits)
        self.estimator = estimator
        self.deadline_ms = deadline_ms
        self.hysteresis = hysteresis
        self.current: Plan | None = None
        self._since = 0.0

    def update(self, now: Conditions, at: float) -> Decision:
        """The plan to run under `now` (seconds `at` on a monotonic clock), and why."""
        safe = self._search(now, self.deadline_ms * (1 - self.hysteresis.margin))
        if self.current is None:
            return self._switch(self._search(now, self.deadline_ms), at, "first plan")
        current = self._reestimate(self.current, now)
        if not current.meets:
            target = safe if safe.meets else self._search(now, self.deadline_ms)
            if (target.exit, target.cut) == (current.exit, current.cut):
                return self._keep(current, "no plan meets the requirement; keeping the fastest")
            return self._switch(target, at, f"{current.total_ms:.0f} ms misses the requirement")
        held = at - self._since
        if safe.meets and safe.accuracy > current.accuracy and held >= self.hysteresis.min_hold_s:
            return self._switch(safe, at, "a more accurate plan fits with margin")
        return self._keep(current, "current plan meets the requirement")

    def _search(self, now: Conditions, deadline_ms: float) -> Plan:
        return search(self.exits, self.estimator, now, deadline_ms)

    def _reestimate(self, plan: Plan, now: Conditions) -> Plan:
        chosen = next(e for e in self.exits if e.name == plan.exit)
        return self.estimator.plan(chosen, plan.cut, now, self.deadline_ms)

    def _switch(self, plan: Plan, at: float, why: str) -> Decision:
        plan = replace(plan, meets=plan.total_ms <= self.deadline_ms)
        log.info(
            "plan: exit %s, %s (%.0f ms predicted, requirement %.0f ms): %s",
            plan.exit, plan.cut_label, plan.total_ms, self.deadline_ms, why,
        )  # fmt: skip
        self.current, self._since = plan, at
        return Decision(plan, True, why)

    def _keep(self, plan: Plan, why: str) -> Decision:
        self.current = plan
        return Decision(plan, False, why)
