"""Association of tracks with a frame's detections: by IoU, then a second chance for tracks
seen once, by how far their object could have moved.

`iou_pairs` pairs tracks (at their predicted boxes) with detections of their label, best IoU
first. A track with one match has no velocity yet, so the tracker can only look for its object where
it was. On sparse frames a walking person has moved about a body width by the next analysed
frame (0.4 s on vtest), leaving little or no IoU with the old box: the second sighting started
a new track and neither ever confirmed, or the person's event broke. These tracks get a second
chance after IoU matching: a detection left over, of the same label and a similar size, whose
centre lies within a gate measured in box widths.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipelines.types import Box, Detection

SIZE_RATIO = 1.5
"""Most a width or height may differ by (larger over smaller) between the track's box and the
detection: a nearby object of another size is another object, not this one having moved."""


@dataclass(frozen=True)
class Candidate:
    """A track that may take a detection left over by IoU matching."""

    index: int
    """The track's index in the tracker's list (what pairs refer to)."""
    label: str
    box: Box


def iou_pairs(
    tracks: Sequence[Candidate], detections: Sequence[Detection], threshold: float
) -> list[tuple[int, int]]:
    """(track index, detection index) pairs with IoU >= `threshold` between the track's
    (predicted) box and the detection, best IoU first, each side used at most once."""
    scored: list[tuple[float, int, int]] = []
    for track in tracks:
        for di, det in enumerate(detections):
            if det.label != track.label:
                continue  # a person must never inherit a car's id
            iou = track.box.iou(det.box)
            if iou >= threshold:
                scored.append((iou, track.index, di))
    # Ties broken by older track / earlier detection so results are deterministic.
    scored.sort(key=lambda c: (-c[0], c[1], c[2]))
    return one_to_one((ti, di) for _, ti, di in scored)


def gated_pairs(
    tracks: Sequence[Candidate],
    detections: Sequence[Detection],
    free: set[int],
    gate: float,
) -> list[tuple[int, int]]:
    """(track index, detection index) pairs among `free` detection indices, nearest first (in
    box widths), each side used at most once; ties go to the older track, earlier detection."""
    scored: list[tuple[float, int, int]] = []
    for track in tracks:
        for di in sorted(free):
            distance = centre_distance(track.box, detections[di].box)
            if detections[di].label == track.label and distance <= gate:
                scored.append((distance, track.index, di))
    return one_to_one((ti, di) for _, ti, di in sorted(scored))


def one_to_one(ranked: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """(track index, detection index) pairs taken in the order given (best first), each track
    and each detection at most once: the greedy assignment every matching step uses."""
    used_t: set[int] = set()
    used_d: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for ti, di in ranked:
        if ti not in used_t and di not in used_d:
            used_t.add(ti)
            used_d.add(di)
            pairs.append((ti, di))
    return pairs


def centre_distance(a: Box, b: Box) -> float:
    """Centre distance in widths of the wider box; infinite when the sizes differ too much."""
    if not (_similar(a.width, b.width) and _similar(a.height, b.height)):
        return math.inf
    dx = (a.x1 + a.x2 - b.x1 - b.x2) / 2.0
    dy = (a.y1 + a.y2 - b.y1 - b.y2) / 2.0
    return math.hypot(dx, dy) / max(a.width, b.width)


def _similar(a: float, b: float) -> bool:
    small, large = min(a, b), max(a, b)
    return small > 0.0 and large <= SIZE_RATIO * small
