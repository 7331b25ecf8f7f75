"""Events ("who came, when, where") scored against the reference's, for every benchmark.

A reference event is a confirmed track of the edge's tracker fed the full detector's result on
every frame, lasting at least `MIN_REFERENCE_S`. It is found when a reported event of the same
label overlaps it in time with box IoU >= `EVENT_IOU` on a frame both have a box on. A reported
event is correct when it is paired with a reference track (of any length) in a one-to-one
pairing of matching events as large as possible: a second event for the same object (a track
broken in two) counts against precision. (Pairing greedily in report order was arbitrary: an
event could take the one reference a later event alone matched, costing that one.) The delay is from
a found reference event's start to the first record of the earliest event that matched it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.feedback import EVENT_IOU
from pipelines.tracker import IouTracker, TrackerSettings
from pipelines.types import Box, Detection

MIN_REFERENCE_S = 1.0


@dataclass(frozen=True)
class ScoredEvent:
    label: str
    boxes: dict[int, Box]
    """Frame index -> the object's box on the frames the event has one."""
    first_s: float
    """When the object was first seen."""
    last_s: float
    reported_s: float
    """When the event was first recorded (its track confirmed)."""


@dataclass(frozen=True)
class EventScore:
    reference_events: int
    """Reference events of at least MIN_REFERENCE_S (what recall counts)."""
    reported_events: int
    found: int
    correct: int
    recall: float
    precision: float
    p95_delay_s: float | None
    """None when no reference event was found."""
    paired_recall: float = 1.0
    """Recall when each reported event may find one reference event only: an event that
    follows two people (a tracker merging them) finds one, where `recall` counts both."""


def tracked_events(
    detections: Sequence[Sequence[Detection]],
    timestamps: Sequence[float],
    analysed: Sequence[int],
    settings: TrackerSettings,
    weak: Sequence[Sequence[Detection]] | None = None,
) -> list[ScoredEvent]:
    """The events a tracker makes of the `analysed` frames' detections (confirmed tracks), the
    weak detections (if given) continuing tracks as on the edge (`pipelines.weak_detections`).
    An event's boxes are its detections', as the edge stores them."""
    tracker = IouTracker(settings)
    boxes: dict[int, dict[int, Box]] = {}
    labels: dict[int, str] = {}
    times: dict[int, list[float]] = {}
    reported: dict[int, float] = {}
    for i in analysed:
        t = timestamps[i]
        update = tracker.update(detections[i], t, weak=weak[i] if weak is not None else ())
        for di, track_id in update.matches.items():
            boxes.setdefault(track_id, {})[i] = detections[i][di].box
            labels[track_id] = detections[i][di].label
            times.setdefault(track_id, []).append(t)
        for track in update.confirmed:
            reported.setdefault(track.track_id, t)
    return [
        ScoredEvent(labels[k], boxes[k], times[k][0], times[k][-1], reported_s)
        for k, reported_s in sorted(reported.items())
    ]


def _same_object(a: ScoredEvent, b: ScoredEvent) -> bool:
    if a.label != b.label:
        return False
    shared = a.boxes.keys() & b.boxes.keys()
    return any(a.boxes[f].iou(b.boxes[f]) >= EVENT_IOU for f in shared)


def score_events(reported: Sequence[ScoredEvent], reference: Sequence[ScoredEvent]) -> EventScore:
    matches = [[j for j, ref in enumerate(reference) if _same_object(r, ref)] for r in reported]
    correct = _largest_pairing(matches)
    long_enough = [j for j, e in enumerate(reference) if e.last_s - e.first_s >= MIN_REFERENCE_S]
    delays = []
    for j in long_enough:
        times = [reported[i].reported_s for i in range(len(reported)) if j in matches[i]]
        if times:
            delays.append(max(0.0, min(times) - reference[j].first_s))
    wanted = set(long_enough)
    paired = _largest_pairing([[j for j in m if j in wanted] for m in matches])
    return EventScore(
        reference_events=len(long_enough),
        reported_events=len(reported),
        found=len(delays),
        correct=correct,
        recall=len(delays) / len(long_enough) if long_enough else 1.0,
        precision=correct / len(reported) if reported else 1.0,
        p95_delay_s=float(np.percentile(delays, 95)) if delays else None,
        paired_recall=paired / len(long_enough) if long_enough else 1.0,
    )


def _largest_pairing(matches: Sequence[Sequence[int]]) -> int:
    """How many reported events can each be paired with a different reference event they match
    (maximum bipartite matching by augmenting paths; a few hundred events at most)."""
    owner: dict[int, int] = {}
    """Reference index -> the reported event paired with it."""

    def pair(i: int, seen: set[int]) -> bool:
        for j in matches[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or pair(owner[j], seen):
                owner[j] = i
                return True
        return False

    return sum(pair(i, set()) for i in range(len(matches)))
