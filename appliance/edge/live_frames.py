"""Each camera's latest analysed picture with zones, boxes, labels and track ids drawn on it,
drawn and encoded once per analysed frame for every reader (JPEG, MJPEG and WebRTC)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from appliance.edge.analysis import LatestView
from appliance.edge.box import EdgeBox

Image = npt.NDArray[np.uint8]
ZONE_COLOUR = (255, 191, 0)
TRACKED_COLOUR = (80, 220, 80)
UNTRACKED_COLOUR = (0, 165, 255)


def annotate(view: LatestView) -> Image:
    """A copy of the picture with zones, boxes, labels and track ids drawn on it."""
    image: Image = view.image.copy()
    if image.ndim == 2:
        image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    for zone in view.zones:
        points = np.array([[round(x), round(y)] for x, y in zone.polygon], dtype=np.int32)
        cv2.polylines(image, [points], isClosed=True, color=ZONE_COLOUR, thickness=2)
        _text(image, zone.name, (int(points[0][0]), int(points[0][1])), ZONE_COLOUR)
    for index, detection in enumerate(view.detections):
        box, track = detection.box, view.track_ids.get(index)
        colour = TRACKED_COLOUR if track is not None else UNTRACKED_COLOUR
        top_left, bottom_right = (round(box.x1), round(box.y1)), (round(box.x2), round(box.y2))
        cv2.rectangle(image, top_left, bottom_right, colour, 2)
        name = detection.label if track is None else f"{detection.label} #{track}"
        _text(image, f"{name} {detection.confidence:.2f}", top_left, colour)
    return image


def _text(image: Image, text: str, origin: tuple[int, int], colour: tuple[int, int, int]) -> None:
    x, y = origin[0], max(origin[1] - 4, 12)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)


@dataclass(frozen=True)
class _Rendered:
    version: int
    image: Image
    jpeg: bytes | None = None


class LiveFrames:
    """Annotated pictures and their JPEGs, drawn and encoded once per analysed frame."""

    def __init__(self, box: EdgeBox, jpeg_quality: int = 80) -> None:
        self.box = box
        self.jpeg_quality = jpeg_quality
        self._cache: dict[str, _Rendered] = {}
        self._lock = threading.Lock()

    def annotated(self, camera_id: str) -> tuple[int, Image] | None:
        """(version, annotated picture) of the camera's latest frame; None before the first."""
        rendered = self._rendered(camera_id)
        return None if rendered is None else (rendered.version, rendered.image)

    def jpeg(self, camera_id: str) -> tuple[int, bytes] | None:
        rendered = self._rendered(camera_id)
        if rendered is None:
            return None
        if rendered.jpeg is None:
            params = [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality]
            ok, encoded = cv2.imencode(".jpg", rendered.image, params)
            if not ok:
                return None
            rendered = _Rendered(rendered.version, rendered.image, bytes(encoded.tobytes()))
            with self._lock:
                self._cache[camera_id] = rendered
        assert rendered.jpeg is not None
        return rendered.version, rendered.jpeg

    def _rendered(self, camera_id: str) -> _Rendered | None:
        view = self.box.analyzers[camera_id].latest_view()
        if view is None:
            return None
        with self._lock:
            cached = self._cache.get(camera_id)
        if cached is not None and cached.version == view.version:
            return cached
        rendered = _Rendered(view.version, annotate(view))
        with self._lock:
            self._cache[camera_id] = rendered
        return rendered
