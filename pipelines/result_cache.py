"""Answer a near-duplicate frame from the last analysis instead of the full detector.

Keepalive frames and frames of a scene where nothing moves look like the last frame analysed
for their camera. Their detections are reused while the two small grey signatures agree to
within sensor noise and the entry is young enough; an older entry is never served, so a
scene that changed slowly (light, a parked car) is analysed again.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pipelines.types import Detection

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class ResultCacheSettings:
    width: int = 160
    height: int = 120
    max_pixel_difference: int = 12
    """Largest grey-level difference of any signature pixel still counted as the same frame.
    A maximum, not a mean: one person a few pixels further on changes a few pixels a lot
    (100+ on vtest) and the mean hardly at all; noise and JPEG move any pixel by ~3."""
    ttl_s: float = 5.0
    """Never serve a result older than this (capture time)."""


@dataclass(frozen=True)
class _Entry:
    signature: Image
    detections: list[Detection]
    timestamp: float


class ResultCache:
    """One camera's last analysed frame and what the detector found in it."""

    def __init__(self, settings: ResultCacheSettings | None = None) -> None:
        self.settings = settings or ResultCacheSettings()
        self._entry: _Entry | None = None
        self.hits = 0
        self.misses = 0

    def signature(self, frame: Image) -> Image:
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        s = self.settings
        small = cv2.resize(grey, (s.width, s.height), interpolation=cv2.INTER_AREA)
        return np.asarray(small, dtype=np.uint8)

    def lookup(self, signature: Image, timestamp: float) -> list[Detection] | None:
        entry = self._entry
        fresh = entry is not None and 0 <= timestamp - entry.timestamp <= self.settings.ttl_s
        if entry is None or not fresh or entry.signature.shape != signature.shape:
            self.misses += 1
            return None
        difference = int(np.max(cv2.absdiff(signature, entry.signature)))
        if difference > self.settings.max_pixel_difference:
            self.misses += 1
            return None
        self.hits += 1
        return list(entry.detections)

    def store(self, signature: Image, detections: list[Detection], timestamp: float) -> None:
        """Remember a frame the detector analysed (cache hits do not refresh the entry)."""
        self._entry = _Entry(signature, list(detections), timestamp)
