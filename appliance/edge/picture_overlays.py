"""What the annotated picture shows of a camera's settings: its zones (outline and name), its
motion masks (hatched and outlined) and its privacy masks (black already: outlined and labelled
"privacy"). Drawn once per set of zones, masks and picture size into a layer that each frame
only copies in (a masked copy, however many polygons there are)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from pipelines.masks import MaskPolygons, Polygon, polygon_mask
from pipelines.zones import Zone

Image = npt.NDArray[np.uint8]
Colour = tuple[int, int, int]

# BGR, the colours the UI's settings editor draws them in (ui/overlay.py).
ZONE_COLOUR: Colour = (255, 191, 0)
MOTION_COLOUR: Colour = (0, 200, 255)
PRIVACY_COLOUR: Colour = (200, 60, 220)
HATCH_STEP = 12
"""Pixels between the hatch lines of a motion mask."""


@dataclass(frozen=True)
class Overlay:
    layer: Image
    """What is drawn, in colour (BGR), the picture's size."""
    drawn: npt.NDArray[np.bool_]
    """Where the layer replaces the picture."""

    def apply(self, image: Image) -> None:
        """Draw the layer on `image` (the picture's size, BGR) in place."""
        np.copyto(image, self.layer, where=self.drawn[..., None])


def overlay_for(zones: Sequence[Zone], masks: MaskPolygons, size: tuple[int, int]) -> Overlay:
    """The zones and masks of a picture of `size` (width, height), drawn once and kept."""
    return _overlay(tuple(zones), masks, size)


def draw_label(image: Image, text: str, origin: tuple[int, int], colour: Colour) -> None:
    """`text` just above `origin` (kept inside the picture)."""
    x, y = origin[0], max(origin[1] - 4, 12)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)


@lru_cache(maxsize=32)
def _overlay(zones: tuple[Zone, ...], masks: MaskPolygons, size: tuple[int, int]) -> Overlay:
    width, height = size
    layer = np.zeros((height, width, 3), np.uint8)
    drawn = np.zeros((height, width), np.uint8)
    if masks.motion:
        _hatch(layer, drawn, masks.motion, size)
    for polygon in masks.motion:
        _outline(layer, drawn, polygon, MOTION_COLOUR, "motion mask")
    for polygon in masks.privacy:
        _outline(layer, drawn, polygon, PRIVACY_COLOUR, "privacy")
    for zone in zones:
        _outline(layer, drawn, zone.polygon, ZONE_COLOUR, zone.name)
    return Overlay(layer, drawn > 0)


def _hatch(layer: Image, drawn: Image, polygons: Sequence[Polygon], size: tuple[int, int]) -> None:
    """Diagonal lines inside the polygons: the picture stays visible between them."""
    width, height = size
    lines = np.zeros((height, width), np.uint8)
    for start in range(-height, width, HATCH_STEP):
        cv2.line(lines, (start, height), (start + height, 0), 255, 1)
    hatched = (lines > 0) & (polygon_mask(polygons, size) > 0)
    layer[hatched] = MOTION_COLOUR
    drawn[hatched] = 255


def _outline(layer: Image, drawn: Image, polygon: Polygon, colour: Colour, name: str) -> None:
    points = np.array([[round(x), round(y)] for x, y in polygon], dtype=np.int32)
    origin = (int(points[0][0]), int(points[0][1]))
    cv2.polylines(layer, [points], isClosed=True, color=colour, thickness=2)
    cv2.polylines(drawn, [points], isClosed=True, color=255, thickness=2)
    draw_label(layer, name, origin, colour)
    # The label's anti-aliased edge is drawn too: the mask takes every pixel it touched.
    draw_label(drawn, name, origin, (255, 255, 255))
