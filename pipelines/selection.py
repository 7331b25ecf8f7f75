"""The camera node's choice of frames: the difference filter, checked by the tiny detector.

The difference filter says *how much* changed; the tiny detector says whether anything of
interest is there: motion blobs on a background model, or an object detector (an ONNX model)
run on the frames the filter passes, which then also ranks them by the objects it sees. A
change with nothing of interest is dropped unless the edge is tracking something here (then
even an empty frame tells it that someone left); objects that came or went are sent even when
too few pixels changed for the threshold. For a camera whose query is counts or boxes, the
object detector runs on every frame and a frame goes when the answer the edge holds goes stale
(`pipelines.answer_trigger`); a counts camera on motion blobs sends when the number of moving
blobs changed (`pipelines.blob_counts`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from pipelines.answer_trigger import TRIGGERED, HeldAnswerTrigger, HeldDetections, TriggerDecision
from pipelines.blob_counts import BlobCountTrigger, BlobView, HeldCount
from pipelines.detectors import Detector
from pipelines.feedback import EdgeReply, Query
from pipelines.frame_difference import (
    DifferenceSettings,
    FilterDecision,
    FrameDifferenceFilter,
    SendReason,
)
from pipelines.masks import MotionMask
from pipelines.motion import DifferenceFeatures, FeatureExtractor, MotionSettings, SentMotion
from pipelines.sent_references import SentReferences
from pipelines.types import Box, Detection

Image = npt.NDArray[np.uint8]
LOOKED_AT = (SendReason.CHANGED, SendReason.ARRIVAL, SendReason.MOVED)
"""Frames the object detector checks: the filter would send them for what changed. First
frames and keepalives go regardless."""
RATE_LIMITED = (SendReason.CHANGED, SendReason.MOVED)
"""Frames the edge's skip share applies to."""
STILL_IOU = 0.5
"""Overlap at which an object the camera's detector finds is one the edge tracks as stationary,
or a row of them (the camera's model runs at a smaller input than the edge's: boxes differ by a
few pixels, and it may draw one box around two parked cars side by side)."""


@dataclass(frozen=True)
class _References:
    """What later frames are compared with: the filter's frame, the features' frame and the
    answer the edge holds (as the camera's detector, or its blob count, saw it)."""

    difference: tuple[Image, float] | None
    motion: SentMotion | None
    answer: HeldDetections | None
    blob_count: HeldCount | None


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
        answer_keepalive_s: float = 60.0,
        count_agreement: float | None = 0.8,
    ) -> None:
        """``detector``: decides interest instead of the motion blobs, on full frames.
        ``answer_keepalive_s``: counts and boxes queries with a detector (counts on motion
        blobs), the longest a held answer goes without a frame. ``count_agreement``: a counts
        camera on motion blobs sends when its blob count agrees less than this with the last
        frame sent's (None: the difference filter decides, as for events)."""
        self.filter = FrameDifferenceFilter(difference)
        self.detector = detector
        self.answers = HeldAnswerTrigger(answer_keepalive_s)
        self.blob_counts = (
            None
            if count_agreement is None or motion is None or detector is not None
            else BlobCountTrigger(count_agreement, answer_keepalive_s)
        )
        """Counts on motion blobs (None: a detector, no blobs, or the rule off)."""
        self._triggered = False
        """The last decided frame was decided by the held answer."""
        self.query: Query | None = None
        """The edge's question for this camera (its last reply; None: none said)."""
        self.target: float | None = None
        """The accuracy the edge holds that question to (its last reply)."""
        self.detector_runs = 0
        self.detector_s = 0.0
        """The object detector's runs and their time, for the node's stats."""
        self.features = None if motion is None else FeatureExtractor(motion)
        self.arrival_area = arrival_area
        self.skip = 0.0
        """Share of changed frames to skip (the edge's advice); arrivals are never skipped."""
        self._since_sent = 0
        """Frames decided since the last one sent."""
        self._pending: Image | None = None
        self.motion_mask = MotionMask()
        """Areas whose change means nothing: ignored by the filter and the tiny detector."""
        self.stationary: tuple[Box, ...] = ()
        """Where the edge's stationary objects are (its last reply)."""
        self._sent: SentReferences[_References] = SentReferences()

    @property
    def threshold(self) -> float:
        return self.filter.threshold

    @property
    def holding_answers(self) -> bool:
        """Frames go when the object detector finds the edge's held answer stale, not when the
        pixels change."""
        return self.detector is not None and self.query in TRIGGERED and self.target is not None

    @property
    def counting_blobs(self) -> bool:
        """A counts camera on motion blobs: frames go when the moving blobs' count changes."""
        return self.blob_counts is not None and self.query is Query.COUNTS

    def decide(self, frame: Image, timestamp: float) -> Selection:
        height, width = frame.shape[:2]
        selection = self.decide_signature(self.filter.signature(frame), width, height, timestamp)
        self._triggered = self.holding_answers
        if self._triggered:
            return self._by_answer(selection, self._detect(frame), timestamp)
        if self.blob_counts is not None:
            # Whatever the query: the trigger knows what the edge holds when a camera learns
            # (from the reply to its first frame) that it answers counts.
            return self._by_blob_count(selection, timestamp)
        if self.detector is None or selection.decision.reason not in LOOKED_AT:
            return selection
        return self._by_objects(selection, self._detect(frame))

    def _detect(self, frame: Image) -> list[Detection]:
        """The object detector's finds outside the motion mask."""
        assert self.detector is not None
        height, width = frame.shape[:2]
        started = time.perf_counter()
        found = self.detector.detect(frame)
        self.detector_s += time.perf_counter() - started
        self.detector_runs += 1
        return [o for o in found if self.motion_mask.keeps(o.box, (width, height))]

    def _by_answer(self, selection: Selection, objects: list[Detection], now: float) -> Selection:
        """Counts and boxes: the first frame, a frame where the held answer went stale, and a
        keepalive when it has held for long go; the difference filter's changes and keepalives
        do not (a crowd walking on changes every pixel and no count)."""
        assert self.query is not None and self.target is not None
        held = self.answers.decide(objects, now, self.query, self.target)
        decision = _held_decision(selection.decision, held)
        return replace(selection, decision=decision, utility=float(len(objects)), objects=objects)

    def _by_blob_count(self, selection: Selection, now: float) -> Selection:
        """Counts on motion blobs: the first frame, a frame whose blob count moved from the last
        frame sent's, and a keepalive go; changes of the picture alone do not. Where the whole
        picture moved, the blobs count nothing: the filter decides. In the camera's first
        seconds only arrivals add to the first frame's answer. A camera asked another question
        (or none yet: its first frame) only has the trigger see the frame."""
        features = selection.features
        assert self.blob_counts is not None and features is not None
        view = self.blob_counts.view(features.foreground, now)
        held = self.blob_counts.decide(len(features.blobs), now)
        decision = selection.decision
        if not self.counting_blobs:
            return selection
        if view is BlobView.COUNTING:
            return replace(selection, decision=_held_decision(decision, held))
        if view is BlobView.MOVED or decision.reason in (SendReason.FIRST, SendReason.ARRIVAL):
            return selection
        return replace(
            selection, decision=replace(decision, send=False, reason=SendReason.UNCHANGED)
        )

    def _by_objects(self, selection: Selection, objects: list[Detection]) -> Selection:
        """A change the detector finds nothing new in is dropped unless the edge tracks
        something that moves here (an empty frame then tells it someone left); the rest rank
        by new objects seen. Objects where the edge has stationary ones are not new: a parked
        car found on every frame would otherwise send every frame whose light or noise
        changed."""
        decision = selection.decision
        news = [o for o in objects if not self._known_still(o.box)]
        if not news and not self.filter.tracking:
            decision = replace(decision, send=False, reason=SendReason.NOTHING_OF_INTEREST)
        return replace(selection, decision=decision, utility=float(len(news)), objects=objects)

    def _known_still(self, box: Box) -> bool:
        touching = [still for still in self.stationary if still.intersects(box)]
        if not touching:
            return False
        row = Box(
            min(b.x1 for b in touching),
            min(b.y1 for b in touching),
            max(b.x2 for b in touching),
            max(b.y2 for b in touching),
        )
        return any(box.iou(b) >= STILL_IOU for b in [*touching, row])

    def decide_signature(
        self, signature: Image, frame_width: int, frame_height: int, timestamp: float
    ) -> Selection:
        """Nothing becomes the reference until `commit_last()` says the frame was sent."""
        self._ignore_masked(signature, frame_width, frame_height)
        decision = self.filter.decide_signature(signature, timestamp, commit=False)
        self._pending = signature
        if self.features is None:
            utility = 0.0 if decision.reason is SendReason.KEEPALIVE else 1.0
            return Selection(self._rate_limited(decision, None), None, utility)
        features = self.features.extract(signature, frame_width, frame_height)
        decision = self._rate_limited(self._checked(decision, features), features)
        return Selection(decision, features, float(len(features.blobs)))

    def _ignore_masked(self, signature: Image, frame_width: int, frame_height: int) -> None:
        """Hand the motion mask, at the signature's size, to the filter and the features."""
        ignored = None
        if self.motion_mask:
            size = (signature.shape[1], signature.shape[0])
            grow = self.filter.settings.blur_kernel // 2
            ignored = self.motion_mask.ignored(size, (frame_width, frame_height), grow)
        self.filter.ignored = ignored
        if self.features is not None:
            self.features.ignored = ignored

    def _rate_limited(
        self, decision: FilterDecision, features: DifferenceFeatures | None
    ) -> FilterDecision:
        """Skip the advised share of changed frames by sending one only after 1 / (1 - skip)
        frames since the last sent (for any reason): evenly spaced frames follow objects
        best. A frame where objects came (ARRIVAL) is never skipped."""
        self._since_sent += 1
        if decision.reason not in RATE_LIMITED or self.skip <= 0.0:
            return decision
        if self._since_sent * (1.0 - self.skip) >= 1.0 - 1e-9:
            return decision
        return replace(decision, send=False, reason=SendReason.RATE)

    def _checked(self, decision: FilterDecision, features: DifferenceFeatures) -> FilterDecision:
        """With nothing tracked, only objects that came are news: blobs the edge has seen
        already (swaying leaves, a shadow) and found nothing in are not sent again. While it
        tracks, motion too small for the threshold still updates its tracks."""
        reason = decision.reason
        if reason is SendReason.FIRST:
            return decision
        moving = features.area >= self.arrival_area
        if reason is SendReason.KEEPALIVE:
            # Where things move, a keepalive is motion like any other: the skip share applies.
            return replace(decision, reason=SendReason.MOVED) if moving else decision
        tracking = self.filter.tracking
        # Tracking, the edge knows where its objects were: only new ones are arrivals. Else
        # anything the last frame sent did not show is new to it.
        if tracking and features.arrivals > 0:
            return replace(decision, send=True, reason=SendReason.ARRIVAL)
        # Nothing moving tracked: an even dimming of the ground (a shadow crossing, a cloud's
        # edge) is not news; while the edge tracks people, a blob like it may be one of them.
        if not tracking and (features.solid_arrivals > 0 or features.solid_unseen > 0):
            return replace(decision, send=True, reason=SendReason.ARRIVAL)
        if reason is SendReason.CHANGED and not tracking and self.detector is None:
            return replace(decision, send=False, reason=SendReason.NOTHING_OF_INTEREST)
        if reason is SendReason.UNCHANGED and tracking and moving:
            return replace(decision, send=True, reason=SendReason.MOVED)
        return decision

    def commit_last(self, seq: int | None = None) -> None:
        """The last decided frame was sent: later frames are compared with it. Given its frame
        number `seq`, that is undone if `frame_lost(seq)` says it never reached the edge."""
        before = self._references()
        self._since_sent = 0
        self.filter.commit_last()
        if self._triggered:
            self.answers.sent()
        if self.blob_counts is not None:
            self.blob_counts.sent()  # whatever sent it, its blob count is what the edge holds
        if self.features is not None and self._pending is not None:
            self.features.mark_sent(self._pending)
        if seq is not None:
            self._sent.sent(seq, before, self._references())

    def frame_arrived(self, seq: int) -> None:
        """The edge answered frame `seq`."""
        self._sent.arrived(seq)

    def frame_lost(self, seq: int | None = None) -> None:
        """A frame committed as sent never reached the edge: later frames are compared with
        the last frame it has (or, with none, go as the first), and the answer held is that
        frame's. A newer frame on its way stands. Without `seq`, which frame the edge holds is
        unknown: the held answer is dropped, so the next frame goes."""
        if seq is None:
            self.answers.lost()
            if self.blob_counts is not None:
                self.blob_counts.lost()
            return
        restored = self._sent.lost(seq)
        if restored is not None:
            self.filter.restore(restored.difference)
            if self.features is not None and restored.motion is not None:
                self.features.restore_sent(restored.motion)
            self.answers.restore(restored.answer)
            if self.blob_counts is not None:
                self.blob_counts.restore(restored.blob_count)

    def _references(self) -> _References:
        motion = None if self.features is None else self.features.sent_reference
        counted = None if self.blob_counts is None else self.blob_counts.held
        return _References(self.filter.reference, motion, self.answers.held, counted)

    def set_tracking(self, tracking: bool) -> None:
        self.filter.set_tracking(tracking)

    def follow(self, reply: EdgeReply) -> None:
        """Apply the edge's reply to a frame before deciding on the next one."""
        self.filter.set_tracking(reply.moving_tracks > 0)
        self.stationary = reply.stationary
        if reply.query is not None:
            self.query = reply.query
        if reply.target is not None:
            self.target = reply.target
        if reply.threshold is not None:
            self.filter.set_threshold(reply.threshold)
        if reply.skip is not None:
            self.skip = min(max(reply.skip, 0.0), 0.99)
        self.filter.next_frame_s = reply.next_frame_s

    def set_threshold(self, threshold: float) -> None:
        self.filter.set_threshold(threshold)


def _held_decision(decision: FilterDecision, held: TriggerDecision) -> FilterDecision:
    """A frame decided by the answer it would set: the first frame, a frame where the held
    answer went stale, and a keepalive when it has held for long go."""
    reason = SendReason.UNCHANGED
    if decision.reason is SendReason.FIRST:
        reason = SendReason.FIRST
    elif held.stale:
        reason = SendReason.STALE
    elif held.keepalive:
        reason = SendReason.KEEPALIVE
    return replace(decision, send=reason is not SendReason.UNCHANGED, reason=reason)
