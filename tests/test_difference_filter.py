"""The camera-side frame-difference filter: what it sends, what it drops, and why."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.frame_difference import DifferenceSettings, FrameDifferenceFilter, SendReason
from tests.footage import vtest_frames


def scene(offset: int = 0) -> np.ndarray:
    """A grey background with one dark 'person' box, shifted right by `offset` pixels."""
    frame = np.full((480, 640, 3), 128, dtype=np.uint8)
    frame[200:360, 100 + offset : 160 + offset] = 30
    return frame


def test_first_frame_is_always_sent() -> None:
    decision = FrameDifferenceFilter().decide(scene(), 0.0)
    assert decision.send and decision.reason is SendReason.FIRST


def test_identical_and_noisy_frames_are_dropped() -> None:
    frame_filter = FrameDifferenceFilter()
    frame_filter.decide(scene(), 0.0)
    rng = np.random.default_rng(1)
    for i in range(1, 10):
        noise = rng.normal(0, 4, size=scene().shape)
        noisy = np.clip(scene().astype(np.float64) + noise, 0, 255).astype(np.uint8)
        decision = frame_filter.decide(noisy, i * 0.1)
        assert not decision.send, f"sensor noise alone sent frame {i} (score {decision.score})"
        assert decision.score < frame_filter.threshold


def test_moving_object_is_sent() -> None:
    frame_filter = FrameDifferenceFilter()
    frame_filter.decide(scene(), 0.0)
    decision = frame_filter.decide(scene(offset=60), 0.1)
    assert decision.send and decision.reason is SendReason.CHANGED
    assert decision.score > 0.01


def test_slow_motion_accumulates_against_last_sent_frame() -> None:
    frame_filter = FrameDifferenceFilter(DifferenceSettings(threshold=0.01, max_interval_s=0))
    frame_filter.decide(scene(), 0.0)
    sent_at = [
        step for step in range(1, 40) if frame_filter.decide(scene(offset=step), step * 0.1).send
    ]
    # One-pixel steps are invisible frame to frame, but the drift adds up and is sent eventually.
    assert sent_at, "a slowly moving object was never sent"
    assert sent_at[0] > 1


def test_keepalive_frame_after_max_interval() -> None:
    frame_filter = FrameDifferenceFilter(DifferenceSettings(max_interval_s=2.0))
    frame_filter.decide(scene(), 0.0)
    assert not frame_filter.decide(scene(), 1.0).send
    decision = frame_filter.decide(scene(), 2.5)
    assert decision.send and decision.reason is SendReason.KEEPALIVE


def test_threshold_from_edge_is_clamped() -> None:
    frame_filter = FrameDifferenceFilter()
    frame_filter.set_threshold(1.7)
    assert frame_filter.threshold == 1.0
    frame_filter.set_threshold(0.05)
    assert frame_filter.threshold == 0.05


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="odd"):
        DifferenceSettings(blur_kernel=4)
    with pytest.raises(ValueError, match="fraction"):
        DifferenceSettings(threshold=1.5)


def test_on_real_footage_higher_threshold_sends_fewer_frames() -> None:
    frames = vtest_frames(0, 60)

    def sent(threshold: float) -> int:
        frame_filter = FrameDifferenceFilter(
            DifferenceSettings(threshold=threshold, max_interval_s=0)
        )
        return sum(frame_filter.decide(f, i * 0.1).send for i, f in enumerate(frames))

    loose, strict = sent(0.005), sent(0.05)
    assert 1 <= strict < loose <= len(frames)
    assert strict < len(frames) // 2, "a 5% change threshold should drop most frames of vtest"


def test_keepalive_only_while_the_edge_tracks_something() -> None:
    frame_filter = FrameDifferenceFilter(DifferenceSettings(max_interval_s=2.0))
    frame_filter.decide(scene(), 0.0)
    frame_filter.set_tracking(False)
    assert not frame_filter.decide(scene(), 10.0).send
    frame_filter.set_tracking(True)
    assert frame_filter.decide(scene(), 10.1).reason is SendReason.KEEPALIVE


def test_a_track_awaiting_confirmation_gets_its_second_look_soon() -> None:
    # A car parks: the scene is still, but the edge's new track needs one more frame.
    frame_filter = FrameDifferenceFilter(DifferenceSettings(max_interval_s=2.0))
    frame_filter.decide(scene(), 0.0)
    frame_filter.next_frame_s = 0.2
    assert not frame_filter.decide(scene(), 0.1).send
    decision = frame_filter.decide(scene(), 0.2)
    assert decision.send and decision.reason is SendReason.KEEPALIVE
    frame_filter.next_frame_s = None  # confirmed: back to the usual keepalives
    assert not frame_filter.decide(scene(), 0.5).send
