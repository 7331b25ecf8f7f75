"""How many frames a benchmark's pass over a clip will read: the total its progress bar shows."""

from __future__ import annotations

from pathlib import Path

import cv2


def frames_to_read(video: Path | str, limit: int | None = None) -> int | None:
    """`limit`, or the clip's frame count when smaller; None when neither is known (a stream's
    container does not say)."""
    capture = cv2.VideoCapture(str(video))
    try:
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    if count <= 0:
        return limit
    return count if limit is None else min(limit, count)
