"""Frame-difference input filter: send a frame only when it differs enough from the last one sent.

Frames are compared as small blurred grey images, so the cost stays far below decoding and the
blur keeps sensor noise from counting as change. The reference is the last frame *sent*, not the
previous frame, so slow motion accumulates until it is worth a frame (as in Reducto and Glimpse).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class DifferenceSettings:
    """Parameters of `FrameDifferenceFilter`; descriptions live in the camera config model."""

    width: int = 160
    height: int = 120
    blur_kernel: int = 5
    pixel_delta: int = 20
    threshold: float = 0.01
    max_interval_s: float = 2.0

    def __post_init__(self) -> None:
        if self.width < 8 or self.height < 8:
            raise ValueError("difference image must be at least 8x8 pixels")
        if self.blur_kernel < 1 or self.blur_kernel % 2 == 0:
            raise ValueError("blur_kernel must be a positive odd number")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("threshold is a fraction of pixels and must be within [0, 1]")


class SendReason(str, Enum):
    FIRST = "first"
    CHANGED = "changed"
    ARRIVAL = "arrival"
    """Objects came: blobs where the last frame sent showed none (never skipped)."""
    MOVED = "moved"
    """Too few pixels changed for the threshold, but tracked objects moved (foreground turned
    on or off over `arrival_area` of the image)."""
    KEEPALIVE = "keepalive"
    UNCHANGED = "unchanged"
    NOTHING_OF_INTEREST = "nothing_of_interest"
    """Changed, but the tiny detector found nothing (light, noise, swaying leaves)."""
    RATE = "rate"
    """Changed, skipped: the edge answers the camera's query well enough with fewer frames."""
    STALE = "stale"
    """Counts or boxes query: the camera's object detector finds the answer the edge holds (the
    last frame sent's count or boxes) below the query's target here (`pipelines.answer_trigger`);
    or, on motion blobs, a counts camera's moving blobs are too many more or fewer than on the
    last frame sent (`pipelines.blob_counts`)."""


@dataclass(frozen=True)
class FilterDecision:
    """What the filter decided for one frame and why."""

    send: bool
    score: float
    """Fraction of pixels of the small grey image that changed by more than pixel_delta."""
    reason: SendReason


class FrameDifferenceFilter:
    """Keeps the last sent frame's signature and scores new frames against it."""

    def __init__(self, settings: DifferenceSettings | None = None) -> None:
        self.settings = settings or DifferenceSettings()
        self._reference: Image | None = None
        self._reference_time = 0.0
        self._pending: tuple[Image, float] | None = None
        self.tracking = True
        """Whether the edge is tracking objects of this camera (from its replies): keepalive
        frames are only worth sending then, to update or end those tracks."""
        self.next_frame_s: float | None = None
        """Sooner than max_interval_s, the edge wants a frame after this long (a track it just
        started needs a second look to become an event)."""
        self.ignored: Image | None = None
        """255 where change means nothing (the motion mask at the signature's size); None: none."""

    @property
    def threshold(self) -> float:
        return self.settings.threshold

    def set_threshold(self, threshold: float) -> None:
        """Apply a threshold sent by the edge box (feedback), clamped to a valid fraction."""
        clamped = min(max(threshold, 0.0), 1.0)
        self.settings = dataclasses.replace(self.settings, threshold=clamped)

    def set_tracking(self, tracking: bool) -> None:
        self.tracking = tracking

    def signature(self, frame: Image) -> Image:
        """Downscaled, blurred grey image used for all comparisons."""
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        small = cv2.resize(
            grey, (self.settings.width, self.settings.height), interpolation=cv2.INTER_AREA
        )
        k = self.settings.blur_kernel
        blurred = small if k == 1 else cv2.GaussianBlur(small, (k, k), 0)
        return np.asarray(blurred, dtype=np.uint8)

    def score(self, signature: Image) -> float:
        if self._reference is None:
            return 1.0
        diff = cv2.absdiff(signature, self._reference)
        if self.ignored is not None and self.ignored.shape == diff.shape:
            diff[self.ignored > 0] = 0  # a swaying tree under a motion mask changes nothing
        changed = np.count_nonzero(diff > self.settings.pixel_delta)
        return float(changed) / float(diff.size)

    def decide(self, frame: Image, timestamp: float, commit: bool = True) -> FilterDecision:
        """Score `frame`; when it is worth sending it becomes the new reference, at once or,
        with commit=False, only when `commit_last()` confirms it was really sent."""
        return self.decide_signature(self.signature(frame), timestamp, commit)

    def decide_signature(
        self, signature: Image, timestamp: float, commit: bool = True
    ) -> FilterDecision:
        """`decide` for a signature already computed (by the caller, or cached)."""
        score = self.score(signature)
        reason = self._reason(score, timestamp)
        self._pending = (signature, timestamp)
        if commit and reason is not SendReason.UNCHANGED:
            self.commit_last()
        return FilterDecision(send=reason is not SendReason.UNCHANGED, score=score, reason=reason)

    def commit_last(self) -> None:
        """The last decided frame was sent: later frames are compared with it."""
        if self._pending is not None:
            self._reference, self._reference_time = self._pending

    @property
    def reference(self) -> tuple[Image, float] | None:
        """The frame (signature, time) later frames are compared with; None before the first."""
        return None if self._reference is None else (self._reference, self._reference_time)

    def restore(self, reference: tuple[Image, float] | None) -> None:
        """Compare with an earlier reference again (the later one never reached the edge)."""
        self._reference, self._reference_time = reference or (None, 0.0)

    def _reason(self, score: float, timestamp: float) -> SendReason:
        if self._reference is None:
            return SendReason.FIRST
        if score >= self.settings.threshold:
            return SendReason.CHANGED
        interval = self.settings.max_interval_s
        if self.next_frame_s is not None and interval > 0:
            interval = min(interval, self.next_frame_s)
        # A periodic frame keeps the edge's tracks honest: objects that left get their events
        # ended. With nothing tracked, an unchanged scene has nothing to tell.
        if self.tracking and interval > 0 and timestamp - self._reference_time >= interval:
            return SendReason.KEEPALIVE
        return SendReason.UNCHANGED
