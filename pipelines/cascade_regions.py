"""Where a frame differs from the last one analysed: the regions the edge has to look at again.

Both frames are shrunk to a small blurred grey signature (JPEG noise and sensor noise average
out); pixels that moved by more than a threshold are joined into blobs, each blob is grown so
the whole object around it is inside, and every earlier detection a region touches is taken
in whole (an object half inside a region must be looked at whole, or it would be lost).
Overlapping regions are merged so no window is scanned twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pipelines.types import Box

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class ChangeSettings:
    width: int = 192
    height: int = 144
    threshold: int = 16
    """Grey-level change (0-255) of a signature pixel that counts as motion."""
    min_pixels: int = 6
    """Blobs smaller than this many signature pixels are noise."""
    margin: float = 0.5
    """Grow each blob by this fraction of its size on every side (a moving person's change
    blob covers only the parts that moved)."""
    min_margin_px: int = 24
    """...and by at least this many frame pixels."""


@dataclass(frozen=True)
class ChangedRegions:
    regions: list[Box]
    """Merged regions in frame pixels; empty when nothing changed."""
    area: float
    """Fraction of the frame the regions cover (0-1)."""
    changed: float
    """Fraction of signature pixels that changed (light switched, camera moved: near 1)."""


def downscale(frame: Image, settings: ChangeSettings) -> Image:
    """The frame in grey at the signature's size (the result cache compares this too)."""
    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, (settings.width, settings.height), interpolation=cv2.INTER_AREA)
    return np.asarray(small, dtype=np.uint8)


def blurred(small: Image) -> Image:
    """`downscale`'s image made a signature: JPEG and sensor noise averaged out."""
    return np.asarray(cv2.GaussianBlur(small, (5, 5), 0), dtype=np.uint8)


def signature(frame: Image, settings: ChangeSettings) -> Image:
    return blurred(downscale(frame, settings))


def _blobs(previous: Image, current: Image, s: ChangeSettings) -> tuple[list[Box], float]:
    moved = (cv2.absdiff(previous, current) > s.threshold).astype(np.uint8)
    changed = float(np.count_nonzero(moved)) / moved.size
    grown = cv2.dilate(moved, np.ones((5, 5), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(grown)
    boxes = [
        Box(float(x), float(y), float(x + w), float(y + h))
        for x, y, w, h, area in stats[1:count].tolist()
        if area >= s.min_pixels
    ]
    return boxes, changed


def _grown(box: Box, s: ChangeSettings, scale_x: float, scale_y: float) -> Box:
    dx = max(box.width * scale_x * s.margin, s.min_margin_px)
    dy = max(box.height * scale_y * s.margin, s.min_margin_px)
    return Box(
        box.x1 * scale_x - dx, box.y1 * scale_y - dy, box.x2 * scale_x + dx, box.y2 * scale_y + dy
    )


def overlaps(a: Box, b: Box) -> bool:
    return a.x1 < b.x2 and b.x1 < a.x2 and a.y1 < b.y2 and b.y1 < a.y2


def _union(a: Box, b: Box) -> Box:
    return Box(min(a.x1, b.x1), min(a.y1, b.y1), max(a.x2, b.x2), max(a.y2, b.y2))


def merge_overlapping(boxes: Sequence[Box]) -> list[Box]:
    """Replace overlapping boxes by their union until none overlap."""
    merged: list[Box] = []
    for box in boxes:
        while True:
            hit = next((i for i, m in enumerate(merged) if overlaps(m, box)), None)
            if hit is None:
                break
            box = _union(box, merged.pop(hit))
        merged.append(box)
    return merged


def absorb(regions: Sequence[Box], objects: Sequence[Box]) -> list[Box]:
    """Regions grown to take in whole every object box they touch, merged."""
    current = merge_overlapping(regions)
    while True:
        grown = []
        for region in current:
            for box in objects:
                if overlaps(region, box):
                    region = _union(region, box)
            grown.append(region)
        grown = merge_overlapping(grown)
        if grown == current:
            return grown
        current = grown


def find_changes(
    previous: Image,
    current: Image,
    frame_width: int,
    frame_height: int,
    objects: Sequence[Box],
    settings: ChangeSettings,
) -> ChangedRegions:
    """Regions of the frame to analyse again, given the two signatures and what was found
    last time (`objects`)."""
    blobs, changed = _blobs(previous, current, settings)
    scale_x, scale_y = frame_width / settings.width, frame_height / settings.height
    grown = [_grown(b, settings, scale_x, scale_y) for b in blobs]
    regions = [r.clipped(frame_width, frame_height) for r in absorb(grown, objects)]
    regions = merge_overlapping([r for r in regions if r.area > 0])
    mask = np.zeros((frame_height, frame_width), dtype=bool)
    for r in regions:
        mask[int(r.y1) : int(np.ceil(r.y2)), int(r.x1) : int(np.ceil(r.x2))] = True
    return ChangedRegions(regions, float(np.count_nonzero(mask)) / mask.size, changed)
