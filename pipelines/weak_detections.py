"""Detections under the detector's confidence threshold, kept for the tracker only.

ByteTrack's observation: a person the detector scores 0.6 on one frame and 0.2 on the next is
the same person, not a new one and not nothing. The edge therefore runs its detector down to a
lower floor (`tracker.weak_confidence`) and splits each frame's result at the detector's own
threshold: the reported detections start and continue tracks as always, the weak ones only
continue a track already there (`IouTracker.update`). A weak detection that continued a track
is kept as that track's box on the frame (stored with its own, low confidence); one that
continued none is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def kept_detections(
    reported: Sequence[Detection], weak: Sequence[Detection], weak_matches: Mapping[int, int]
) -> tuple[list[Detection], dict[int, int]]:
    """The reported detections, then the weak ones that continued a track
    (`TrackUpdate.weak_matches`); and for those weak ones, their index in that list -> the
    track they continued."""
    kept = list(reported)
    tracks: dict[int, int] = {}
    for wi, track_id in sorted(weak_matches.items()):
        tracks[len(kept)] = track_id
        kept.append(weak[wi])
    return kept, tracks
