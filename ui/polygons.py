"""A camera's zones and masks as the settings API holds them, and the settings body that adds or
removes one polygon while keeping every other setting. Pure: dicts in, dicts out."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

Point = tuple[float, float]
Polygon = Sequence[Point]
Kind = Literal["zone", "motion", "privacy"]
KIND_NAMES: dict[Kind, str] = {"zone": "Zone", "motion": "Motion mask", "privacy": "Privacy mask"}
"""What the editor offers to draw, as the page names it."""


@dataclass(frozen=True)
class Shape:
    """A zone or mask the camera has: which list it is in, where, and its label on the page."""

    kind: Kind
    index: int
    label: str
    points: list[Point]


def shapes(settings: dict[str, Any]) -> list[Shape]:
    """The camera's zones (labelled by name) and masks (numbered per kind from 1)."""
    found = [
        Shape("zone", i, f"zone {zone['name']}", _points(zone["points"]))
        for i, zone in enumerate(settings.get("zones", []))
    ]
    masks = settings.get("masks") or {}
    for kind in ("motion", "privacy"):
        for i, points in enumerate(masks.get(kind, [])):
            found.append(Shape(kind, i, f"{kind} mask {i + 1}", _points(points)))
    return found


def with_polygon(
    settings: dict[str, Any], kind: Kind, points: Polygon, name: str
) -> dict[str, Any]:
    """The settings with a new zone called `name` (a mask when `kind` is motion or privacy) of
    `points`; everything else as it was. The edge validates the result."""
    body = copy.deepcopy(settings)
    corners = [[x, y] for x, y in points]
    if kind == "zone":
        body.setdefault("zones", []).append({"name": name.strip(), "points": corners})
    else:
        _masks(body).setdefault(kind, []).append(corners)
    return body


def without(settings: dict[str, Any], shape: Shape) -> dict[str, Any]:
    """The settings without `shape`; everything else as it was."""
    body = copy.deepcopy(settings)
    polygons = body["zones"] if shape.kind == "zone" else _masks(body)[shape.kind]
    del polygons[shape.index]
    return body


def _masks(body: dict[str, Any]) -> dict[str, Any]:
    masks: dict[str, Any] = body.setdefault("masks", {}) or {}
    body["masks"] = masks
    return masks


def _points(raw: Sequence[Sequence[float]]) -> list[Point]:
    return [(float(x), float(y)) for x, y in raw]
