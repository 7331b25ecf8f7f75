"""Counts query, with an object detector on the camera: send a frame when the count changes.

"How many, over time" is answered by the last analysed frame's count until the next one comes,
so the frames that matter are those where the count changes, whatever the pixels do (a crowd
walking on changes every pixel and no count; two people meeting change few pixels and a count).
A camera that runs an object detector knows its own count on every frame; sent when it differs
from the count on the last frame sent, the edge's held count is right until the camera's
detector says otherwise (Vigil's node-side counting, with the edge's model deciding the answer).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CountTriggerSettings:
    """Parameters of `CountChangeTrigger`; descriptions live in the camera config model."""

    min_change: int = 1
    keepalive_s: float = 60.0

    def __post_init__(self) -> None:
        if self.min_change < 1:
            raise ValueError("min_change must be at least 1 object")
        if self.keepalive_s <= 0:
            raise ValueError("keepalive_s must be positive")


@dataclass(frozen=True)
class CountDecision:
    """Whether a frame's count is news, and why."""

    changed: bool
    """The count differs from the last frame sent's by at least min_change."""
    keepalive: bool
    """No frame has gone for keepalive_s (the edge's count may still differ from the camera's)."""

    @property
    def send(self) -> bool:
        return self.changed or self.keepalive


class CountChangeTrigger:
    """Remembers the count on the last frame sent and tells which new counts are news."""

    def __init__(self, settings: CountTriggerSettings | None = None) -> None:
        self.settings = settings or CountTriggerSettings()
        self._sent: tuple[int, float] | None = None
        """The count on the last frame sent and its time (None: nothing sent yet)."""
        self._pending: tuple[int, float] | None = None

    def decide(self, count: int, timestamp: float) -> CountDecision:
        """Nothing is remembered until `sent()` says the frame went."""
        self._pending = (count, timestamp)
        if self._sent is None:
            return CountDecision(changed=True, keepalive=False)
        last_count, last_time = self._sent
        changed = abs(count - last_count) >= self.settings.min_change
        due = timestamp - last_time >= self.settings.keepalive_s
        return CountDecision(changed=changed, keepalive=due and not changed)

    def sent(self) -> None:
        """The last decided frame was sent: later counts are compared with its count."""
        if self._pending is not None:
            self._sent = self._pending
