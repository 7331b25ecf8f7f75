"""Value types shared by every stage: boxes and detections in original-frame pixels."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in pixel coordinates of the original frame (x2 > x1, y2 > y1)."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return max(0.0, self.x2 - self.x1)

    @property
    def height(self) -> float:
        return max(0.0, self.y2 - self.y1)

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def bottom_centre(self) -> tuple[float, float]:
        """Where an object touches the ground: the point zone rules test."""
        return ((self.x1 + self.x2) / 2.0, self.y2)

    def grown(self, margin: float) -> Box:
        """This box with `margin` times its width and height added on each side."""
        dx, dy = self.width * margin, self.height * margin
        return Box(self.x1 - dx, self.y1 - dy, self.x2 + dx, self.y2 + dy)

    def intersects(self, other: Box) -> bool:
        return min(self.x2, other.x2) > max(self.x1, other.x1) and min(self.y2, other.y2) > max(
            self.y1, other.y1
        )

    def iou(self, other: Box) -> float:
        ix = min(self.x2, other.x2) - max(self.x1, other.x1)
        iy = min(self.y2, other.y2) - max(self.y1, other.y1)
        if ix <= 0 or iy <= 0:
            return 0.0
        inter = ix * iy
        return inter / (self.area + other.area - inter)

    def clipped(self, width: int, height: int) -> Box:
        return Box(
            min(max(self.x1, 0.0), float(width)),
            min(max(self.y1, 0.0), float(height)),
            min(max(self.x2, 0.0), float(width)),
            min(max(self.y2, 0.0), float(height)),
        )


@dataclass(frozen=True)
class Detection:
    """One detected object: what the detector saw, how sure it is, and where."""

    label: str
    confidence: float
    box: Box
