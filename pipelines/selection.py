"""The camera node's choice of frames: the difference filter, checked by the tiny detector.

The difference filter says *how much* changed; the tiny detector says whether anything of
interest is there: motion blobs on a background model, or an object detector (an ONNX model)
run on the frames the filter passes, which then also ranks them by the objects it sees. A
change with nothing of interest is dropped unless the edge is tracking something here (then
even an empty frame tells it that someone left); objects that came or went are sent even when
too few pixels changed for the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from pipelines.detectors import Detector
from pipelines.feedback import EdgeReply
from pipelines.frame_difference import (
    DifferenceSettings,
    FilterDecision,
    FrameDifferenceFilter,
    SendReason,
)
from pipelines.motion import DifferenceFeatures, FeatureExtractor, MotionSettings
from pipelines.types import Detection

Image = npt.NDArray[np.uint8]
LOOKED_AT = (SendReason.CHANGED, SendReason.ARRIVAL)
"""Frames the object detector checks: the filter would send them for what changed. First
frames and keepalives go regardless."""


@dataclass(frozen=True)
class Selection:
    decision: FilterDecision
    features: DifferenceFeatures | None
    """None without a tiny detector."""
    utility: float
    """How much the frame is worth when the uplink budget is short: objects of interest seen."""
    objects: list[Detection] | None = field(default=None)
    """What the object detector found (None: none ran on this frame)."""

    def found(self) -> list[Detection]:
        """The tiny detector's result: the detector's objects, else the motion blobs."""
        if self.objects is not None:
            return self.objects
        return [] if self.features is None else list(self.features.blobs)


class FrameSelector:
    def __init__(
        self,
        difference: DifferenceSettings | None = None,
        motion: MotionSettings | None = None,
        arrival_area: float = 0.003,
        detector: Detector | None = None,
    ) -> None:
        """``detector``: decides interest instead of the motion blobs, on full frames."""
        self.filter = FrameDifferenceFilter(difference)
        self.detector = detector
        self.features = None if motion is None else FeatureExtractor(motion)
        self.arrival_area = arrival_area
        self._pending: Image | None = None

    @property
    def threshold(self) -> float:
        return self.filter.threshold

    def decide(self, frame: Image, timestamp: float) -> Selection:
        height, width = frame.shape[:2]
        selection = self.decide_signature(self.filter.signature(frame), width, height, timestamp)
        if self.detector is None or selection.decision.reason not in LOOKED_AT:
            return selection
        return self._by_objects(selection, self.detector.detect(frame))

    def _by_objects(self, selection: Selection, objects: list[Detection]) -> Selection:
        """A change the detector finds nothing in is dropped unless the edge tracks something
        here (an empty frame then tells it someone left); the rest rank by objects seen."""
        decision = selection.decision
        if not objects and not self.filter.tracking:
            decision = replace(decision, send=False, reason=SendReason.NOTHING_OF_INTEREST)
        return replace(selection, decision=decision, utility=float(len(objects)), objects=objects)

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
        no_interest = not features.blobs and self.detector is None  # a detector looks itself
        if reason is SendReason.CHANGED and no_interest and not self.filter.tracking:
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

    def follow(self, reply: EdgeReply) -> None:
        """Apply the edge's reply to a frame before deciding on the next one."""
        self.filter.set_tracking(reply.moving_tracks > 0)
        if reply.threshold is not None:
            self.filter.set_threshold(reply.threshold)

    def set_threshold(self, threshold: float) -> None:
        self.filter.set_threshold(threshold)
