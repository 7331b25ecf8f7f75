"""The camera node's choice of frames: the difference filter, checked by the tiny detector.

The difference filter says *how much* changed; the tiny detector (motion blobs) says whether
anything of interest is there. A change with nothing of interest is dropped unless the edge is
tracking something here (then even an empty frame tells it that someone left); objects that
came or went are sent even when too few pixels changed for the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from pipelines.difference import (
    DifferenceSettings,
    FilterDecision,
    FrameDifferenceFilter,
    SendReason,
)
from pipelines.motion import DifferenceFeatures, FeatureExtractor, MotionSettings

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Selection:
    decision: FilterDecision
    features: DifferenceFeatures | None
    """None without a tiny detector."""
    utility: float
    """How much the frame is worth when the uplink budget is short: objects of interest seen."""


class FrameSelector:
    def __init__(
        self,
        difference: DifferenceSettings | None = None,
        motion: MotionSettings | None = None,
        arrival_area: float = 0.003,
    ) -> None:
        self.filter = FrameDifferenceFilter(difference)
        self.features = None if motion is None else FeatureExtractor(motion)
        self.arrival_area = arrival_area
        self._pending: Image | None = None

    @property
    def threshold(self) -> float:
        return self.filter.threshold

    def decide(self, frame: Image, timestamp: float) -> Selection:
        height, width = frame.shape[:2]
        return self.decide_signature(self.filter.signature(frame), width, height, timestamp)

    def decide_signature(
        self, signature: Image, frame_width: int, frame_height: int, timestamp: float
    ) -> Selection:
        """Nothing becomes the reference until `commit_last()` says the frame was sent."""
        decision = self.filter.decide_signature(signature, timestamp, commit=False)
        self._pending = signature
        if self.features is None:
            utility = 0.0 if decision.reason is SendReason.KEEPALIVE else 1.0
            return Selection(decision, None, utility)
        features = self.features.extract(signature, frame_width, frame_height)
        return Selection(self._checked(decision, features), features, float(len(features.blobs)))

    def _checked(self, decision: FilterDecision, features: DifferenceFeatures) -> FilterDecision:
        reason = decision.reason
        if reason is SendReason.CHANGED and not features.blobs and not self.filter.tracking:
            return replace(decision, send=False, reason=SendReason.NOTHING_OF_INTEREST)
        if reason is SendReason.UNCHANGED and features.area >= self.arrival_area:
            # Blobs appeared or vanished since the last frame sent: too few pixels for the
            # threshold (someone small, far away) but exactly what the user wants to see.
            return replace(decision, send=True, reason=SendReason.ARRIVAL)
        return decision

    def commit_last(self) -> None:
        """The last decided frame was sent: later frames are compared with it."""
        self.filter.commit_last()
        if self.features is not None and self._pending is not None:
            self.features.mark_sent(self._pending)

    def set_tracking(self, tracking: bool) -> None:
        self.filter.set_tracking(tracking)

    def set_threshold(self, threshold: float) -> None:
        self.filter.set_threshold(threshold)
