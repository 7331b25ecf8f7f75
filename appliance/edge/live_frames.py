"""Each camera's latest analysed picture with zones, masks, boxes, labels and track ids drawn on
it, drawn and encoded once per analysed frame for every reader (JPEG, MJPEG and WebRTC).

With `privacy.redact.viewers` the redacted version (people pixelated or blurred before anything
is drawn) is made too, once per frame, for the first viewer that asks; the admin's version stays
the original."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from appliance.edge.analysis import LatestView
from appliance.edge.box import EdgeBox
from appliance.edge.picture_overlays import draw_label, overlay_for
from appliance.edge.privacy_config import RedactConfig
from pipelines.masks import MaskPolygons
from pipelines.redaction import redact

Image = npt.NDArray[np.uint8]
TRACKED_COLOUR = (80, 220, 80)
UNTRACKED_COLOUR = (0, 165, 255)


def redacted_picture(view: LatestView, config: RedactConfig) -> Image:
    """The view's picture with the objects of the redacted labels redacted."""
    boxes = [d.box for d in view.detections if config.redacts(d.label)]
    return redact(view.image, boxes, config.settings())


NO_MASKS = MaskPolygons()


def annotate(
    view: LatestView, masks: MaskPolygons = NO_MASKS, picture: Image | None = None
) -> Image:
    """A copy of the picture (or of `picture`, the same frame redacted) with zones, masks,
    boxes, labels and track ids drawn on it."""
    source = view.image if picture is None else picture
    image: Image = source.copy()
    if image.ndim == 2:
        image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    height, width = image.shape[:2]
    overlay_for(view.zones, masks, (width, height)).apply(image)
    for index, detection in enumerate(view.detections):
        box, track = detection.box, view.track_ids.get(index)
        colour = TRACKED_COLOUR if track is not None else UNTRACKED_COLOUR
        top_left, bottom_right = (round(box.x1), round(box.y1)), (round(box.x2), round(box.y2))
        cv2.rectangle(image, top_left, bottom_right, colour, 2)
        name = detection.label if track is None else f"{detection.label} #{track}"
        draw_label(image, f"{name} {detection.confidence:.2f}", top_left, colour)
    return image


@dataclass(frozen=True)
class _Rendered:
    version: int
    image: Image
    jpeg: bytes | None = None


class LiveFrames:
    """Annotated pictures and their JPEGs, drawn and encoded once per analysed frame (and once
    more, redacted, when viewers get redacted pictures and one asks)."""

    def __init__(self, box: EdgeBox, jpeg_quality: int = 80) -> None:
        self.box = box
        self.jpeg_quality = jpeg_quality
        self._cache: dict[tuple[str, bool], _Rendered] = {}
        self._lock = threading.Lock()

    def annotated(self, camera_id: str, redacted: bool = False) -> tuple[int, Image] | None:
        """(version, annotated picture) of the camera's latest frame; None before the first.
        `redacted`: the redacted labels' objects redacted first."""
        rendered = self._rendered(camera_id, redacted)
        return None if rendered is None else (rendered.version, rendered.image)

    def jpeg(self, camera_id: str, redacted: bool = False) -> tuple[int, bytes] | None:
        rendered = self._rendered(camera_id, redacted)
        if rendered is None:
            return None
        if rendered.jpeg is None:
            params = [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality]
            ok, encoded = cv2.imencode(".jpg", rendered.image, params)
            if not ok:
                return None
            rendered = _Rendered(rendered.version, rendered.image, bytes(encoded.tobytes()))
            with self._lock:
                self._cache[(camera_id, redacted)] = rendered
        assert rendered.jpeg is not None
        return rendered.version, rendered.jpeg

    def _rendered(self, camera_id: str, redacted: bool) -> _Rendered | None:
        view = self.box.analyzers[camera_id].latest_view()
        if view is None:
            return None
        key = (camera_id, redacted)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached.version == view.version:
            return cached
        masks = self.box.cameras[camera_id].masks.polygons()
        picture = redacted_picture(view, self.box.config.privacy.redact) if redacted else None
        rendered = _Rendered(view.version, annotate(view, masks, picture))
        with self._lock:
            self._cache[key] = rendered
        return rendered
