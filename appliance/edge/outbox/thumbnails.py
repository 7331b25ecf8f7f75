"""Small JPEG thumbnails of event snapshots, for sites whose config allows them."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import cv2

log = logging.getLogger(__name__)

_QUALITIES = (70, 55, 40, 30)


def thumbnail(path: Path, width: int, max_bytes: int) -> str | None:
    """Base64 JPEG at most ``width`` wide and ``max_bytes`` long; None when it cannot be made."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        log.warning("thumbnail skipped: cannot read snapshot %s", path.name)
        return None
    height, current = image.shape[:2]
    if current > width:
        size = (width, max(1, round(height * width / current)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    for quality in _QUALITIES:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(encoded) <= max_bytes:
            return base64.b64encode(encoded.tobytes()).decode("ascii")
    log.warning("thumbnail skipped: %s does not fit in %d bytes", path.name, max_bytes)
    return None
