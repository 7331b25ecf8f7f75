"""The camera node and the edge box replayed together, feedback included.

The node's decisions depend on the edge's replies (whether it is tracking anything decides
keepalive frames), so the system cannot be replayed as a filter alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.feedback import (
    Gap,
    HeldAnswer,
    QueryController,
    QueryControlSettings,
    reply_after,
)
from pipelines.frame_difference import DifferenceSettings, FilterDecision
from pipelines.motion import MotionSettings
from pipelines.replay import ClipAnalysis, Sent
from pipelines.selection import FrameSelector
from pipelines.tracker import IouTracker, TrackerSettings


@dataclass(frozen=True)
class SystemReplay:
    sent: Sent
    decisions: list[FilterDecision]
    thresholds: list[float]
    """The difference threshold in force at each frame."""


def replay_system(
    clip: ClipAnalysis,
    difference: DifferenceSettings,
    tracker_settings: TrackerSettings,
    control: QueryControlSettings | None = None,
    motion: MotionSettings | None = None,
    arrival_area: float = 0.003,
) -> SystemReplay:
    """Frame by frame: the node's filter decides; a sent frame is analysed by the edge, whose
    reply (objects tracked or not, the threshold and skip share to use) the node applies
    before the next."""
    selector = FrameSelector(difference, motion, arrival_area)
    tracker = IouTracker(tracker_settings)
    answer = HeldAnswer()
    controller = None if control is None else QueryController(control)
    last_sent = 0
    decisions: list[FilterDecision] = []
    thresholds: list[float] = []
    for i, (signature, timestamp) in enumerate(zip(clip.signatures, clip.timestamps, strict=True)):
        height, width = signature.shape[:2]  # blob boxes are not used here, only their count
        decision = selector.decide_signature(signature, width, height, timestamp).decision
        decisions.append(decision)
        thresholds.append(selector.threshold)
        if decision.send:
            selector.commit_last()
            weak = clip.jpeg_weak[i] if clip.jpeg_weak is not None else ()
            _, held = answer.update(tracker, clip.jpeg_detections[i], timestamp, weak=weak)
            gap = Gap(i - last_sent, timestamp - clip.timestamps[last_sent])
            selector.follow(reply_after(tracker, controller, held, gap))
            last_sent = i
    sent = tuple(i for i, d in enumerate(decisions) if d.send)
    return SystemReplay(sent, decisions, thresholds)
