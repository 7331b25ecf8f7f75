"""The camera node's frame choice: difference filter checked by the tiny detector."""

from __future__ import annotations

import numpy as np

from pipelines.frame_difference import DifferenceSettings, SendReason
from pipelines.motion import MotionSettings
from pipelines.selection import FrameSelector

RNG = np.random.default_rng(3)
BACKGROUND = RNG.integers(60, 200, size=(480, 640, 3), dtype=np.uint8)


def frame(brightness: int = 0, *people_at: int, width: int = 60) -> np.ndarray:
    image = BACKGROUND.astype(np.int16) + brightness
    image += RNG.normal(0, 2, size=image.shape).astype(np.int16)
    for x in people_at:
        image[200:360, x : x + width] = 20
    return np.clip(image, 0, 255).astype(np.uint8)


def warmed_up(threshold: float = 0.01) -> FrameSelector:
    selector = FrameSelector(
        DifferenceSettings(threshold=threshold, max_interval_s=0), MotionSettings()
    )
    for i in range(60):  # let the background model learn the empty scene
        if selector.decide(frame(), i * 0.1).decision.send:
            selector.commit_last()
    selector.set_tracking(False)
    return selector


def test_light_change_without_objects_is_not_sent() -> None:
    selector = warmed_up()
    selection = selector.decide(frame(40), 6.0)
    assert selection.decision.score > selector.threshold  # the pixels did change...
    assert not selection.decision.send  # ...but nothing of interest is there
    assert selection.decision.reason is SendReason.NOTHING_OF_INTEREST
    assert selection.features is not None and selection.features.blobs == []


def test_a_small_arrival_is_sent_below_the_pixel_threshold() -> None:
    selector = warmed_up(threshold=0.2)  # far above what one small person changes
    selection = selector.decide(frame(0, 300, width=30), 6.0)
    assert selection.decision.score < 0.2
    assert selection.decision.send and selection.decision.reason is SendReason.ARRIVAL
    assert selection.utility >= 1.0


def test_utility_counts_objects_of_interest() -> None:
    selector = warmed_up()
    one = selector.decide(frame(0, 100), 6.0)
    two = selector.decide(frame(0, 100, 400), 6.1)
    assert one.utility == 1.0 and two.utility == 2.0


def test_nothing_becomes_the_reference_until_it_was_sent() -> None:
    selector = warmed_up()
    first = selector.decide(frame(0, 100), 6.0)
    assert first.decision.send  # offered, but (say) the budget kept it back: not committed
    again = selector.decide(frame(0, 100), 6.1)
    assert again.decision.send  # still new against the last frame really sent
    selector.commit_last()
    assert not selector.decide(frame(0, 100), 6.2).decision.send


def test_without_a_tiny_detector_changed_frames_are_all_interesting() -> None:
    selector = FrameSelector(DifferenceSettings(max_interval_s=0), motion=None)
    selector.decide(frame(), 0.0)
    selector.commit_last()
    selection = selector.decide(frame(40), 0.1)
    assert selection.decision.send and selection.utility == 1.0 and selection.features is None


def test_a_frame_that_never_reached_the_edge_is_not_what_later_frames_are_compared_with() -> None:
    selector = warmed_up()
    assert selector.decide(frame(0, 100), 6.0).decision.send  # someone came
    selector.commit_last(seq=1)
    selector.frame_lost(1)  # the edge refused it, or the uplink was down
    again = selector.decide(frame(0, 100), 6.1)
    assert again.decision.send and again.decision.reason is SendReason.ARRIVAL
    selector.commit_last(seq=2)
    selector.frame_arrived(2)
    assert not selector.decide(frame(0, 100), 6.2).decision.send  # the edge has it now


def test_a_lost_frame_older_than_the_reference_changes_nothing() -> None:
    selector = warmed_up()
    assert selector.decide(frame(0, 100), 6.0).decision.send
    selector.commit_last(seq=1)
    assert selector.decide(frame(0, 100, 400), 6.1).decision.send
    selector.commit_last(seq=2)  # both on their way
    selector.frame_lost(1)
    assert not selector.decide(frame(0, 100, 400), 6.2).decision.send  # frame 2 stands
    selector.frame_lost(2)  # ...until it is lost too: back to the empty scene the edge has
    assert selector.decide(frame(0, 100, 400), 6.3).decision.send


def shadow(at: int) -> np.ndarray:
    """The empty scene with a patch of ground dimmed evenly (a shadow)."""
    image = frame().astype(np.float32)
    image[200:360, at : at + 80] *= 0.7
    return np.clip(image, 0, 255).astype(np.uint8)


def test_a_shadow_is_news_only_while_the_edge_tracks_something() -> None:
    still = warmed_up()
    assert not still.decide(shadow(100), 6.0).decision.send  # nothing tracked: no arrival
    busy = warmed_up()
    busy.set_tracking(True)  # it may be the shadow of someone tracked, or someone like it
    arrival = busy.decide(shadow(100), 6.0).decision
    assert arrival.send and arrival.reason is SendReason.ARRIVAL
