"""Edgent plan reports as a camera node running a split model sends them: the real
`OnlinePlanner` on the recorded profiles and layouts (tests/edgent_fixtures.py)."""

from __future__ import annotations

from typing import Any

from pipelines.edgent.deadline_tally import DeadlineTally
from pipelines.edgent.online import OnlinePlanner, OnlineSettings
from pipelines.edgent.replan import Hysteresis
from tests.edgent_fixtures import estimator, exits

DEADLINE_MS = 20.0


def online_planner(deadline_ms: float = DEADLINE_MS) -> OnlinePlanner:
    return OnlinePlanner(exits(), estimator(), OnlineSettings(deadline_ms, Hysteresis(0.1, 0)))


def planned_status(mbps: float = 20.0, deadline_ms: float = DEADLINE_MS) -> dict[str, Any]:
    """`status()` after one upload measured at `mbps` and one planning, with the frames the
    camera timed (as `cameras.edgent_plan.OnlinePlans` reports it)."""
    online = online_planner(deadline_ms)
    online.record_transfer(int(mbps * 1e6 / 8 * 0.1), 0.1, at=0.0)
    online.plan(at=0.0)
    # What the camera measured of the frames it planned (two of three within the requirement).
    tally = DeadlineTally(deadline_ms)
    for took in (0.5 * deadline_ms, 0.75 * deadline_ms, 1.5 * deadline_ms):
        tally.record(took)
    return {**online.status(), **tally.status()}
