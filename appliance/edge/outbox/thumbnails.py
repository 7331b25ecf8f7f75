"""Small JPEG thumbnails of event snapshots, for sites whose config allows them; redacted
(privacy.redact.cloud) before they are shrunk, so the blocks are the snapshot's."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

_QUALITIES = (70, 55, 40, 30)

Image = npt.NDArray[np.uint8]


def thumbnail(
    path: Path, width: int, max_bytes: int, redaction: Callable[[Image], Image] | None = None
) -> str | None:
    """Base64 JPEG at most ``width`` wide and ``max_bytes`` long, made of the snapshot as
    ``redaction`` returns it (a redacted copy); None when it cannot be made."""
    read = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if read is None:
        log.warning("thumbnail skipped: cannot read snapshot %s", path.name)
        return None
    image = np.asarray(read, np.uint8)
    if redaction is not None:
        image = redaction(image)
    height, current = image.shape[:2]
    if current > width:
        size = (width, max(1, round(height * width / current)))
        image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
    for quality in _QUALITIES:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(encoded) <= max_bytes:
            return base64.b64encode(encoded.tobytes()).decode("ascii")
    log.warning("thumbnail skipped: %s does not fit in %d bytes", path.name, max_bytes)
    return None
