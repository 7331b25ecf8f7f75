"""Polygons in a camera's frame (zones, masks) and a camera's masks, as both roles configure them:
the node's YAML, the edge's cameras and its settings API validate them with these types."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from cameras.config_checks import StrictConfig
from pipelines.masks import MaskPolygons

Coordinate = Annotated[float, Field(ge=0.0, le=16384.0, allow_inf_nan=False)]
"""A pixel coordinate: finite, inside the largest frame the edge accepts (with room)."""
PolygonPoints = Annotated[list[tuple[Coordinate, Coordinate]], Field(min_length=3, max_length=64)]
"""A polygon's corners [x, y] in frame pixels: 3 to 64 of them."""
MAX_MASKS = 32


class MaskConfig(StrictConfig):
    """Areas of the picture, as polygons of [x, y] corners in frame pixels (3 to 64 corners,
    each 0 to 16384): what a UI draws and the settings API stores."""

    motion: list[PolygonPoints] = Field(
        default_factory=list,
        max_length=MAX_MASKS,
        description="Motion masks: areas whose change means nothing (a swaying tree, a flag, a"
        " screen, a road outside the site). The difference filter and the tiny detector ignore"
        " them; a detection mostly inside one does not make a frame worth sending. At most 32.",
    )
    privacy: list[PolygonPoints] = Field(
        default_factory=list,
        max_length=MAX_MASKS,
        description="Privacy masks: areas that must never leave the camera (a neighbour's"
        " window, a keypad). The node paints them black on every frame as it is captured, before"
        " anything else sees it. At most 32.",
    )

    def polygons(self) -> MaskPolygons:
        return MaskPolygons(
            tuple(tuple(p) for p in self.motion), tuple(tuple(p) for p in self.privacy)
        )


def masks_outside(masks: MaskConfig, frame: tuple[int, int] | None) -> str | None:
    """Where a mask leaves a camera's frame of `frame` [width, height] pixels (None: every
    point is inside, or the frame size is not configured)."""
    if frame is None:
        return None
    for kind, polygons in (("motion", masks.motion), ("privacy", masks.privacy)):
        found = point_outside(polygons, frame)
        if found is not None:
            i, j, x, y = found
            return outside_the_frame(f"masks.{kind}.{i}.{j}", (x, y), frame)
    return None


def point_outside(
    polygons: list[list[tuple[float, float]]], frame: tuple[int, int]
) -> tuple[int, int, float, float] | None:
    """The first corner beyond `frame` (width, height): (polygon, corner, x, y), or None."""
    width, height = frame
    for i, points in enumerate(polygons):
        for j, (x, y) in enumerate(points):
            if x > width or y > height:
                return i, j, x, y
    return None


def outside_the_frame(where: str, point: tuple[float, float], frame: tuple[int, int]) -> str:
    """The refusal of a corner beyond the frame, named by its field path `where`."""
    x, y = point
    width, height = frame
    return f"{where}: ({x:g}, {y:g}) lies outside the camera's {width}x{height} frame" + (
        " (max_frame_size)"
    )
