"""Detector backends behind one interface: a frame in, detections in frame pixels out."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from pipelines.types import Detection


class Detector(Protocol):
    """Anything that finds objects in a BGR frame."""

    name: str

    def detect(self, frame: npt.NDArray[np.uint8]) -> list[Detection]: ...
