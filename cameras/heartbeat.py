"""Signs of progress of a camera node, for a service watchdog (see appliance/service/).

`heartbeat()` is called whenever the node's loop moves on: a frame read, or, while a live
source is down, each reconnect attempt and every quarter second of the backoff between them.
A loop that hangs (a read or an upload that never returns) stops calling it. The callback must
be cheap; it runs on the node's own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cameras.reconnect import (
    FrameSource,
    ReconnectingSource,
    ReconnectSettings,
    SourceStateChange,
)
from cameras.sources import CapturedFrame, SourceKind, VideoSource, classify_source

Heartbeat = Callable[[], None]
BEAT_WHILE_WAITING_S = 0.25


class BeatingSource:
    """A FrameSource that beats after every read (a frame, or the end of the source)."""

    def __init__(self, source: FrameSource, heartbeat: Heartbeat) -> None:
        self.source = source
        self.heartbeat = heartbeat

    @property
    def fps(self) -> float:
        return self.source.fps

    def read(self) -> CapturedFrame | None:
        frame = self.source.read()
        self.heartbeat()
        return frame

    def close(self) -> None:
        self.source.close()


def open_beating_source(
    spec: str,
    heartbeat: Heartbeat,
    realtime: bool = False,
    settings: ReconnectSettings | None = None,
    *,
    stop: threading.Event,
    on_state_change: Callable[[SourceStateChange], None] | None = None,
    loop: bool = False,
) -> FrameSource:
    """`open_source`, with a live source beating on each reconnect attempt and backoff second."""
    if classify_source(spec) is SourceKind.FILE:
        return VideoSource(spec, realtime=realtime, loop=loop)

    def opener(target: str) -> FrameSource:
        heartbeat()
        return VideoSource(target)

    def sleep(seconds: float) -> bool:
        """Wait on `stop` in short slices, beating between them; True once stopped."""
        remaining = seconds
        while remaining > 0:
            heartbeat()
            if stop.wait(min(remaining, BEAT_WHILE_WAITING_S)):
                return True
            remaining -= BEAT_WHILE_WAITING_S
        return stop.is_set()

    return ReconnectingSource(
        spec, settings, stop=stop, on_state_change=on_state_change, opener=opener, sleep=sleep
    )
