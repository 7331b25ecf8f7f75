"""Redaction: people's boxes pixelated or blurred so that a face in them cannot be recognised.

Each box is padded a little (a detector's box often cuts through a head or a shoulder) and
clipped to the picture. Pixelation averages the region in square blocks of about an eighth of
the box's smaller side (at least `min_block_px`): a face, roughly a third of a standing
person's width, becomes one or two blocks. Blur is a Gaussian of the same scale as a block.
The picture given is never changed; a redacted copy is returned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np
import numpy.typing as npt

from pipelines.types import Box

Image = npt.NDArray[np.uint8]


class RedactionStyle(str, Enum):
    PIXELATE = "pixelate"
    BLUR = "blur"


@dataclass(frozen=True)
class RedactionSettings:
    style: RedactionStyle = RedactionStyle.PIXELATE
    padding: float = 0.1
    """Share of the box's width and height added on each side."""
    block_share: float = 1 / 8
    """Block side (pixelate) or blur sigma (blur) as a share of the box's smaller side."""
    min_block_px: int = 8
    """Smallest block side (or blur sigma, halved), pixels: small boxes still lose their detail."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.padding <= 1.0:
            raise ValueError(f"redaction padding must be 0 to 1, got {self.padding}")
        if not 0.0 < self.block_share <= 1.0:
            raise ValueError(f"redaction block_share must be in (0, 1], got {self.block_share}")
        if self.min_block_px < 2:
            raise ValueError(f"redaction min_block_px must be at least 2, got {self.min_block_px}")


def redaction_region(box: Box, size: tuple[int, int], padding: float) -> tuple[int, ...] | None:
    """Pixel bounds (x1, y1, x2, y2) of `box` padded and clipped to a picture of `size`
    (width, height); None when nothing of it lies inside."""
    width, height = size
    grown = box.grown(padding).clipped(width, height)
    x1, y1 = math.floor(grown.x1), math.floor(grown.y1)
    x2, y2 = math.ceil(grown.x2), math.ceil(grown.y2)
    if x2 <= x1 or y2 <= y1:
        return None
    return x1, y1, x2, y2


def redact(image: Image, boxes: Sequence[Box], settings: RedactionSettings) -> Image:
    """A copy of `image` with each box (pixels of `image`) redacted; `image` when none is."""
    height, width = image.shape[:2]
    regions = [redaction_region(b, (width, height), settings.padding) for b in boxes]
    found = [r for r in regions if r is not None]
    if not found:
        return image
    redacted = image.copy()
    for x1, y1, x2, y2 in found:
        patch = redacted[y1:y2, x1:x2]
        scale = max(float(settings.min_block_px), min(x2 - x1, y2 - y1) * settings.block_share)
        if settings.style is RedactionStyle.PIXELATE:
            redacted[y1:y2, x1:x2] = _pixelated(patch, round(scale))
        else:
            redacted[y1:y2, x1:x2] = _blurred(patch, scale)
    return redacted


def redact_all(image: Image, settings: RedactionSettings) -> Image:
    """The whole picture redacted (what a box cannot be placed on gets)."""
    height, width = image.shape[:2]
    return redact(image, [Box(0.0, 0.0, float(width), float(height))], settings)


def _pixelated(patch: Image, block: int) -> Image:
    height, width = patch.shape[:2]
    small = (max(1, math.ceil(width / block)), max(1, math.ceil(height / block)))
    averaged = cv2.resize(patch, small, interpolation=cv2.INTER_AREA)
    return np.asarray(
        cv2.resize(averaged, (width, height), interpolation=cv2.INTER_NEAREST), np.uint8
    )


def _blurred(patch: Image, sigma: float) -> Image:
    # Twice: one pass of a heavy Gaussian still leaves a face's darkest features as smudges.
    once = cv2.GaussianBlur(patch, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return np.asarray(
        cv2.GaussianBlur(once, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE), np.uint8
    )
