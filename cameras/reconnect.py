"""Live sources that come back by themselves: reopen a dropped RTSP/HTTP/USB capture with backoff.

OpenCV never reconnects: once a stream stops (camera rebooted, network cut, server restarted)
every read fails. `ReconnectingSource` closes the capture and reopens it with exponential
backoff until frames flow again, keeps frame indices counting across reconnects, and reports
its state (for the edge box) through `state` and an optional `on_state_change` callback.
Files are not wrapped: their end is the end (see `open_source`).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from cameras.sources import (
    CapturedFrame,
    SourceError,
    SourceKind,
    VideoSource,
    classify_source,
    redact_url,
)

log = logging.getLogger(__name__)

DEFAULT_FPS = 25.0  # what `fps` says before the first connection (VideoSource's own fallback)


class FrameSource(Protocol):
    """What the node reads from: a VideoSource or a ReconnectingSource."""

    @property
    def fps(self) -> float: ...

    def read(self) -> CapturedFrame | None: ...

    def close(self) -> None: ...


Opener = Callable[[str], FrameSource]


class SourceState(str, Enum):
    CONNECTING = "connecting"  # first open, nothing received yet
    CONNECTED = "connected"  # frames are flowing
    RETRYING = "retrying"  # the capture failed; reopening with backoff
    FAILED = "failed"  # gave up (give_up_after_s without a frame); read() returns None
    STOPPED = "stopped"  # stop event set or closed; read() returns None


TERMINAL_STATES = frozenset({SourceState.FAILED, SourceState.STOPPED})
_WARNING_STATES = frozenset({SourceState.RETRYING, SourceState.FAILED})


@dataclass(frozen=True)
class ReconnectSettings:
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    give_up_after_s: float | None = None
    """Return None after this long without a frame; None: retry forever."""
    jitter: float = 0.0
    """Shorten each wait by a random fraction up to this (0..1), so cameras do not retry in step."""
    stall_after_s: float | None = 4.0
    """A read that blocked this long means the stream stalled: reconnect (and drop that frame).
    A silent stream makes OpenCV's FFmpeg backend hand out the few frames its decoder holds, one
    per 5 s read timeout, before a read fails: this cuts ~15 s of stale frames to ~5 s."""

    def backoff(self, failures: int) -> float:
        """Wait before the next attempt after `failures` (>= 1) failures in a row."""
        delay = min(self.initial_backoff_s * 2.0 ** min(failures - 1, 64), self.max_backoff_s)
        return delay * (1.0 - self.jitter * random.random())


@dataclass(frozen=True)
class SourceStateChange:
    state: SourceState
    since: float
    """UTC epoch seconds of the transition."""
    detail: str
    """Why, for people: never contains credentials."""
    reconnects: int


class ReconnectingSource:
    """Reads a live source forever, reopening it with backoff whenever it fails."""

    def __init__(
        self,
        spec: str,
        settings: ReconnectSettings | None = None,
        *,
        stop: threading.Event | None = None,
        on_state_change: Callable[[SourceStateChange], None] | None = None,
        opener: Opener = VideoSource,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        """`sleep(seconds)` waits and returns True when stopped; by default it waits on `stop`."""
        self.kind = classify_source(spec)
        if self.kind is SourceKind.FILE:
            raise ValueError("files are not reconnected: read them with VideoSource")
        self.name = redact_url(spec)
        self.settings = settings or ReconnectSettings()
        self.state = SourceState.CONNECTING
        self.state_since = time.time()
        self.last_error: str | None = None
        self.reconnects = 0
        self._spec = spec
        self._stop = stop or threading.Event()
        self._on_state_change = on_state_change
        self._opener = opener
        self._clock = clock
        self._sleep = sleep or self._stop.wait
        self._source: FrameSource | None = None
        self._fps = DEFAULT_FPS
        self._index = 0
        self._failures = 0
        self._last_frame_at = clock()
        self._ever_connected = False

    @property
    def fps(self) -> float:
        return self._fps

    def read(self) -> CapturedFrame | None:
        """Next frame; None only once stopped or after giving up (see ReconnectSettings)."""
        while self.state not in TERMINAL_STATES:
            if self._stop.is_set():
                self._change(SourceState.STOPPED, "stop requested")
                break
            frame = self._next_frame()
            if frame is not None:
                return frame
            self._wait_before_retry()
        return None

    def close(self) -> None:
        self._release()
        if self.state not in TERMINAL_STATES:
            self._change(SourceState.STOPPED, "closed")

    def __enter__(self) -> ReconnectingSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next_frame(self) -> CapturedFrame | None:
        try:
            if self._source is None:
                self._source = self._opener(self._spec)
                self._fps = self._source.fps
            started = self._clock()
            frame = self._source.read()
        except SourceError as exc:
            self._fail(str(exc))
            return None
        waited = self._clock() - started
        if frame is None or _reached(self.settings.stall_after_s, waited):
            self._fail(f"{self.name} stopped delivering frames (read waited {waited:.1f} s)")
            return None
        self._connected()
        frame = dataclasses.replace(frame, index=self._index)
        self._index += 1
        return frame

    def _connected(self) -> None:
        self._last_frame_at = self._clock()
        self._failures = 0
        if self.state is not SourceState.CONNECTED:
            if self._ever_connected:
                self.reconnects += 1
            self._ever_connected = True
            self._change(SourceState.CONNECTED, f"receiving frames from {self.name}")

    def _fail(self, error: str) -> None:
        self._release()
        self._failures += 1
        self.last_error = redact_url(error)
        if _reached(self.settings.give_up_after_s, self._silent_s()):
            self._change(SourceState.FAILED, f"no frame for {self._silent_s():.1f} s: {error}")
        elif self.state is not SourceState.RETRYING:
            self._change(SourceState.RETRYING, error)
        else:
            log.debug("%s: attempt %d failed: %s", self.name, self._failures, self.last_error)

    def _wait_before_retry(self) -> None:
        if self.state in TERMINAL_STATES:
            return
        delay = self.settings.backoff(self._failures)
        limit = self.settings.give_up_after_s
        if limit is not None:
            delay = min(delay, max(limit - self._silent_s(), 0.0))
        if self._sleep(delay):
            self._change(SourceState.STOPPED, "stop requested")

    def _silent_s(self) -> float:
        return self._clock() - self._last_frame_at

    def _release(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.close()

    def _change(self, state: SourceState, detail: str) -> None:
        detail = redact_url(detail)
        self.state = state
        self.state_since = time.time()
        level = logging.WARNING if state in _WARNING_STATES else logging.INFO
        log.log(level, "source %s is %s: %s", self.name, state.value, detail)
        if self._on_state_change is None:
            return
        change = SourceStateChange(state, self.state_since, detail, self.reconnects)
        try:
            self._on_state_change(change)
        except Exception:
            log.exception("state callback failed for source %s", self.name)


def _reached(limit: float | None, seconds: float) -> bool:
    return limit is not None and seconds >= limit


def open_source(
    spec: str,
    realtime: bool = False,
    settings: ReconnectSettings | None = None,
    *,
    stop: threading.Event | None = None,
    on_state_change: Callable[[SourceStateChange], None] | None = None,
    loop: bool = False,
) -> FrameSource:
    """A file as a plain VideoSource (looped with `loop`); a stream or USB camera as a
    ReconnectingSource."""
    if classify_source(spec) is SourceKind.FILE:
        return VideoSource(spec, realtime=realtime, loop=loop)
    return ReconnectingSource(spec, settings, stop=stop, on_state_change=on_state_change)
