"""Motion and privacy masks: polygons in frame pixels, rasterised once per image size.

A privacy mask is painted solid black on every frame as it is captured, so nothing after it
(the difference filter, the tiny detector, JPEGs, regions, tensors) ever sees those pixels. A
motion mask marks areas whose change means nothing (a swaying tree, a flag, a road outside the
site): the difference filter and the tiny detector ignore them (as Frigate's `motion.mask`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pipelines.types import Box

Image = npt.NDArray[np.uint8]
Point = tuple[float, float]
Polygon = tuple[Point, ...]

MOSTLY_INSIDE = 0.5
"""A detection whose box lies more than this share inside the motion mask is ignored."""


@dataclass(frozen=True)
class MaskPolygons:
    """A camera's masks, polygons in pixels of its frames."""

    motion: tuple[Polygon, ...] = ()
    privacy: tuple[Polygon, ...] = ()

    def __post_init__(self) -> None:
        for polygon in (*self.motion, *self.privacy):
            if len(polygon) < 3:
                raise ValueError(f"a mask polygon needs at least 3 points, got {len(polygon)}")

    def union(self, other: MaskPolygons) -> MaskPolygons:
        """Both sets of masks (duplicates once)."""
        return MaskPolygons(
            tuple(dict.fromkeys((*self.motion, *other.motion))),
            tuple(dict.fromkeys((*self.privacy, *other.privacy))),
        )


def polygon_mask(
    polygons: Sequence[Polygon], size: tuple[int, int], frame: tuple[int, int] | None = None
) -> Image:
    """255 inside any polygon, 0 elsewhere, for an image of `size` (width, height). Polygons are
    in pixels of `frame` (width, height; default `size`) and scaled to `size`."""
    width, height = size
    frame_width, frame_height = frame or size
    scale = np.array([width / frame_width, height / frame_height])
    mask = np.zeros((height, width), np.uint8)
    if polygons:
        corners = [np.round(np.array(p, np.float64) * scale).astype(np.int32) for p in polygons]
        cv2.fillPoly(mask, corners, 255)
    return mask


class PolygonMask:
    """Polygons and their rasterised mask, kept for the last sizes asked (frames rarely change
    size, so each frame costs a dictionary look-up)."""

    def __init__(self, polygons: Sequence[Polygon] = ()) -> None:
        self.polygons = tuple(polygons)
        self._cache: dict[tuple[int, ...], Image] = {}

    def __bool__(self) -> bool:
        return bool(self.polygons)

    def pixels(self, size: tuple[int, int], frame: tuple[int, int] | None = None) -> Image:
        """The mask (255 = masked) at `size`, polygons in pixels of `frame` (default `size`)."""
        key = (*size, *(frame or size))
        mask = self._cache.get(key)
        if mask is None:
            if len(self._cache) >= 4:
                self._cache.clear()
            mask = self._cache[key] = polygon_mask(self.polygons, size, frame)
        return mask


class PrivacyMask(PolygonMask):
    def apply_privacy(self, frame: Image) -> Image:
        """A copy of `frame` painted solid black inside the polygons (the frame itself when
        there are none)."""
        if not self.polygons:
            return frame
        height, width = frame.shape[:2]
        painted = frame.copy()
        painted[self.pixels((width, height)) > 0] = 0
        return painted


class MotionMask(PolygonMask):
    def ignored(self, size: tuple[int, int], frame: tuple[int, int], grow: int = 0) -> Image:
        """Where change means nothing, at `size` (the difference filter's small image), grown by
        `grow` pixels: the filter's blur spreads a swaying branch that far past the polygon."""
        mask = self.pixels(size, frame)
        if grow <= 0:
            return mask
        key = (-grow, *size, *frame)  # grown masks are cached beside the plain ones
        grown = self._cache.get(key)
        if grown is None:
            kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * grow + 1, 2 * grow + 1))
            grown = np.asarray(cv2.dilate(mask, kernel), np.uint8)
            self._cache[key] = grown
        return grown

    def covered(self, box: Box, frame: tuple[int, int]) -> float:
        """Share of `box` (pixels of a `frame` of (width, height)) inside the mask."""
        width, height = frame
        clipped = box.clipped(width, height)
        x1, y1 = int(clipped.x1), int(clipped.y1)
        x2, y2 = max(x1 + 1, round(clipped.x2)), max(y1 + 1, round(clipped.y2))
        inside = self.pixels(frame)[y1:y2, x1:x2]
        return float(np.count_nonzero(inside)) / max(1, inside.size)

    def keeps(self, box: Box, frame: tuple[int, int]) -> bool:
        """Whether a detection in `box` counts: it does not lie mostly inside the mask."""
        return not self.polygons or self.covered(box, frame) <= MOSTLY_INSIDE
