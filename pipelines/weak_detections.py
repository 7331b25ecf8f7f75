"""Detections under the detector's confidence threshold, kept for the tracker only.

ByteTrack's observation: a person the detector scores 0.6 on one frame and 0.2 on the next is
the same person, not a new one and not nothing. The edge therefore runs its detector down to a
lower floor (`tracker.weak_confidence`) and splits each frame's result at the detector's own
threshold: the reported detections start and continue tracks as always, the weak ones only
continue a track already there (`IouTracker.update`): they count as its sightings (hits, last
seen, box), so a flickering object is confirmed sooner and its event is not broken, but they
are never stored, shown or counted as detections of the frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.types import Detection


@dataclass(frozen=True)
class SplitDetections:
    reported: list[Detection]
    """At or above the detector's threshold: what it reports."""
    weak: list[Detection]
    """Under it (down to the floor the detector ran with): they only continue tracks."""


def split_weak(detections: Sequence[Detection], reported_from: float | None) -> SplitDetections:
    """Split at `reported_from` (None: everything is reported, nothing weak)."""
    if reported_from is None:
        return SplitDetections(list(detections), [])
    return SplitDetections(
        [d for d in detections if d.confidence >= reported_from],
        [d for d in detections if d.confidence < reported_from],
    )
