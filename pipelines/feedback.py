"""Edge-side threshold control: keep a camera's frame filter at an accuracy target.

Between two frames a camera sends, the edge answers from its tracks, predicted forward. When
the next frame arrives, the edge sees how good that held answer still was: the F1 between the
tracks predicted to the new frame's time and what the full detector finds in it. That is the
accuracy of the stalest moment, so holding it at the target keeps the average above it.
Too low: the camera waited too long, lower its difference threshold; comfortably high: it can
wait longer, raise it (as Reducto's server tunes the camera's threshold to an accuracy target).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.metrics import LabelledBox, score_frame
from pipelines.tracker import IouTracker, TrackedObject, TrackUpdate
from pipelines.types import Detection


@dataclass(frozen=True)
class ThresholdControlSettings:
    accuracy_target: float = 0.9
    initial: float = 0.01
    minimum: float = 0.002
    maximum: float = 0.2
    decrease: float = 0.7
    """Multiply by this when accuracy is below target: back off fast, like AIMD."""
    increase: float = 1.08
    """Multiply by this when accuracy is above target + margin: probe slowly."""
    margin: float = 0.04
    smoothing: float = 0.3
    """Weight of the newest observation in the running accuracy."""

    def __post_init__(self) -> None:
        if not 0.0 < self.minimum <= self.initial <= self.maximum <= 1.0:
            raise ValueError("need 0 < minimum <= initial <= maximum <= 1")
        if not 0.0 < self.decrease < 1.0 < self.increase:
            raise ValueError("need decrease in (0, 1) and increase > 1")


class ThresholdController:
    """One camera's difference threshold, moved by the accuracy of the edge's held answers."""

    def __init__(self, settings: ThresholdControlSettings | None = None) -> None:
        self.settings = settings or ThresholdControlSettings()
        self.threshold = self.settings.initial
        self.accuracy: float | None = None

    def observe(self, held_answer_f1: float) -> float:
        """Record how accurate the held answer was when a frame arrived; the new threshold."""
        s = self.settings
        if self.accuracy is None:
            self.accuracy = held_answer_f1
        else:
            self.accuracy += s.smoothing * (held_answer_f1 - self.accuracy)
        if self.accuracy < s.accuracy_target:
            self.threshold = max(s.minimum, self.threshold * s.decrease)
        elif self.accuracy > s.accuracy_target + s.margin:
            self.threshold = min(s.maximum, self.threshold * s.increase)
        return self.threshold


def update_and_score(
    tracker: IouTracker, detections: Sequence[Detection], timestamp: float
) -> tuple[TrackUpdate, float]:
    """Feed a frame to the tracker; also return how accurate the held answer was (F1 of the
    tracks predicted to this frame before it was seen, against the tracks after it)."""
    held = _labelled(tracker.predict(timestamp))
    update = tracker.update(detections, timestamp)
    return update, score_frame(held, _labelled(tracker.predict(timestamp))).f1


def _labelled(objects: Sequence[TrackedObject]) -> list[LabelledBox]:
    return [LabelledBox(o.label, o.box) for o in objects]


@dataclass(frozen=True)
class EdgeReply:
    """What the edge tells a camera node after each frame, as far as the node's choice of frames
    goes: the node (`FrameSelector.follow`), the edge (`reply_after`) and every benchmark that
    replays the two use this one step, so a replay cannot follow other rules than the system."""

    moving_tracks: int
    """Tracks that are not stationary: keepalive frames go while there are any."""
    threshold: float | None
    """The difference threshold to use from now on (None: keep the one in force)."""


def reply_after(
    tracker: IouTracker, controller: ThresholdController | None, held_f1: float
) -> EdgeReply:
    """The edge's reply once a frame is analysed and stored (`update_and_score` gave held_f1)."""
    threshold = None if controller is None else controller.observe(held_f1)
    return EdgeReply(tracker.moving, threshold)
