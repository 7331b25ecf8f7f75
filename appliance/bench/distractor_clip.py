"""A clip where things move but nothing of interest is there, built from real footage.

Cameras watch foliage that sways, shadows that cross, and light that flickers or dims as a
cloud passes. None of it is worth analysing, and a frame filter on pixel change alone sends it
all. The scene is vtest's background plate (its parked van and car stay: real objects that do
not move); on it: two patches that sway in place (foliage), a soft shadow crossing at walking
pace, a flickering light and a cloud that dims the scene for a few seconds, and sensor noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from appliance.bench.quiet_clip import background_plate

Image = npt.NDArray[np.uint8]
FloatImage = npt.NDArray[np.float32]


@dataclass(frozen=True)
class DistractorClipSpec:
    seconds: float = 60.0
    fps: float = 10.0
    sway_px: float = 4.0
    """How far the foliage patches move each way."""
    sway_period_s: float = 1.5
    shadow_speed_px_s: float = 40.0
    shadow_darkening: float = 0.35
    flicker_levels: float = 6.0
    cloud_at_s: tuple[float, float] = (25.0, 33.0)
    """The cloud dims the scene between these times..."""
    cloud_levels: float = 30.0
    """...by this many grey levels, fading in and out over a second."""
    noise_sigma: float = 3.0
    seed: int = 11


def build_distractor_clip(video: Path, target: Path, spec: DistractorClipSpec | None = None) -> int:
    """Write the clip (MPEG-4 in .mp4); returns its frame count."""
    spec = spec or DistractorClipSpec()
    plate = background_plate(video).astype(np.float32)
    height, width = plate.shape[:2]
    writer = cv2.VideoWriter(
        str(target), cv2.VideoWriter.fourcc(*"mp4v"), spec.fps, (width, height)
    )
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {target}")
    frames = 0
    try:
        for image in distractor_frames(plate, spec):
            writer.write(image)
            frames += 1
    finally:
        writer.release()
    return frames


def distractor_frames(plate: FloatImage, spec: DistractorClipSpec) -> Iterator[Image]:
    """The clip's frames, made from a background `plate` (float32, BGR)."""
    rng = np.random.default_rng(spec.seed)
    sprite = _shadow_sprite()
    for i in range(round(spec.seconds * spec.fps)):
        t = i / spec.fps
        image = _sway(plate, t, spec)
        _shadow(image, t, spec, sprite)
        image += _light(t, spec)
        image += rng.standard_normal(size=image.shape, dtype=np.float32) * spec.noise_sigma
        yield np.clip(image, 0, 255).astype(np.uint8)


def _sway(plate: FloatImage, t: float, spec: DistractorClipSpec) -> FloatImage:
    """Two patches (a bush, a tree) shifted back and forth in place, out of phase."""
    image = plate.copy()
    height, width = plate.shape[:2]
    patches = ((0.05, 0.55, 0.2, 0.25), (0.78, 0.45, 0.18, 0.3))  # x, y, w, h: fractions
    for k, (fx, fy, fw, fh) in enumerate(patches):
        x, y = int(fx * width), int(fy * height)
        w, h = int(fw * width), int(fh * height)
        dx = spec.sway_px * math.sin(2 * math.pi * t / spec.sway_period_s + k * 1.3)
        shift = np.array([[1, 0, dx], [0, 1, 0.3 * dx]], dtype=np.float32)
        patch = plate[y : y + h, x : x + w]
        image[y : y + h, x : x + w] = cv2.warpAffine(
            patch, shift, (w, h), borderMode=cv2.BORDER_REFLECT
        )
    return image


def _shadow_sprite() -> FloatImage:
    """A soft-edged ellipse, 1 inside: the shadow's darkness map, drawn once."""
    drawn = np.zeros((160, 280), np.float32)
    cv2.ellipse(drawn, (140, 80), (90, 35), 0, 0, 360, 1.0, -1)
    return np.asarray(cv2.GaussianBlur(drawn, (0, 0), 15), dtype=np.float32)


def _shadow(image: FloatImage, t: float, spec: DistractorClipSpec, sprite: FloatImage) -> None:
    """Darken, in place, where a shadow drifting across the ground lies at time t."""
    height, width = image.shape[:2]
    sh, sw = sprite.shape
    left = int((spec.shadow_speed_px_s * t) % (width + sw)) - sw
    top = int(0.7 * height) - sh // 2
    x1, x2 = max(0, left), min(width, left + sw)
    if x2 <= x1:
        return
    darkness = sprite[:, x1 - left : x2 - left]
    image[top : top + sh, x1:x2] *= 1.0 - spec.shadow_darkening * darkness[..., None]


def _light(t: float, spec: DistractorClipSpec) -> float:
    flicker = spec.flicker_levels * math.sin(2 * math.pi * t * 0.7)
    start, end = spec.cloud_at_s
    cloud = min(1.0, max(0.0, t - start), max(0.0, end - t)) if start <= t <= end else 0.0
    return flicker - spec.cloud_levels * cloud
