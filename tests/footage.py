"""Real sample footage for tests: Debian's vtest.avi (installed by scripts/setup.sh)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from appliance.sample_clips import resolve_video


def vtest_path() -> Path:
    return resolve_video("vtest")


def vtest_frames(start: int, count: int) -> list[npt.NDArray[np.uint8]]:
    capture = cv2.VideoCapture(str(vtest_path()))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames: list[npt.NDArray[np.uint8]] = []
    for _ in range(count):
        ok, frame = capture.read()
        assert ok, "vtest.avi ended early"
        frames.append(np.asarray(frame, dtype=np.uint8))
    capture.release()
    return frames
