"""Parameter searches for the baselines: the fewest frames that reach a target accuracy.

A baseline (a fixed difference threshold, every k-th frame) is worth comparing with the system
only at equal accuracy, so each is searched over its parameter for the fewest frames sent whose
accuracy reaches the system's (docs/architecture.md: baselines measured in the same run;
`pipelines.query_baselines` runs them).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.frame_difference import DifferenceSettings
from pipelines.replay import Sent

F1_TOLERANCE = 1e-9
"""Float noise allowed when testing `f1 >= target` (identical answers must count as equal)."""


@dataclass(frozen=True)
class Found:
    parameter: float
    sent: Sent
    reached: bool
    candidates: int


def search_fewest(
    candidates: Sequence[tuple[float, Sent]], f1_of: Callable[[Sent], float], target: float
) -> Found:
    """The candidate with the fewest frames whose f1 >= target.

    Candidates are tried from the fewest frames up and the first that reaches the target wins,
    so the answer is exact over the candidates given (f1 need not be monotone). When none
    reaches it, the candidate with the best f1 is returned (ties: fewer frames), reached False.
    Of parameters giving the same sent set, the first listed names it.
    """
    distinct: dict[Sent, float] = {}
    for parameter, sent in candidates:
        distinct.setdefault(sent, parameter)
    if not distinct:
        raise ValueError("no candidates to search")
    best: Sent | None = None
    best_f1 = -math.inf
    for sent in sorted(distinct, key=len):
        f1 = f1_of(sent)
        if f1 >= target - F1_TOLERANCE:
            return Found(distinct[sent], sent, True, len(distinct))
        if f1 > best_f1:
            best, best_f1 = sent, f1
    assert best is not None
    return Found(distinct[best], best, False, len(distinct))


def threshold_grid(points: int = 96, low: float = 1e-4, high: float = 0.5) -> list[float]:
    """0 (every frame) plus thresholds spaced evenly in log between `low` and `high`."""
    grid = np.geomspace(low, high, points)
    return [0.0, *(float(round(x, 6)) for x in grid)]


def uniform_grid(frames: int, dense: int = 32, points: int = 24) -> list[int]:
    """Every k up to `dense`, then k spaced evenly in log up to the clip length."""
    ks = set(range(1, min(frames, dense) + 1))
    if frames > dense:
        ks.update(int(k) for k in np.unique(np.geomspace(dense, frames, points).round()))
    return sorted(ks)


def static_settings(base: DifferenceSettings, threshold: float) -> DifferenceSettings:
    """The static baseline: `base` with one fixed threshold and no keepalive."""
    return dataclasses.replace(base, threshold=threshold, max_interval_s=0.0)
