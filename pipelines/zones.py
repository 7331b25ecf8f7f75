"""Zones: named polygons in a camera's picture; an object is in a zone where it stands.

The test point is the bottom centre of the box (where feet or wheels touch the ground), as
Frigate does: a person walking past a doorway on the pavement is not "in" the doorway just
because their head overlaps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.types import Box

Point = tuple[float, float]


@dataclass(frozen=True)
class Zone:
    name: str
    polygon: tuple[Point, ...]

    def __post_init__(self) -> None:
        if len(self.polygon) < 3:
            raise ValueError(f"zone {self.name!r} needs at least 3 points")

    def contains(self, point: Point) -> bool:
        """Even-odd ray casting; points on an edge may fall either way."""
        x, y = point
        inside = False
        corners = self.polygon
        for (x1, y1), (x2, y2) in zip(corners, corners[1:] + corners[:1], strict=True):
            if (y1 > y) != (y2 > y):
                crossing = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
                if x < crossing:
                    inside = not inside
        return inside


def zones_of(box: Box, zones: Sequence[Zone]) -> list[str]:
    """Names of the zones the object in `box` stands in, in configuration order."""
    point = box.bottom_centre
    return [zone.name for zone in zones if zone.contains(point)]
