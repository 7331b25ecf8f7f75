"""Parameter searches for the baselines: the fewest frames that reach a target f1.

A baseline (a fixed difference threshold, every k-th frame) is worth comparing with the system
only at equal accuracy, so each is searched over its parameter for the fewest frames sent whose
f1 reaches the system's (docs/architecture.md: baselines measured in the same run).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.frame_difference import DifferenceSettings
from pipelines.replay import (
    ClipAnalysis,
    Reference,
    SchemeResult,
    Sent,
    evaluate,
    score_sent,
    sent_by_filter,
    sent_uniform,
)
from pipelines.tracker import TrackerSettings

F1_TOLERANCE = 1e-9
"""Float noise allowed when testing `f1 >= target` (identical answers must count as equal)."""
REFINE_POINTS = 16
"""Thresholds tried between the one found on the grid and the next larger grid value."""


@dataclass(frozen=True)
class SearchResult:
    """The scheme with the fewest frames whose f1 reaches the target, or the best f1 found."""

    parameter: float
    result: SchemeResult
    target_f1: float
    reached: bool
    candidates: int
    """Distinct sent sets among the parameter values tried."""


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


class _Scorer:
    """f1 of sent sets against the tracked reference, each set scored once."""

    def __init__(self, clip: ClipAnalysis, ref: Reference, tracker: TrackerSettings) -> None:
        self.clip, self.ref, self.tracker = clip, ref, tracker
        self._f1: dict[Sent, float] = {}

    def f1(self, sent: Sent) -> float:
        if sent not in self._f1:
            self._f1[sent] = score_sent(self.clip, sent, self.ref.tracked, self.tracker).f1
        return self._f1[sent]

    def result(self, found: Found, target: float) -> SearchResult:
        scheme = evaluate(self.clip, found.sent, self.ref, self.tracker)
        return SearchResult(found.parameter, scheme, target, found.reached, found.candidates)


def search_static_threshold(
    clip: ClipAnalysis,
    ref: Reference,
    base: DifferenceSettings,
    tracker: TrackerSettings,
    target: float,
    thresholds: Sequence[float] | None = None,
) -> SearchResult:
    """The difference filter without keepalive and one fixed threshold: fewest frames to target.

    The default grid holds `base.threshold`; after the grid, thresholds between the one found
    and the next larger grid value are tried too (more of them may still reach the target).
    """
    grid = sorted({*threshold_grid(), base.threshold} if thresholds is None else set(thresholds))
    scorer = _Scorer(clip, ref, tracker)

    def candidate(t: float) -> tuple[float, Sent]:
        return t, sent_by_filter(clip.signatures, clip.timestamps, static_settings(base, t))

    candidates = [candidate(t) for t in grid]
    found = search_fewest(candidates, scorer.f1, target)
    larger = [t for t in grid if t > found.parameter]
    if found.reached and larger:
        fine = np.linspace(found.parameter, larger[0], REFINE_POINTS + 2)[1:-1]
        candidates += [candidate(float(round(t, 6))) for t in fine]
        found = search_fewest(candidates, scorer.f1, target)
    return scorer.result(found, target)


def search_uniform(
    clip: ClipAnalysis,
    ref: Reference,
    tracker: TrackerSettings,
    target: float,
    ks: Sequence[int] | None = None,
) -> SearchResult:
    """Every k-th frame (starting with the first): fewest frames to target."""
    chosen = uniform_grid(clip.frames) if ks is None else ks
    candidates = [(float(k), sent_uniform(clip.frames, k)) for k in chosen]
    scorer = _Scorer(clip, ref, tracker)
    return scorer.result(search_fewest(candidates, scorer.f1, target), target)
