"""Counts and boxes queries, with an object detector on the camera: send a frame when the answer
the edge holds no longer holds.

The edge answers "how many" and "where exactly" from the last frame it analysed until the next
one comes, so the frames that matter are those where that answer goes stale, whatever the pixels
do (a crowd walking on changes every pixel and no count; two people meeting change few pixels
and a count). A camera that runs an object detector can tell on every frame: its own detections
on the last frame sent, held against its detections now and scored as the query is (count
accuracy, or F1 at IoU 0.5: `pipelines.metrics`), fall below the query's target exactly where
the held answer does, as far as its model sees. The edge's model still decides the answer on
the frames that go (Vigil's node-side detection, with Reducto's per-query target).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pipelines.feedback import Query
from pipelines.metrics import labelled, score_frame
from pipelines.types import Detection

TRIGGERED = frozenset({Query.COUNTS, Query.BOXES})
"""Queries whose answer is one frame's detections, held: the camera can score it itself. An
event's answer is a track over many frames, which only the edge's tracker follows."""


@dataclass(frozen=True)
class HeldDetections:
    """The camera's detections on a frame sent, and that frame's time."""

    detections: tuple[Detection, ...]
    timestamp: float


@dataclass(frozen=True)
class TriggerDecision:
    """Whether a frame's detections make the held answer stale, and why."""

    accuracy: float
    """The held answer's accuracy on this frame, as the camera's detector sees it (1.0 before
    anything was sent)."""
    stale: bool
    """Below the query's target (or nothing sent yet)."""
    keepalive: bool
    """Still holding, but no frame has gone for keepalive_s."""

    @property
    def send(self) -> bool:
        return self.stale or self.keepalive


class Stamped(Protocol):
    @property
    def timestamp(self) -> float: ...


Held = TypeVar("Held", bound=Stamped)


class HeldTrigger(Generic[Held]):
    """The answer the edge holds between frames, as the camera sees it: that of the last frame
    sent, and that of the frame just decided, which becomes it once `sent()` says it went."""

    def __init__(self, keepalive_s: float = 60.0) -> None:
        if keepalive_s <= 0:
            raise ValueError("keepalive_s must be positive")
        self.keepalive_s = keepalive_s
        self._sent: Held | None = None
        """The last frame sent's (None: nothing sent yet, the next frame goes)."""
        self._pending: Held | None = None

    def _judge(
        self, now: Held, accuracy_of: Callable[[Held], float], target: float
    ) -> TriggerDecision:
        """`now` becomes what is held if this frame is sent; `accuracy_of(held)` is how well
        the answer held still answers for this frame."""
        self._pending = now
        if self._sent is None:
            return TriggerDecision(1.0, stale=True, keepalive=False)
        accuracy = accuracy_of(self._sent)
        stale = accuracy < target
        due = now.timestamp - self._sent.timestamp >= self.keepalive_s
        return TriggerDecision(accuracy, stale=stale, keepalive=due and not stale)

    def sent(self) -> None:
        """The last decided frame was sent: later frames are judged against it."""
        if self._pending is not None:
            self._sent = self._pending

    @property
    def held(self) -> Held | None:
        """What later frames are judged against (None: nothing sent, the next frame goes)."""
        return self._sent

    def restore(self, held: Held | None) -> None:
        """Judge later frames against `held` again: the last frame the edge has, when the one
        sent after it never reached it (`pipelines.sent_references`)."""
        self._sent = held

    def lost(self) -> None:
        """A frame sent never reached the edge, and which one it holds is unknown: the next
        frame goes."""
        self._sent = None


class HeldAnswerTrigger(HeldTrigger[HeldDetections]):
    """Remembers the camera's detections on the last frame sent and scores new frames' against
    them."""

    def decide(
        self, found: Sequence[Detection], timestamp: float, query: Query, target: float
    ) -> TriggerDecision:
        """Nothing is remembered until `sent()` says the frame went."""
        if query not in TRIGGERED:
            raise ValueError(f"the {query.value} query is not answered by one frame's detections")

        def accuracy(held: HeldDetections) -> float:
            score = score_frame(labelled(held.detections), labelled(found))
            return score.count_accuracy if query is Query.COUNTS else score.f1

        return self._judge(HeldDetections(tuple(found), timestamp), accuracy, target)
