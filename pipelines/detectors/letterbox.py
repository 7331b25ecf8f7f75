"""Letterboxing as Ultralytics does it: fit the frame inside the model's input, pad the rest."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

# Ultralytics pads with grey 114; models are trained on it, so padding reads as "nothing there".
PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """How a frame was placed in the model input, so boxes can be mapped back to frame pixels."""

    scale: float
    pad_x: int
    pad_y: int

    def to_frame(self, boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Map x1, y1, x2, y2 rows from model-input pixels to original-frame pixels."""
        offset = np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y], dtype=np.float32)
        return ((boxes - offset) / np.float32(self.scale)).astype(np.float32)


def letterbox(
    frame: npt.NDArray[np.uint8], size: int, stride: int = 0
) -> tuple[npt.NDArray[np.uint8], Letterbox]:
    """Resize `frame` to fit a `size` x `size` square keeping its aspect ratio, centred, padded.

    With a `stride` (a model that takes any input side divisible by it), the short side is
    padded only up to the next multiple of `stride` (Ultralytics' rectangular inference:
    768x576 at 416 becomes 416x320, not 416x416)."""
    height, width = frame.shape[:2]
    scale = min(size / height, size / width)
    new_w, new_h = round(width * scale), round(height * scale)
    resized = frame
    if (new_w, new_h) != (width, height):
        resized = np.asarray(
            cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR), dtype=np.uint8
        )
    out_w, out_h = size, size
    if stride > 0:
        out_w, out_h = stride_aligned(new_w, stride), stride_aligned(new_h, stride)
    # The +-0.1 splits an odd remainder the way Ultralytics does, so boxes line up with its own.
    dw, dh = (out_w - new_w) / 2, (out_h - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    padded = cv2.copyMakeBorder(
        resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
    )
    return np.asarray(padded, dtype=np.uint8), Letterbox(scale, left, top)


def stride_aligned(size: int, stride: int = 32) -> int:
    """Round up to a multiple of the network stride: YOLO heads need input sides divisible by it."""
    return max(stride, -(-size // stride) * stride)
