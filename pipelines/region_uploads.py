"""Send only the parts of a frame that changed: regions on the camera, a composite on the edge.

The camera masks everything outside the regions where objects are now or were in the last
frame it sent (so someone who left is painted over too) with flat grey, which JPEG encodes in
almost no bytes; the edge pastes those regions onto the last picture it has of the camera and
runs the full detector on that composite. Regions are grown around the tiny detector's blobs,
so the detector sees each object with context, and snapped to JPEG's 16-pixel blocks, so the
grey does not bleed into them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pipelines.types import Box

Image = npt.NDArray[np.uint8]
BLOCK = 16
FILL = 128


@dataclass(frozen=True)
class RegionSettings:
    margin: float = 0.25
    """Grow each blob by this fraction of its size on every side."""
    max_area: float = 0.6
    """Regions covering more of the frame than this: send the whole frame instead."""
    full_frame_interval_s: float = 10.0
    """Send a whole frame at least this often, so slow changes reach the edge's picture."""
    max_foreground: float = 0.25
    """More of the image than this unlike the background: send the whole frame."""

    def __post_init__(self) -> None:
        if self.margin < 0 or not 0 < self.max_area <= 1 or self.full_frame_interval_s <= 0:
            raise ValueError("need margin >= 0, 0 < max_area <= 1, full_frame_interval_s > 0")


def grow(boxes: Sequence[Box], width: int, height: int, margin: float) -> list[Box]:
    """Boxes grown by `margin` and snapped outwards to the 16-pixel grid, inside the frame."""
    grown = []
    for box in boxes:
        dx, dy = box.width * margin, box.height * margin
        x1 = max(0, int((box.x1 - dx) // BLOCK) * BLOCK)
        y1 = max(0, int((box.y1 - dy) // BLOCK) * BLOCK)
        x2 = min(width, int(-(-(box.x2 + dx) // BLOCK)) * BLOCK)
        y2 = min(height, int(-(-(box.y2 + dy) // BLOCK)) * BLOCK)
        if x2 > x1 and y2 > y1:
            grown.append(Box(float(x1), float(y1), float(x2), float(y2)))
    return grown


def coverage(regions: Sequence[Box], width: int, height: int) -> float:
    """Fraction of the frame inside at least one region."""
    return float(np.count_nonzero(region_mask(regions, width, height))) / (width * height)


def region_mask(regions: Sequence[Box], width: int, height: int) -> npt.NDArray[np.bool_]:
    mask = np.zeros((height, width), dtype=bool)
    for r in regions:
        mask[int(r.y1) : int(r.y2), int(r.x1) : int(r.x2)] = True
    return mask


def mask_outside(frame: Image, regions: Sequence[Box]) -> Image:
    """The frame with everything outside `regions` flat grey."""
    height, width = frame.shape[:2]
    masked = np.full_like(frame, FILL)
    keep = region_mask(regions, width, height)
    masked[keep] = frame[keep]
    return masked


def composite(canvas: Image, update: Image, regions: Sequence[Box]) -> Image:
    """`canvas` with the `regions` of `update` pasted in (same frame size)."""
    if canvas.shape != update.shape:
        raise ValueError(f"frame of {update.shape} cannot update a picture of {canvas.shape}")
    height, width = canvas.shape[:2]
    merged = canvas.copy()
    keep = region_mask(regions, width, height)
    merged[keep] = update[keep]
    return merged


class RegionPlanner:
    """Decides, frame by frame, whether the camera sends regions or the whole frame."""

    def __init__(self, settings: RegionSettings | None = None) -> None:
        self.settings = settings or RegionSettings()
        self._last_full: float | None = None
        self._last_sent: list[Box] = []
        self._force_full = False

    def plan(
        self, blobs: Sequence[Box], foreground: float, width: int, height: int, timestamp: float
    ) -> list[Box]:
        """Regions to send; an empty list means the whole frame. `foreground` is the fraction of
        the image the tiny detector's background model sees as changed."""
        s = self.settings
        due = self._last_full is None or timestamp - self._last_full >= s.full_frame_interval_s
        # Much of the scene unlike the background (camera moved, light switched, model still
        # learning): blobs no longer say where the objects are.
        if due or self._force_full or foreground > s.max_foreground:
            return []
        # Where objects are now and where they were: someone who left must be painted over.
        regions = grow([*blobs, *self._last_sent], width, height, s.margin)
        if not regions or coverage(regions, width, height) > s.max_area:
            return []
        return regions

    def sent(self, regions: Sequence[Box], blobs: Sequence[Box], timestamp: float) -> None:
        self._last_sent = list(blobs)
        if not regions:
            self._last_full = timestamp
            self._force_full = False

    def force_full(self) -> None:
        """The edge has no picture to update (it restarted): the next frame goes whole."""
        self._force_full = True
