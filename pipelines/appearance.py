"""What a detected object looks like, to tell it from others after a gap in the frames.

On sparse frames a walking person has moved about a body width between analysed frames and
the box overlap that tracks rely on is gone; a track that lost its object for a frame or two
(someone stops, turns, is missed in a crowd) cannot find it again by position alone without
also taking a neighbour. The descriptor is a colour histogram of the box's central region
(hue x saturation, plus brightness): cheap (tens of microseconds per box), no model, and
stable while a person walks, since the central region is mostly clothing rather than
background. Tracks use it only for a second chance after overlap matching
(`appearance_pairs`), never to overrule an overlap match.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pipelines.track_gate import centre_distance, one_to_one
from pipelines.types import Box, Detection

Appearance = npt.NDArray[np.float32]
"""A descriptor: two histograms (hue x saturation, brightness), each summing to 1."""

HUE_BINS, SATURATION_BINS, VALUE_BINS = 8, 4, 4
SIZE = HUE_BINS * SATURATION_BINS + VALUE_BINS
MARGIN_X, MARGIN_Y = 0.25, 0.15
"""Share of the box's width (each side) and height (top, bottom) left out: background and
neighbours sit at the edges of a person's box."""


@dataclass(frozen=True)
class AppearanceTrack:
    """A track that lost its object this frame and may take a leftover detection."""

    index: int
    """The track's index in the tracker's list (what pairs refer to)."""
    label: str
    boxes: tuple[Box, ...]
    """Where it was last seen and where its velocity puts it now (distance to the nearer)."""
    appearance: Appearance


def describe(image: npt.NDArray[np.uint8], box: Box) -> Appearance:
    """The descriptor of `box` in a BGR `image`; a box with no pixels inside the image gets
    a flat one (similar to nothing in particular)."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"describe needs a BGR image (height, width, 3), got {image.shape}")
    height, width = image.shape[:2]
    x1 = max(0, int(box.x1 + MARGIN_X * box.width))
    x2 = min(width, int(box.x2 - MARGIN_X * box.width))
    y1 = max(0, int(box.y1 + MARGIN_Y * box.height))
    y2 = min(height, int(box.y2 - MARGIN_Y * box.height))
    if x2 <= x1 or y2 <= y1:
        return np.full(SIZE, 1.0 / SIZE, np.float32)
    hsv = cv2.cvtColor(np.ascontiguousarray(image[y1:y2, x1:x2]), cv2.COLOR_BGR2HSV)
    colour = cv2.calcHist([hsv], [0, 1], None, [HUE_BINS, SATURATION_BINS], [0, 180, 0, 256])
    value = cv2.calcHist([hsv], [2], None, [VALUE_BINS], [0, 256])
    pixels = float((x2 - x1) * (y2 - y1))
    return np.concatenate([colour.ravel(), value.ravel()]).astype(np.float32) / pixels


def describe_all(image: npt.NDArray[np.uint8], detections: Sequence[Detection]) -> list[Appearance]:
    """One descriptor per detection, in order."""
    return [describe(image, d.box) for d in detections]


def similarity(a: Appearance, b: Appearance) -> float:
    """Bhattacharyya coefficient averaged over the two histograms: 1 for the same colours,
    0 for none in common."""
    return float(np.sqrt(a * b).sum()) / 2.0


def blend(old: Appearance, new: Appearance, weight: float) -> Appearance:
    """A track's descriptor after a match: `weight` of the new sighting (light changes)."""
    return (weight * new + (1.0 - weight) * old).astype(np.float32)


def appearance_pairs(
    tracks: Sequence[AppearanceTrack],
    detections: Sequence[Detection],
    appearances: Sequence[Appearance],
    free: set[int],
    gate: float,
    least_similarity: float,
) -> list[tuple[int, int]]:
    """(track index, detection index) pairs among `free` detections of the track's label and
    size within `gate` box widths and at least `least_similarity` alike; most alike first,
    each side used at most once."""
    scored: list[tuple[float, float, int, int]] = []
    for track in tracks:
        for di in sorted(free):
            detection = detections[di]
            if detection.label != track.label:
                continue
            distance = min(
                (centre_distance(b, detection.box) for b in track.boxes), default=math.inf
            )
            if distance > gate:
                continue
            alike = similarity(track.appearance, appearances[di])
            if alike >= least_similarity:
                scored.append((-alike, distance, track.index, di))
    return one_to_one((ti, di) for _, _, ti, di in sorted(scored))
