"""Live sources that reconnect: unit tests with a scripted opener, then a real RTSP server.

The RTSP tests run GStreamer's rtsp-server (tests/rtsp_server.py) looping vtest.avi transcoded
to H.264, and read it with OpenCV exactly as a camera node does; the server is killed and
restarted on the same port to check that frames come back by themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from appliance.edge.server import free_port
from cameras.reconnect import (
    ReconnectingSource,
    ReconnectSettings,
    SourceState,
    SourceStateChange,
    open_source,
)
from cameras.sources import CapturedFrame, SourceError, VideoSource
from tests.footage import vtest_path
from tests.rtsp_server import RtspServer

URL = "rtsp://admin:hunter2@10.0.0.5:554/stream1"
FAST = ReconnectSettings(initial_backoff_s=0.2, max_backoff_s=1.0)
S = SourceState


# --- unit tests: a scripted opener, a fake clock --------------------------------------------


class FakeCapture:
    """Delivers `frames` frames (indices restarting at 0, like a fresh VideoSource), then None."""

    fps = 10.0

    def __init__(self, frames: int) -> None:
        self.left = frames
        self.index = 0
        self.closed = False

    def read(self) -> CapturedFrame | None:
        if self.left == 0:
            return None
        self.left -= 1
        self.index += 1
        return CapturedFrame(self.index - 1, time.time(), np.zeros((2, 2, 3), np.uint8))

    def close(self) -> None:
        self.closed = True


class Script:
    """Opener and clock: each open takes the next outcome (frame count, or None: cannot open)."""

    def __init__(self, outcomes: list[int | None], stop: threading.Event | None = None) -> None:
        self.outcomes = list(outcomes)
        self.captures: list[FakeCapture] = []
        self.sleeps: list[float] = []
        self.now = 0.0
        self.stop = stop or threading.Event()
        self.changes: list[SourceStateChange] = []

    def open(self, spec: str) -> FakeCapture:
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is None:
            raise SourceError(f"cannot open video source {spec}")  # raw URL: must be redacted
        self.captures.append(FakeCapture(outcome))
        return self.captures[-1]

    def sleep(self, seconds: float) -> bool:
        self.sleeps.append(seconds)
        self.now += seconds
        return self.stop.is_set()

    def source(self, settings: ReconnectSettings | None = None) -> ReconnectingSource:
        return ReconnectingSource(
            URL,
            settings,
            stop=self.stop,
            on_state_change=self.changes.append,
            opener=self.open,
            clock=lambda: self.now,
            sleep=self.sleep,
        )

    @property
    def states(self) -> list[SourceState]:
        return [c.state for c in self.changes]


def test_backoff_doubles_up_to_the_cap() -> None:
    settings = ReconnectSettings()
    assert [settings.backoff(n) for n in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    jittered = ReconnectSettings(jitter=0.25)
    for n in range(1, 10):
        assert 0.75 * settings.backoff(n) <= jittered.backoff(n) <= settings.backoff(n)


def test_gives_up_after_the_limit_with_backoff_sequence() -> None:
    script = Script([])
    source = script.source(ReconnectSettings(max_backoff_s=4.0, give_up_after_s=20.0))
    assert source.read() is None
    assert script.sleeps == [0.5, 1, 2, 4, 4, 4, 4, 0.5]  # the last wait ends at the limit
    assert source.state is S.FAILED
    assert script.states == [S.RETRYING, S.FAILED]
    assert source.read() is None  # failed is final


def test_reconnects_and_keeps_counting_frames() -> None:
    script = Script([3, None, None, 2, 4])
    source = script.source()
    assert source.state is S.CONNECTING
    frames = [source.read() for _ in range(9)]
    assert [f.index for f in frames if f is not None] == list(range(9))
    # 3 frames, a failed read, two failed opens, 2 frames, a failed read, reopened.
    assert script.sleeps == [0.5, 1, 2, 0.5]
    assert script.states == [S.CONNECTED, S.RETRYING, S.CONNECTED, S.RETRYING, S.CONNECTED]
    assert source.reconnects == 2
    assert [c.reconnects for c in script.changes] == [0, 0, 1, 1, 2]
    assert all(c.closed for c in script.captures[:2])
    source.close()
    assert script.captures[-1].closed
    assert source.state is S.STOPPED


def test_a_stalled_read_counts_as_a_drop() -> None:
    script = Script([5, 1])
    source = script.source()
    assert source.read() is not None
    slow_read = script.captures[0].read

    def stalled() -> CapturedFrame | None:
        script.now += 4.5  # a read that returned only after a timeout: a stale frame
        return slow_read()

    script.captures[0].read = stalled  # type: ignore[method-assign]
    frame = source.read()
    assert frame is not None and frame.index == 1
    assert script.states == [S.CONNECTED, S.RETRYING, S.CONNECTED]
    assert script.captures[0].closed and len(script.captures) == 2


def test_errors_are_redacted() -> None:
    script = Script([None, 1])
    source = script.source()
    assert source.read() is not None
    assert source.last_error is not None and "cannot open" in source.last_error
    seen = [source.name, source.last_error, *(c.detail for c in script.changes)]
    assert not [text for text in seen if "hunter2" in text]


def test_stop_during_backoff_ends_read() -> None:
    script = Script([])

    def stopped_while_waiting(seconds: float) -> bool:
        script.stop.set()  # as if another thread set it during the wait
        return True

    script.sleep = stopped_while_waiting  # type: ignore[method-assign]
    source = script.source()
    assert source.read() is None
    assert source.state is S.STOPPED
    assert script.states == [S.RETRYING, S.STOPPED]


def test_a_failing_callback_does_not_stop_the_video() -> None:
    def explode(change: SourceStateChange) -> None:
        raise RuntimeError("reporting is down")

    script = Script([2])
    source = ReconnectingSource(URL, opener=script.open, on_state_change=explode)
    assert source.read() is not None
    assert source.state is S.CONNECTED


def test_files_are_not_wrapped() -> None:
    with pytest.raises(ValueError, match="files"):
        ReconnectingSource(str(vtest_path()))
    source = open_source(str(vtest_path()))
    assert isinstance(source, VideoSource)
    source.close()
    assert isinstance(open_source("0", settings=FAST), ReconnectingSource)  # nothing opened yet


# --- a real RTSP server ------------------------------------------------------------------------


@pytest.fixture
def rtsp_server(h264_clip: Path) -> Iterator[RtspServer]:
    with RtspServer(h264_clip) as server:
        yield server


def wait_for(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "condition not met in time"
        time.sleep(0.05)
    return time.monotonic() - started


def test_reads_live_frames(rtsp_server: RtspServer) -> None:
    before = time.time()
    with ReconnectingSource(rtsp_server.url, FAST) as source:
        frames = [source.read() for _ in range(50)]  # the 40-frame clip loops
        assert source.state is S.CONNECTED
        assert source.fps == pytest.approx(10.0)
    got = [f for f in frames if f is not None]
    assert [f.index for f in got] == list(range(50))
    assert {f.image.shape for f in got} == {(576, 768, 3)}
    assert before <= got[0].timestamp <= got[-1].timestamp <= time.time()  # wall clock
    assert source.state is S.STOPPED


OUTAGES = {
    # stopped: a clean shutdown; killed: a crash; frozen: silence (a cut cable, a hung camera)
    "stopped": (RtspServer.stop, RtspServer.start),
    "killed": (RtspServer.kill, RtspServer.start),
    "frozen": (RtspServer.freeze, RtspServer.thaw),
}


@pytest.mark.parametrize("outage", OUTAGES)
def test_comes_back_after_an_outage(rtsp_server: RtspServer, outage: str) -> None:
    begin, end = OUTAGES[outage]
    changes: list[SourceStateChange] = []
    frames: list[CapturedFrame] = []
    stop = threading.Event()
    source = ReconnectingSource(rtsp_server.url, FAST, stop=stop, on_state_change=changes.append)

    def pump() -> None:
        while (frame := source.read()) is not None:
            frames.append(frame)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        wait_for(lambda: len(frames) >= 10, timeout=15)
        begin(rtsp_server)
        lost_after = wait_for(lambda: source.state is S.RETRYING, timeout=12)
        before_restart = len(frames)
        end(rtsp_server)
        back_after = wait_for(lambda: len(frames) >= before_restart + 10, timeout=20)
    finally:
        stop.set()
        reader.join(timeout=10)
        source.close()
    assert not reader.is_alive()
    print(f"noticed the loss after {lost_after:.1f} s, frames back after {back_after:.1f} s")
    assert [f.index for f in frames] == list(range(len(frames)))
    assert source.reconnects >= 1
    states = [c.state for c in changes]
    assert states[:3] == [S.CONNECTED, S.RETRYING, S.CONNECTED]
    assert states[-1] is S.STOPPED


def test_gives_up_without_a_server() -> None:
    changes: list[SourceStateChange] = []
    settings = ReconnectSettings(initial_backoff_s=0.2, give_up_after_s=1.0)
    url = f"rtsp://127.0.0.1:{free_port()}/cam"
    started = time.monotonic()
    source = ReconnectingSource(url, settings, on_state_change=changes.append)
    assert source.read() is None
    assert 1.0 <= time.monotonic() - started < 4.0
    assert source.state is S.FAILED
    assert [c.state for c in changes] == [S.RETRYING, S.FAILED]
    assert source.last_error is not None and "cannot open" in source.last_error


def test_stop_event_ends_the_retry_loop_promptly() -> None:
    stop = threading.Event()
    url = f"rtsp://127.0.0.1:{free_port()}/cam"
    source = ReconnectingSource(url, ReconnectSettings(initial_backoff_s=30.0), stop=stop)
    result: list[CapturedFrame | None] = []
    reader = threading.Thread(target=lambda: result.append(source.read()), daemon=True)
    reader.start()
    wait_for(lambda: source.state is S.RETRYING, timeout=6)
    stop.set()
    stopped_after = time.monotonic()
    reader.join(timeout=2)
    assert not reader.is_alive()
    assert time.monotonic() - stopped_after < 1.0
    assert result == [None]
    assert source.state is S.STOPPED


def test_credentials_never_reach_logs(
    h264_clip: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    password, wrong = "s3cret-Pw", "wr0ng-Pw"
    texts: list[str] = []
    with RtspServer(h264_clip, user="viewer", password=password) as server:
        with ReconnectingSource(server.url, FAST) as source:
            assert source.read() is not None
            texts += [source.name]
        refused = ReconnectSettings(initial_backoff_s=0.1, give_up_after_s=0.5)
        changes: list[SourceStateChange] = []
        bad_url = server.url.replace(password, wrong)
        source = ReconnectingSource(bad_url, refused, on_state_change=changes.append)
        assert source.read() is None
        assert source.state is S.FAILED
        texts += [source.name, source.last_error or "", *(c.detail for c in changes)]
    out, err = capfd.readouterr()  # what OpenCV and FFmpeg print themselves
    texts += [caplog.text, out, err]
    assert "rtsp://***@127.0.0.1" in caplog.text  # the logs do name the source
    assert not [text for text in texts if password in text or wrong in text]
