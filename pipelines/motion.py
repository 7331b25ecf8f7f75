"""The camera node's tiny detector and Reducto-style difference features, from the signature.

Everything works on `FrameDifferenceFilter.signature` (a small blurred grey image), so a Pi
pays well under a millisecond per frame. A slowly learned background gives the foreground;
its blobs are the tiny detector's answer ("motion" boxes in original-frame pixels), and the
pixel, area and edge features compare the frame with the last one sent (as in Reducto).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from pipelines.frame_difference import Image
from pipelines.types import Box, Detection

FloatImage = npt.NDArray[np.float32]

# After the light changed visibly, the background is relearned for RELEARN_FRAMES frames at
# RELEARN_RATE: of what the global light fit missed, 0.9**10 = 35% is left.
RELEARN_FRAMES = 10
RELEARN_RATE = 0.1


ARRIVAL_MARGIN = 0.5
"""A blob near a blob of a frame before (within half its size) is the same object moving."""
ARRIVAL_MEMORY = 3
"""Frames a blob is remembered: one that flickers out for a frame or two did not come."""


@dataclass(frozen=True)
class MotionSettings:
    """Parameters of the background model, the blob detector and the features."""

    learning_rate: float = 0.02
    """Per-frame weight of a new frame in the background where nothing moves."""
    foreground_rate: float = 0.002
    """Weight where foreground was found, so a person standing still stays foreground."""
    absorb_frames: int = 50
    """Frames a pixel may stay foreground before it is learned at `learning_rate` anyway:
    else a wrong background (a ghost where something left) never heals."""
    warmup_frames: int = 50
    """Frames over which the background is the mean of all seen, learned everywhere."""
    threshold: int = 14
    """Grey levels off the background (in the current light) that make a pixel foreground."""
    min_area: float = 0.0015
    max_area: float = 0.5
    """Blob boxes kept, as fractions of the image."""
    min_aspect: float = 0.15
    max_aspect: float = 6.0
    """Box width / height kept: people are about 0.4, vehicles 1-3, slivers are flicker."""
    pixel_delta: int = 20
    """Grey levels for the pixel feature, as `DifferenceSettings.pixel_delta`."""
    shadow_ratio: tuple[float, float] = (0.4, 0.95)
    """A blob nearly all of whose pixels are the background dimmed by a factor in this range
    is a shadow (or a cloud's edge): it is no arrival."""
    shadow_share: float | None = 0.95
    """Share of a blob's pixels within `shadow_ratio` that makes it a shadow (None: never)."""

    def __post_init__(self) -> None:
        if not (0.0 < self.learning_rate <= 1.0 and 0.0 <= self.foreground_rate <= 1.0):
            raise ValueError("need 0 < learning_rate <= 1 and 0 <= foreground_rate <= 1")
        if self.warmup_frames < 0 or self.absorb_frames < 1:
            raise ValueError("need warmup_frames >= 0 and absorb_frames >= 1")
        if not (1 <= self.threshold <= 255 and 1 <= self.pixel_delta <= 255):
            raise ValueError("threshold and pixel_delta are grey levels within [1, 255]")
        if not 0.0 < self.min_area < self.max_area <= 1.0:
            raise ValueError("need 0 < min_area < max_area <= 1 (fractions of the image)")
        if not 0.0 < self.min_aspect < self.max_aspect:
            raise ValueError("need 0 < min_aspect < max_aspect")
        low, high = self.shadow_ratio
        if not 0.0 < low < high <= 1.0:
            raise ValueError("shadow_ratio needs 0 < low < high <= 1 (a shadow only dims)")
        if self.shadow_share is not None and not 0.0 < self.shadow_share <= 1.0:
            raise ValueError("shadow_share must be in (0, 1] or None")


class BackgroundModel:
    """Running average of the signature, learned where nothing moves, seen in today's light."""

    def __init__(self, settings: MotionSettings | None = None) -> None:
        self.settings = settings or MotionSettings()
        self._background: FloatImage | None = None
        self._age = np.zeros((0, 0), np.uint16)
        self._frames = 0
        self._lit: tuple[Image, FloatImage] | None = None
        self._drift = 0.0
        self._relearn = 0
        self._jumped = False

    def foreground(self, signature: Image) -> Image:
        """Mask (255 = foreground) of pixels that differ from the background beyond noise."""
        if self._background is None or self._background.shape != signature.shape:
            return np.zeros(signature.shape, np.uint8)
        diff = cv2.absdiff(signature.astype(np.float32), self._relit(signature))
        return np.asarray(diff > self.settings.threshold, np.uint8) * np.uint8(255)

    def update(self, signature: Image, mask: Image) -> None:
        """Learn `signature`: fast where `mask` is 0, slowly where it found foreground."""
        frame = signature.astype(np.float32)
        if self._background is None or self._background.shape != signature.shape:
            self._background, self._frames = frame, 1
            self._age = np.zeros(signature.shape, np.uint16)
            return
        self._frames += 1
        self._follow_light(self._relit(signature))
        if self._frames <= self.settings.warmup_frames:
            rate = max(self.settings.learning_rate, 1.0 / self._frames)
            cv2.accumulateWeighted(frame, self._background, rate)
            return
        still_rate, moving_rate = self._rates()
        moving = self._moving(mask)
        cv2.accumulateWeighted(frame, self._background, still_rate, cv2.bitwise_not(moving))
        if moving_rate > 0:
            cv2.accumulateWeighted(frame, self._background, moving_rate, moving)

    @property
    def lit(self) -> FloatImage | None:
        """The background in the light of the last signature `foreground` saw."""
        return None if self._lit is None else self._lit[1]

    def _relit(self, signature: Image) -> FloatImage:
        """The background in the light of `signature` (fitted once per signature)."""
        assert self._background is not None
        if self._lit is None or self._lit[0] is not signature:
            gain, offset = light_change(signature, self._background, self.settings.threshold)
            # Clipping models saturation: a bright wall lit further stays at 255.
            lit = np.clip(self._background * gain + offset, 0.0, 255.0).astype(np.float32)
            self._lit = (signature, lit)
        return self._lit[1]

    def _follow_light(self, lit: FloatImage) -> None:
        """Move the whole background, foreground included, into the current light: else a
        region covered while the light changed comes back as a ghost when it is uncovered."""
        assert self._background is not None
        change = float(np.median(lit[::4, ::4] - self._background[::4, ::4]))
        self._background, self._lit = lit, None
        self._drift += change
        if abs(self._drift) > self.settings.threshold / 2:
            # Saturation (invisible in the blurred signature) and the camera's response move
            # parts of the scene unlike the global fit: relearn them before they cross the
            # threshold. After a jump they already did, so foreground is relearned too.
            self._drift, self._relearn = 0.0, RELEARN_FRAMES
            self._jumped = abs(change) > self.settings.threshold / 2

    def _rates(self) -> tuple[float, float]:
        """Learning rates where nothing moves and in foreground, for this frame."""
        s = self.settings
        relearn, self._relearn = self._relearn > 0, max(0, self._relearn - 1)
        if not relearn:
            return s.learning_rate, s.foreground_rate
        moving_rate = RELEARN_RATE if self._jumped else s.foreground_rate
        return max(s.learning_rate, RELEARN_RATE), moving_rate

    def _moving(self, mask: Image) -> Image:
        """Foreground that has not yet outstayed `absorb_frames` (255): learned slowly."""
        found = mask > 0
        np.add(self._age, 1, out=self._age, where=found & (self._age < 65535))
        self._age[~found] = 0
        young = found & (self._age <= self.settings.absorb_frames)
        return young.astype(np.uint8) * np.uint8(255)


def light_change(signature: Image, background: FloatImage, threshold: float) -> tuple[float, float]:
    """Global light change (exposure, clouds) as `signature ~ gain * background + offset`.

    Fitted on the scene, not objects: on every other pixel (plenty, half the cost) but the
    saturated, refitted on those near the last fit. The first fit is the median difference,
    which objects covering less than half the image do not move."""
    f = signature[::2, ::2].ravel().astype(np.float32)
    b = background[::2, ::2].ravel()
    usable = (f > 2) & (f < 253)
    gain, offset = 1.0, float(np.median(f - b))
    for tolerance in (3.0 * threshold, float(threshold)):
        inliers = usable & (np.abs(f - (gain * b + offset)) < tolerance)
        if np.count_nonzero(inliers) < f.size // 4:
            break  # most of the scene covered or saturated: keep the simpler fit
        gain, offset = _line(b[inliers], f[inliers])
    return gain, offset


def _line(x: FloatImage, y: FloatImage) -> tuple[float, float]:
    """Least-squares `y ~ gain * x + offset`, gain kept within what light plausibly does."""
    mx, my = float(x.mean()), float(y.mean())
    spread = float(np.mean((x - mx) ** 2))
    if spread < 1.0:
        return 1.0, my - mx
    gain = min(2.0, max(0.5, float(np.mean((x - mx) * (y - my))) / spread))
    return gain, my - gain * mx


class MotionBlobDetector:
    """The built-in tiny detector: foreground blobs of plausible size and shape as boxes."""

    def __init__(self, settings: MotionSettings | None = None) -> None:
        self.settings = settings or MotionSettings()
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 7))

    def clean(self, mask: Image) -> Image:
        """Drop speckle noise (open), then join the parts of one body (close, taller)."""
        opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        return np.asarray(cv2.morphologyEx(opened, cv2.MORPH_CLOSE, self._close), np.uint8)

    def detect(self, mask: Image, frame_width: int, frame_height: int) -> list[Detection]:
        """Boxes of the blobs of a cleaned mask, in pixels of the original frame."""
        height, width = mask.shape[:2]
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        sx, sy = frame_width / width, frame_height / height
        found: list[Detection] = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            confidence = self._confidence(mask[y : y + h, x : x + w], width * height)
            if confidence > 0.0:
                box = Box(x * sx, y * sy, (x + w) * sx, (y + h) * sy)
                box = box.clipped(frame_width, frame_height)
                found.append(Detection("motion", confidence, box))
        return found

    def _confidence(self, patch: Image, image_area: int) -> float:
        """0 for a rejected blob; else grows with how solid (fill) and how big it is."""
        s = self.settings
        h, w = int(patch.shape[0]), int(patch.shape[1])
        area = w * h / image_area
        if not (s.min_area <= area <= s.max_area and s.min_aspect <= w / h <= s.max_aspect):
            return 0.0
        fill = float(np.count_nonzero(patch)) / (w * h)
        size = min(1.0, area / (4.0 * s.min_area))
        return max(0.01, min(1.0, 0.5 * fill + 0.5 * size))


@dataclass(frozen=True)
class DifferenceFeatures:
    """Reducto's cheap features of a frame against the last one sent; 1.0 before any."""

    pixel: float
    """Fraction of pixels changed by > pixel_delta (as `FrameDifferenceFilter.score`)."""
    area: float
    """Fraction of the image where the foreground (cleaned mask) now and at the last sent
    frame disagree: objects that came, left or moved. A still object, or light, gives 0."""
    edge: float
    """Canny edge pixels, now and at the last sent frame, with no edge of the other within
    one pixel, over all edge pixels of both: 0 same structure, 1 nothing in common."""
    foreground: float
    """Fraction of the image that is foreground now (cleaned mask)."""
    blobs: list[Detection] = field(default_factory=list)
    """The tiny detector's boxes, in original-frame pixels."""
    arrivals: int = 0
    """Blobs near no blob of the last few frames: objects that came (or grew big enough to
    count). Against the frames just before, not the last one sent: after a gap, someone
    walking has left their old place, yet did not come."""
    unseen: int = 0
    """Blobs that overlap no blob of the last frame sent: the edge has not looked at them."""
    solid_arrivals: int = 0
    solid_unseen: int = 0
    """The same, of the blobs that are not the background evenly dimmed (a shadow)."""


@dataclass(frozen=True)
class _Frame:
    signature: Image
    edges: Image
    mask: Image


SentMotion = tuple[_Frame | None, list[Detection]]
"""A sent frame as the features compare with it, and its blobs (opaque to callers)."""


class FeatureExtractor:
    """Background model, tiny detector and features for one camera, frame by frame."""

    def __init__(self, settings: MotionSettings | None = None) -> None:
        self.settings = settings or MotionSettings()
        self.background = BackgroundModel(self.settings)
        self.detector = MotionBlobDetector(self.settings)
        self._near = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
        self._reference: _Frame | None = None
        self._last: _Frame | None = None
        self._recent: deque[list[Detection]] = deque(maxlen=ARRIVAL_MEMORY)
        """The blobs of the latest frames, newest last."""
        self._sent_blobs: list[Detection] = []
        """The blobs of the last frame sent."""
        self.ignored: Image | None = None
        """255 where change means nothing (the motion mask at the signature's size): no
        foreground, edges or changed pixels there."""

    def extract(self, signature: Image, frame_width: int, frame_height: int) -> DifferenceFeatures:
        """Features of this frame; the background then learns it."""
        mask = self._foreground(signature)
        blobs = self.detector.detect(mask, frame_width, frame_height)
        previous = [b for frame in self._recent for b in frame]
        self._recent.append(blobs)
        news = [b for b in blobs if not self._shadow(b, signature, mask, frame_width)]
        self.background.update(signature, mask)
        now = self._last = _Frame(signature, self._edges(signature), mask)
        foreground = float(np.count_nonzero(mask)) / mask.size
        ref = self._reference
        arrivals = _count_new(blobs, previous)
        solid_arrivals = _count_new(news, previous)
        if ref is None or ref.signature.shape != signature.shape:
            return DifferenceFeatures(
                1.0, 1.0, 1.0, foreground, blobs, arrivals, len(blobs), solid_arrivals, len(news)
            )
        difference = np.asarray(cv2.absdiff(signature, ref.signature), np.uint8)
        changed = self._unmasked(difference) > self.settings.pixel_delta
        return DifferenceFeatures(
            pixel=float(np.count_nonzero(changed)) / changed.size,
            area=float(np.count_nonzero(cv2.bitwise_xor(mask, ref.mask))) / mask.size,
            edge=self._edge_change(now.edges, ref.edges),
            foreground=foreground,
            blobs=blobs,
            arrivals=arrivals,
            unseen=_count_new(blobs, self._sent_blobs),
            solid_arrivals=solid_arrivals,
            solid_unseen=_count_new(news, self._sent_blobs),
        )

    def mark_sent(self, signature: Image) -> None:
        """Make this frame the reference (cheapest right after `extract` of the same array)."""
        if self._last is not None and self._last.signature is signature:
            self._reference, self._sent_blobs = self._last, self._latest_blobs()
            return
        mask = self._foreground(signature)
        self._reference = _Frame(signature, self._edges(signature), mask)
        self._sent_blobs = self._latest_blobs()  # the latest known, in frame pixels

    @property
    def sent_reference(self) -> SentMotion:
        """The last sent frame and its blobs (what `mark_sent` set)."""
        return self._reference, self._sent_blobs

    def restore_sent(self, reference: SentMotion) -> None:
        """Go back to an earlier sent frame (the later one never reached the edge)."""
        self._reference, self._sent_blobs = reference

    def _shadow(self, blob: Detection, signature: Image, mask: Image, frame_width: int) -> bool:
        """Whether the blob's foreground is the background dimmed evenly (a shadow, a
        cloud's edge): a person or a car has parts brighter, or far darker, than the ground."""
        s = self.settings
        background = self.background.lit  # as `_foreground` just fitted it to this signature
        if s.shadow_share is None or background is None or background.shape != mask.shape:
            return False
        scale = mask.shape[1] / frame_width
        x1, y1 = int(blob.box.x1 * scale), int(blob.box.y1 * scale)
        x2, y2 = int(np.ceil(blob.box.x2 * scale)), int(np.ceil(blob.box.y2 * scale))
        inside = mask[y1:y2, x1:x2] > 0
        if not inside.any():
            return False
        lit = background[y1:y2, x1:x2][inside]
        ratio = signature[y1:y2, x1:x2][inside].astype(np.float32) / np.maximum(lit, 1.0)
        low, high = s.shadow_ratio
        return float(np.mean((ratio > low) & (ratio < high))) >= s.shadow_share

    def _foreground(self, signature: Image) -> Image:
        """The cleaned foreground, none under the motion mask (the background there is still
        learned as if nothing moved)."""
        return self._unmasked(self.detector.clean(self.background.foreground(signature)))

    def _edges(self, signature: Image) -> Image:
        return self._unmasked(_edges(signature))

    def _unmasked(self, image: Image) -> Image:
        """`image` with the motion mask's pixels zeroed (in place: callers own it)."""
        if self.ignored is not None and self.ignored.shape == image.shape[:2]:
            image[self.ignored > 0] = 0
        return image

    def _latest_blobs(self) -> list[Detection]:
        return self._recent[-1] if self._recent else []

    def _edge_change(self, edges: Image, reference: Image) -> float:
        total = np.count_nonzero(edges) + np.count_nonzero(reference)
        if total == 0:
            return 0.0
        # One pixel of slack: noise moves thin edges by a pixel without the scene changing.
        new = cv2.bitwise_and(edges, cv2.bitwise_not(cv2.dilate(reference, self._near)))
        gone = cv2.bitwise_and(reference, cv2.bitwise_not(cv2.dilate(edges, self._near)))
        return float(np.count_nonzero(new) + np.count_nonzero(gone)) / float(total)


def _count_new(blobs: list[Detection], before: list[Detection]) -> int:
    """Blobs that come near none of `before` (a fast cyclist's blob leaps, and splits)."""
    near = [p.box.grown(ARRIVAL_MARGIN) for p in before]
    return sum(1 for b in blobs if not any(b.box.intersects(n) for n in near))


def _edges(signature: Image) -> Image:
    return np.asarray(cv2.Canny(signature, 40, 100), np.uint8)
