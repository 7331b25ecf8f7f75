"""Zones, masks and the polygon being drawn, painted with OpenCV on a camera's picture, and
clicks on the shown picture turned into frame pixels. Pure: bytes and numbers in and out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ui.polygons import Point, Polygon

Image = npt.NDArray[np.uint8]
Colour = tuple[int, int, int]
"""BGR, as OpenCV draws."""
ZONE_COLOUR: Colour = (255, 191, 0)
MOTION_COLOUR: Colour = (0, 200, 255)
PRIVACY_COLOUR: Colour = (200, 60, 220)
DRAFT_COLOUR: Colour = (60, 60, 255)
FILL_ALPHA = 0.3
"""How opaque a mask's fill is: the picture under it stays visible."""
JPEG_QUALITY = 85


class PictureError(ValueError):
    """The edge's picture could not be decoded."""


@dataclass(frozen=True)
class Click:
    """A click on the picture as the browser showed it: where, and the shown size (CSS px)."""

    x: float
    y: float
    width: float
    height: float


def decode(jpeg: bytes) -> Image:
    image = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise PictureError("the edge's picture is not a JPEG this UI can read")
    return np.asarray(image, dtype=np.uint8)


def frame_point(click: Click, frame: tuple[int, int]) -> Point:
    """The frame pixel (width, height of `frame`) under a click on the picture shown scaled to
    `click.width` x `click.height`, rounded to whole pixels and kept inside the frame."""
    if click.width <= 0 or click.height <= 0:
        raise ValueError(f"a click on a picture shown {click.width}x{click.height} px")
    width, height = frame
    x = round(click.x * width / click.width)
    y = round(click.y * height / click.height)
    return float(min(max(x, 0), width)), float(min(max(y, 0), height))


@dataclass(frozen=True)
class Layer:
    """Polygons drawn alike: a colour, a fill or not, and a label per polygon."""

    polygons: Sequence[tuple[str, Polygon]]
    colour: Colour
    filled: bool


def draw(image: Image, layers: Sequence[Layer], draft: Polygon) -> bytes:
    """The picture (a copy) with the layers and the draft polygon (its corners and edges, closed
    once it has three) drawn on it, as a JPEG."""
    canvas = image.copy()
    for layer in layers:
        if layer.filled:
            _fill(canvas, [points for _, points in layer.polygons], layer.colour)
        for label, points in layer.polygons:
            _outline(canvas, points, layer.colour, closed=True)
            _label(canvas, label, points[0], layer.colour)
    _draft(canvas, draft)
    ok, encoded = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise PictureError("the picture could not be encoded as a JPEG")
    return bytes(encoded.tobytes())


def _pixels(points: Polygon) -> npt.NDArray[np.int32]:
    return np.array([[round(x), round(y)] for x, y in points], dtype=np.int32)


def _fill(canvas: Image, polygons: Sequence[Polygon], colour: Colour) -> None:
    if not polygons:
        return
    filled = canvas.copy()
    cv2.fillPoly(filled, [_pixels(points) for points in polygons], colour)
    cv2.addWeighted(filled, FILL_ALPHA, canvas, 1 - FILL_ALPHA, 0, dst=canvas)


def _outline(canvas: Image, points: Polygon, colour: Colour, closed: bool) -> None:
    cv2.polylines(canvas, [_pixels(points)], isClosed=closed, color=colour, thickness=2)


def _label(canvas: Image, text: str, at: Point, colour: Colour) -> None:
    origin = (round(at[0]), max(round(at[1]) - 5, 14))
    cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)


def _draft(canvas: Image, draft: Polygon) -> None:
    if len(draft) >= 2:
        _outline(canvas, draft, DRAFT_COLOUR, closed=len(draft) >= 3)
    for number, (x, y) in enumerate(draft, start=1):
        centre = (round(x), round(y))
        cv2.circle(canvas, centre, 5, DRAFT_COLOUR, -1, cv2.LINE_AA)
        cv2.circle(canvas, centre, 5, (255, 255, 255), 1, cv2.LINE_AA)
        _label(canvas, str(number), (x + 6, y), DRAFT_COLOUR)
