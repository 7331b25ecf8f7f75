"""What `appliance bench plan` is asked to run and what each run measured."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.edgent.codec import Encoding


@dataclass(frozen=True)
class ExitModel:
    name: str
    path: Path
    accuracy: float


@dataclass(frozen=True)
class PlanBenchSettings:
    exits: tuple[ExitModel, ...]
    bandwidths_mbps: tuple[float, ...] = (0.25, 0.5, 1, 2, 5, 10, 20, 50)
    deadlines_ms: tuple[float, ...] = (100, 200, 300, 500, 1000)
    camera_slowdown: float = 10.0
    encoding: Encoding = "float16"
    runs: int = 3
    threads: int = 1
    max_run_ms: float = 3000.0
    margin: float = 0.1
    """Every strategy plans for the requirement less this fraction (predictions err)."""
    held_out: tuple[str, ...] = ()
    """Exits whose models the profile is not fitted on: their regression error is a held-out
    one (the profile predicts a model it never saw)."""


@dataclass(frozen=True)
class Row:
    bandwidth_mbps: float
    measured_mbps: float
    deadline_ms: float
    strategy: str
    exit: str
    partition: str
    cut: int
    accuracy: float
    predicted_ms: float
    measured_ms: float | None
    """Median of the plan's timed runs (None: predicted too slow to run)."""
    met: bool
    runs_met: float | None = None
    """Share of the plan's timed runs, one by one, within the requirement."""
