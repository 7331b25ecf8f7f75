"""A quiet clip built from real footage: an empty scene most of the time, people now and then.

vtest.avi has people in every frame. Cameras in the field mostly watch nothing, so the camera
node must stay almost silent through sensor noise and slow light changes, yet report every
stretch where someone appears. The empty scene is the per-pixel median of vtest (people move,
so the median is the background plate); busy stretches are real vtest frames. The same noise
and light drift is applied to both.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class QuietClipSpec:
    quiet_s: tuple[float, ...] = (90.0, 90.0, 60.0)
    """Length of each empty stretch; a busy stretch sits between consecutive ones."""
    busy_s: float = 8.0
    fps: float = 10.0
    noise_sigma: float = 3.0
    """Sensor noise, grey levels."""
    drift_amplitude: float = 18.0
    """Slow light change: brightness swings by this many grey levels..."""
    drift_period_s: float = 120.0
    """...over this period."""
    seed: int = 7


@dataclass(frozen=True)
class QuietClip:
    path: Path
    frames: int
    fps: float
    busy: tuple[tuple[int, int], ...]
    """[start, end) frame ranges where people are present."""


def background_plate(video: Path, step: int = 8) -> Image:
    """Per-pixel median over the clip: moving people vanish, the scene stays. Kept per file
    (path, size, time) for the process: every clip built from vtest starts from its plate.
    Read-only: callers copy before changing it."""
    try:
        stat = video.stat()
    except OSError:
        raise ValueError(f"no frames could be read from {video}") from None
    return _plate(str(video.resolve()), stat.st_size, stat.st_mtime_ns, step)


@functools.lru_cache(maxsize=4)
def _plate(video: str, _size: int, _mtime_ns: int, step: int) -> Image:
    capture = cv2.VideoCapture(video)
    samples: list[Image] = []
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % step == 0:
            samples.append(np.asarray(frame, dtype=np.uint8))
        index += 1
    capture.release()
    if not samples:
        raise ValueError(f"no frames could be read from {video}")
    plate: Image = np.median(np.stack(samples), axis=0).astype(np.uint8)
    plate.setflags(write=False)
    return plate


def build_quiet_clip(video: Path, target: Path, spec: QuietClipSpec | None = None) -> QuietClip:
    """Write the clip (MPEG-4 in .mp4, readable by OpenCV) and say where the people are."""
    spec = spec or QuietClipSpec()
    plate = background_plate(video)
    height, width = plate.shape[:2]
    writer = cv2.VideoWriter(
        str(target), cv2.VideoWriter.fourcc(*"mp4v"), spec.fps, (width, height)
    )
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {target}")
    rng = np.random.default_rng(spec.seed)
    source = cv2.VideoCapture(str(video))
    busy: list[tuple[int, int]] = []
    written = 0
    try:
        for i, quiet_s in enumerate(spec.quiet_s):
            for _ in range(round(quiet_s * spec.fps)):
                writer.write(_degrade(plate, written, spec, rng))
                written += 1
            if i == len(spec.quiet_s) - 1:
                break
            start = written
            for _ in range(round(spec.busy_s * spec.fps)):
                writer.write(_degrade(_next_frame(source), written, spec, rng))
                written += 1
            busy.append((start, written))
    finally:
        writer.release()
        source.release()
    return QuietClip(target, written, spec.fps, tuple(busy))


def _next_frame(capture: cv2.VideoCapture) -> Image:
    ok, frame = capture.read()
    if not ok:  # loop the source if the busy stretches outlast it
        capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        ok, frame = capture.read()
    return np.asarray(frame, dtype=np.uint8)


def _degrade(frame: Image, index: int, spec: QuietClipSpec, rng: np.random.Generator) -> Image:
    t = index / spec.fps
    drift = spec.drift_amplitude * math.sin(2 * math.pi * t / spec.drift_period_s)
    noise = rng.standard_normal(size=frame.shape, dtype=np.float32) * spec.noise_sigma + drift
    return np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)
