"""Baselines for `appliance bench system`, tuned in hindsight to the system's accuracy.

Each is searched over its parameter for the fewest frames whose accuracy on the query
(`SystemScore.accuracy`) reaches the system's: every k-th frame, and the difference filter
with one fixed threshold and no keepalive. Their frames are replayed on the clip's analysis
(the full detector on each frame's JPEG, no early exit), so they are scored as well as a
baseline can be: the system is compared with the best of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.feedback import Query
from pipelines.frame_difference import DifferenceSettings
from pipelines.replay import ClipAnalysis, Sent, sent_by_filter, sent_uniform
from pipelines.replay_search import (
    search_fewest,
    static_settings,
    threshold_grid,
    uniform_grid,
)
from pipelines.system_score import QueryReference, SystemScore, score_replayed
from pipelines.tracker import TrackerSettings


@dataclass(frozen=True)
class Baseline:
    parameter: float
    """k for every k-th frame, the threshold for the fixed one (0 for all frames)."""
    sent: Sent
    score: SystemScore
    reached: bool
    """Whether it reached the target (else: its best accuracy)."""


class BaselineSearch:
    """Scores sent sets once each, on the query's figure."""

    def __init__(
        self,
        clip: ClipAnalysis,
        reference: QueryReference,
        tracker: TrackerSettings,
        query: Query,
    ) -> None:
        self.clip, self.reference, self.tracker, self.query = clip, reference, tracker, query
        self._scores: dict[Sent, SystemScore] = {}

    def score(self, sent: Sent) -> SystemScore:
        if sent not in self._scores:
            clip = self.clip
            self._scores[sent] = score_replayed(
                clip.jpeg_detections, sent, self.reference, self.tracker, clip.jpeg_weak
            )
        return self._scores[sent]

    def tuned(self, difference: DifferenceSettings, target: float) -> dict[str, Baseline]:
        """Every baseline, the searched ones tuned to `target`, by the name reports use."""
        return {
            "all_frames": self.all_frames(),
            "uniform": self.uniform(target),
            "static_threshold": self.static_threshold(difference, target),
        }

    def all_frames(self) -> Baseline:
        sent = tuple(range(self.clip.frames))
        return Baseline(0.0, sent, self.score(sent), True)

    def uniform(self, target: float) -> Baseline:
        frames = self.clip.frames
        candidates = [(float(k), sent_uniform(frames, k)) for k in uniform_grid(frames)]
        return self._fewest(candidates, target)

    def static_threshold(self, base: DifferenceSettings, target: float) -> Baseline:
        clip = self.clip
        candidates = [
            (t, sent_by_filter(clip.signatures, clip.timestamps, static_settings(base, t)))
            for t in sorted({*threshold_grid(48), base.threshold})
        ]
        return self._fewest(candidates, target)

    def _fewest(self, candidates: list[tuple[float, Sent]], target: float) -> Baseline:
        found = search_fewest(candidates, lambda s: self.score(s).accuracy(self.query), target)
        return Baseline(found.parameter, found.sent, self.score(found.sent), found.reached)
