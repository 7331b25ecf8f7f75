"""A counts camera on motion blobs sends a frame when the number of moving things changes.

On real footage (the quiet clip built from vtest: an empty scene, then people walking through
it, twice) the camera sends when people come and when they leave, a frame or two while they
walk, and nothing while the scene stays empty."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from appliance.bench.quiet_clip import QuietClip, QuietClipSpec, build_quiet_clip
from cameras.config import DifferenceFilterConfig, TinyDetectorConfig
from pipelines.blob_counts import COUNTABLE_FOREGROUND, SETTLE_S, BlobCountTrigger, BlobView
from pipelines.feedback import EdgeReply, Query
from pipelines.frame_difference import SendReason
from pipelines.selection import FrameSelector
from tests.footage import vtest_frames, vtest_path


def settled() -> BlobCountTrigger:
    trigger = BlobCountTrigger(agreement=0.8)
    assert trigger.view(0.01, 0.0) is BlobView.LEARNING  # the first frame is the background
    assert trigger.view(0.01, SETTLE_S) is BlobView.COUNTING
    return trigger


def test_a_count_that_moved_by_more_than_the_agreement_is_stale() -> None:
    trigger = settled()
    assert trigger.decide(5, 2.0).stale  # nothing sent yet
    trigger.sent()
    assert not trigger.decide(5, 2.1).send
    assert not trigger.decide(4, 2.2).send
    four = trigger.decide(4, 2.3)  # the median of the last three frames is 4 now
    assert four.accuracy == pytest.approx(0.8) and not four.send  # 0.8: not under it
    assert not trigger.decide(3, 2.4).send  # median still 4
    assert trigger.decide(3, 2.5).stale  # now 3: 0.6
    trigger.sent()
    assert not trigger.decide(3, 2.6).send  # held against the frame sent


def test_one_frame_of_blobs_splitting_or_merging_sends_nothing() -> None:
    trigger = settled()
    for count in (5, 5, 5):
        trigger.decide(count, 2.0)
    trigger.sent()
    assert not trigger.decide(9, 2.1).send  # median of 5, 5, 9
    assert not trigger.decide(5, 2.2).send
    assert not trigger.decide(1, 2.3).send  # median of 9, 5, 1


def test_a_keepalive_goes_when_the_count_held_long() -> None:
    trigger = BlobCountTrigger(agreement=0.8, keepalive_s=10.0)
    trigger.decide(2, 0.0)
    trigger.sent()
    assert not trigger.decide(2, 9.9).send
    due = trigger.decide(2, 10.0)
    assert due.keepalive and not due.stale


def test_blobs_count_nothing_while_the_whole_picture_moves() -> None:
    trigger = settled()
    assert trigger.view(COUNTABLE_FOREGROUND + 0.01, 5.0) is BlobView.MOVED  # a pan, a cut
    assert trigger.view(0.01, 5.0 + SETTLE_S - 0.1) is BlobView.MOVED  # the background relearns
    assert trigger.view(0.01, 5.0 + SETTLE_S) is BlobView.COUNTING


def test_a_picture_that_moves_in_the_first_seconds_is_moved_not_learning() -> None:
    trigger = BlobCountTrigger()
    assert trigger.view(0.05, 0.0) is BlobView.LEARNING
    assert trigger.view(COUNTABLE_FOREGROUND + 0.01, 0.5) is BlobView.MOVED  # a pan from the start
    assert trigger.view(0.05, 1.0) is BlobView.MOVED  # the first frame's answer may be stale
    assert trigger.view(0.05, 0.5 + SETTLE_S) is BlobView.COUNTING


def test_when_blobs_begin_to_count_their_count_is_what_the_held_answer_stands_for() -> None:
    """The frames sent before (the first, arrivals, the filter's while the picture moved) kept
    the edge's answer up; the blobs of the last of them counted nothing."""
    trigger = BlobCountTrigger()
    assert trigger.view(0.01, 0.0) is BlobView.LEARNING
    trigger.decide(0, 0.0)  # the background model is this frame: no blobs, whoever is there
    trigger.sent()
    for i in range(1, 20):
        assert trigger.view(0.01, i / 10) is BlobView.LEARNING
        trigger.decide(5, i / 10)
    assert trigger.view(0.01, SETTLE_S) is BlobView.COUNTING
    assert not trigger.decide(5, SETTLE_S).send  # 5 against 0 before the change
    held = trigger.held
    assert held is not None and held.count == 5 and held.timestamp == 0.0  # keepalive from 0
    assert trigger.view(0.01, 2.1) is BlobView.COUNTING
    assert not trigger.decide(2, 2.1).send  # one frame: the median of 5, 5, 2
    assert trigger.view(0.01, 2.2) is BlobView.COUNTING
    assert trigger.decide(2, 2.2).stale  # now 2 against 5


def counts_selector(count_agreement: float | None, moving_tracks: int = 0) -> FrameSelector:
    tiny = TinyDetectorConfig()
    selector = FrameSelector(
        DifferenceFilterConfig().settings(),
        tiny.settings(),
        tiny.arrival_area,
        count_agreement=count_agreement,
    )
    selector.follow(EdgeReply(moving_tracks, None, query=Query.COUNTS, target=0.9))
    return selector


def test_a_counts_camera_adds_only_arrivals_to_its_first_frame_while_blobs_learn() -> None:
    """vtest's first 2 s: people walk, pixels change on every frame; the blobs' background is
    the first frame, so they count nothing yet. The first frame's answer stands, and only
    things coming where it showed none go (the filter alone sent changed frames there)."""
    frames = vtest_frames(0, 20)
    sent: dict[str, dict[int, SendReason]] = {}
    for name, agreement in (("blobs", 0.8), ("filter", None)):
        selector = counts_selector(agreement, moving_tracks=4)  # the edge follows the walkers
        sent[name] = {}
        for i, frame in enumerate(frames):
            decision = selector.decide(frame, i / 10.0).decision
            if decision.send:
                sent[name][i] = decision.reason
                selector.commit_last()
    assert sent["blobs"].pop(0) is SendReason.FIRST
    assert set(sent["blobs"].values()) <= {SendReason.ARRIVAL}, sent["blobs"]
    assert len(sent["blobs"]) <= 2
    changed = [i for i, reason in sent["filter"].items() if reason is SendReason.CHANGED]
    assert len(changed) >= 5, sent["filter"]  # what the blobs' first seconds no longer send


def test_a_lost_frames_count_gives_way_to_the_one_the_edge_holds() -> None:
    trigger = settled()
    for count in (2, 2, 2):
        trigger.decide(count, 2.0)
    trigger.sent()
    arrived = trigger.held
    for count in (6, 6, 6):
        trigger.decide(count, 2.1)
    trigger.sent()
    trigger.restore(arrived)  # the frame with six never reached the edge
    assert trigger.decide(6, 2.2).stale
    trigger.lost()  # which frame the edge holds is unknown
    assert trigger.decide(2, 2.3).stale


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="agreement"):
        BlobCountTrigger(agreement=0.0)
    with pytest.raises(ValueError, match="keepalive_s"):
        BlobCountTrigger(keepalive_s=0.0)


@pytest.fixture(scope="module")
def visits(tmp_path_factory: pytest.TempPathFactory) -> QuietClip:
    """12 s of an empty scene with two 4 s visits of vtest's people."""
    spec = QuietClipSpec(quiet_s=(4.0, 4.0, 4.0), busy_s=4.0)
    return build_quiet_clip(vtest_path(), tmp_path_factory.mktemp("visits") / "q.mp4", spec)


def frames_of(clip: QuietClip) -> list[npt.NDArray[np.uint8]]:
    capture = cv2.VideoCapture(str(clip.path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(np.asarray(frame, dtype=np.uint8))
    capture.release()
    return frames


def sent_by(selector: FrameSelector, clip: QuietClip) -> dict[int, SendReason]:
    sent = {}
    for i, frame in enumerate(frames_of(clip)):
        decision = selector.decide(frame, i / clip.fps).decision
        if decision.send:
            sent[i] = decision.reason
            selector.commit_last()
    return sent


def test_the_first_frame_sent_before_the_camera_knew_its_query_is_the_count_held(
    visits: QuietClip,
) -> None:
    """A camera learns its query from the edge's reply to its first frame. The empty scene's
    first 4 s send nothing more (before, the blobs' first count went as stale at 2 s: the
    trigger had not seen the first frame go)."""
    tiny = TinyDetectorConfig()
    selector = FrameSelector(
        DifferenceFilterConfig().settings(),
        tiny.settings(),
        tiny.arrival_area,
        count_agreement=tiny.count_agreement,
    )
    frames = frames_of(visits)[: visits.busy[0][0]]
    assert len(frames) >= 3 * visits.fps  # the empty scene, before anyone comes
    first = selector.decide(frames[0], 0.0).decision
    assert first.send and first.reason is SendReason.FIRST
    selector.commit_last()
    selector.follow(EdgeReply(0, None, query=Query.COUNTS, target=0.9))
    sent = [
        i for i, f in enumerate(frames[1:], 1) if selector.decide(f, i / visits.fps).decision.send
    ]
    assert sent == []


def test_a_counts_camera_sends_when_people_come_and_leave(visits: QuietClip) -> None:
    sent = sent_by(counts_selector(TinyDetectorConfig().count_agreement), visits)
    assert sent.pop(0) is SendReason.FIRST
    assert set(sent.values()) == {SendReason.STALE}
    second = round(visits.fps)
    for start, end in visits.busy:
        came = [i for i in sent if start <= i < start + second // 2]
        left = [i for i in sent if end <= i < end + second // 2]
        walking = [i for i in sent if start + second // 2 <= i < end]
        assert came and left, (start, end, sorted(sent))
        assert len(walking) <= 3, walking  # a crowd walking on changes every pixel, no count
    busy = [i for start, end in visits.busy for i in range(start, end + second // 2)]
    assert set(sent) <= set(busy)  # nothing while the scene stays empty
