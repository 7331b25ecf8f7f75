"""Which frame the camera's choices are compared with: the last one the edge really has.

The node makes a frame its reference (the difference filter's, the motion features') when it
hands the frame to its uploader. An upload can still fail: the edge refuses it, is restarting,
or the uplink replaced it with a newer one. Comparing later frames with a frame the edge never
got hides what changed in it: a car that drove in and parked while its frame was lost looks
unchanged from then on, and with nothing tracked no keepalive goes either. So the references
of frames on their way are kept until their outcome is known, and a lost frame's is undone.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

State = TypeVar("State")

MAX_ON_THE_WAY = 64
"""Uploads overlap a few frames at most; beyond this the oldest counts as arrived."""


class SentReferences(Generic[State]):
    """The reference state after each frame on its way to the edge, by frame number."""

    def __init__(self) -> None:
        self._arrived: State | None = None
        """The state after the newest frame known to have arrived (or before the first sent)."""
        self._on_the_way: OrderedDict[int, State] = OrderedDict()

    def sent(self, seq: int, before: State, after: State) -> None:
        """Frame `seq` became the reference (`after`); `before` is what it replaced."""
        if not self._on_the_way and self._arrived is None:
            self._arrived = before
        self._on_the_way[seq] = after
        while len(self._on_the_way) > MAX_ON_THE_WAY:
            _, self._arrived = self._on_the_way.popitem(last=False)

    def arrived(self, seq: int) -> None:
        """The edge has frame `seq`: frames sent before it are no use to undo any more."""
        if seq not in self._on_the_way:
            return
        while self._on_the_way:
            done, state = self._on_the_way.popitem(last=False)
            if done == seq:
                self._arrived = state
                return

    def lost(self, seq: int) -> State | None:
        """Frame `seq` never reached the edge. Returns the state to go back to when it was the
        newest reference (the newest frame still on its way, else the last that arrived);
        None when a newer frame is the reference (it stands) or `seq` is unknown."""
        if seq not in self._on_the_way:
            return None
        newest = next(reversed(self._on_the_way))
        del self._on_the_way[seq]
        if seq != newest:
            return None
        if self._on_the_way:
            return self._on_the_way[next(reversed(self._on_the_way))]
        return self._arrived
