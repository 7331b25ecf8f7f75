"""Early exit on the edge: answer each frame with the cheapest exit that can be trusted.

Exits, in rising cost:

1. `cache`: the frame is a near-duplicate of the last one analysed (`ResultCache`).
2. `regions`: only parts of the scene changed since the last frame analysed. Detections away
   from the change are kept as they are (stationary objects); the detector looks again only
   at the changed regions, window for window as on the whole frame (`hog_windows`), or cell for
   cell on the stride grid of a YOLO model's full-frame input (`yolo_regions`).
3. `full`: the detector on the whole frame.

The regions exit is trusted only while the change is local: the regions cover at most
`max_region_area` of the frame, less than `max_changed` of the picture changed (light switched,
camera moved), and the last full answer is younger than `full_interval_s` (something that
appeared without being seen to move is found within that time). Otherwise the frame falls
through to `full`. `run` decides without changing any state; `commit` records the answer
once the caller has stored it, so a frame that fails to store leaves the cascade as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from pipelines.cascade_regions import ChangeSettings, blurred, downscale, find_changes, overlaps
from pipelines.detectors import Detector
from pipelines.detectors.hog import suppress_overlaps
from pipelines.result_cache import ResultCache
from pipelines.types import Box, Detection

Image = npt.NDArray[np.uint8]


class Exit(str, Enum):
    CACHE = "cache"
    REGIONS = "regions"
    FULL = "full"
    SPLIT = "split"
    """Not the cascade's own: the model's tail ran on tensors a camera node sent (Edgent)."""


@runtime_checkable
class RegionDetector(Protocol):
    """A detector that can look at parts of a frame and answer as it would for the whole."""

    name: str

    @property
    def regions_supported(self) -> bool:
        """False when looking at regions would gain nothing (an ONNX model whose input side
        is fixed answers `detect_regions` with a whole-frame run)."""

    def detect(self, frame: Image) -> list[Detection]: ...

    def detect_regions(self, frame: Image, regions: list[Box]) -> list[Detection]: ...


@dataclass(frozen=True)
class CascadeSettings:
    regions: bool = True
    """Use the regions exit (needs a detector that supports regions: HOG, or a YOLO model
    with dynamic input sides)."""
    max_region_area: float = 0.5
    full_interval_s: float = 2.0
    max_changed: float = 0.3
    change: ChangeSettings = field(default_factory=ChangeSettings)

    def __post_init__(self) -> None:
        if not 0 < self.max_region_area <= 1 or not 0 < self.max_changed <= 1:
            raise ValueError("max_region_area and max_changed must be in (0, 1]")
        if self.full_interval_s <= 0:
            raise ValueError("full_interval_s must be > 0")


@dataclass(frozen=True)
class CascadeAnswer:
    detections: list[Detection]
    exit: Exit
    scanned: float
    """Fraction of the frame the detector looked at (1 for full, 0 for a cache hit)."""
    detector_s: float
    timestamp: float
    signature: Image | None = field(default=None, repr=False)
    """The change signature (None for a cache hit: committing it changes nothing)."""
    cache_signature: Image | None = field(default=None, repr=False)


@dataclass(frozen=True)
class _Analysed:
    signature: Image
    detections: list[Detection]
    last_full: float


class EarlyExitCascade:
    """One camera's cascade; call `run`, store the answer, then `commit` it."""

    def __init__(
        self,
        detector: Detector,
        cache: ResultCache | None = None,
        settings: CascadeSettings | None = None,
    ) -> None:
        self.detector = detector
        self.cache = cache
        self.settings = settings or CascadeSettings()
        self._last: _Analysed | None = None

    @property
    def uses_regions(self) -> bool:
        return (
            self.settings.regions
            and isinstance(self.detector, RegionDetector)
            and self.detector.regions_supported
        )

    def run(self, frame: Image, timestamp: float, whole: bool = False) -> CascadeAnswer:
        """``whole``: skip the regions exit (the full exit, or the cache for a near-duplicate)."""
        # One downscale of the whole frame serves both signatures: shrinking a large frame
        # by an odd factor was most of what the cascade cost besides the detector.
        small = downscale(frame, self.settings.change)
        cache_signature = None
        if self.cache is not None:
            cache_signature = self.cache.signature(small)
            cached = self.cache.lookup(cache_signature, timestamp)
            if cached is not None:
                return CascadeAnswer(cached, Exit.CACHE, 0.0, 0.0, timestamp)
        current = blurred(small)
        started = time.perf_counter()
        detections, exit_, scanned = self._detect(frame, current, timestamp, whole)
        elapsed = time.perf_counter() - started
        return CascadeAnswer(
            detections, exit_, scanned, elapsed, timestamp, current, cache_signature
        )

    def commit(self, answer: CascadeAnswer) -> None:
        """Record an answer the caller has stored (cache hits change nothing)."""
        if answer.signature is None:
            return
        last_full = answer.timestamp
        if answer.exit is Exit.REGIONS and self._last is not None:
            last_full = self._last.last_full
        self._last = _Analysed(answer.signature, list(answer.detections), last_full)
        if self.cache is not None and answer.cache_signature is not None:
            self.cache.store(answer.cache_signature, answer.detections, answer.timestamp)

    def _detect(
        self, frame: Image, current: Image, timestamp: float, whole: bool
    ) -> tuple[list[Detection], Exit, float]:
        last = self._last
        if whole or not self.uses_regions or last is None:
            return self.detector.detect(frame), Exit.FULL, 1.0
        s = self.settings
        if not 0 <= timestamp - last.last_full < s.full_interval_s:
            return self.detector.detect(frame), Exit.FULL, 1.0
        height, width = frame.shape[:2]
        boxes = [d.box for d in last.detections]
        changes = find_changes(last.signature, current, width, height, boxes, s.change)
        if changes.area > s.max_region_area or changes.changed > s.max_changed:
            return self.detector.detect(frame), Exit.FULL, 1.0
        assert isinstance(self.detector, RegionDetector)
        found = self.detector.detect_regions(frame, changes.regions) if changes.regions else []
        # Objects away from every change are where they were (regions took in whole any
        # object they touched, so the two sets do not overlap).
        kept = [d for d in last.detections if not any(overlaps(d.box, r) for r in changes.regions)]
        return suppress_overlaps([*kept, *found], 0.45), Exit.REGIONS, changes.area
