"""The camera node and the edge box replayed together, feedback included.

The node's decisions depend on the edge's replies (whether it is tracking anything decides
keepalive frames), so the system cannot be replayed as a filter alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.difference import DifferenceSettings, FilterDecision
from pipelines.replay import ClipAnalysis, Sent, SignatureFilter
from pipelines.tracker import IouTracker, TrackerSettings


@dataclass(frozen=True)
class SystemReplay:
    sent: Sent
    decisions: list[FilterDecision]


def replay_system(
    clip: ClipAnalysis, difference: DifferenceSettings, tracker_settings: TrackerSettings
) -> SystemReplay:
    """Frame by frame: the node's filter decides; a sent frame is analysed by the edge, whose
    reply (objects tracked or not) the node applies before the next frame."""
    frame_filter = SignatureFilter(difference)
    tracker = IouTracker(tracker_settings)
    decisions: list[FilterDecision] = []
    for i, (signature, timestamp) in enumerate(zip(clip.signatures, clip.timestamps, strict=True)):
        decision = frame_filter.decide(signature, timestamp)
        decisions.append(decision)
        if decision.send:
            tracker.update(clip.jpeg_detections[i], timestamp)
            frame_filter.set_tracking(bool(tracker.active))
    sent = tuple(i for i, d in enumerate(decisions) if d.send)
    return SystemReplay(sent, decisions)
