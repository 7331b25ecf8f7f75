"""The camera follows the edge's tracked boxes through every frame, and the edge's tracker looks
for each object where the camera saw it go (`pipelines.box_motion`, `IouTracker(moved=...)`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from cameras.protocol import FrameMeta, WireMotion
from pipelines.box_motion import BoxFollower, BoxMotion, BoxMotionSettings, TrackShift
from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST
from pipelines.detectors.onnx_yolo import YoloOnnxDetector
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from pipelines.tracker import IouTracker
from pipelines.types import Box, Detection
from tests.footage import vtest_frames

Image = npt.NDArray[np.uint8]
STEP = 3
"""Pixels the textured patch moves right each frame."""


def scene(offset: int) -> Image:
    """A still textured background with a textured 60x100 patch whose left edge is at 100 +
    offset, at full size (640x360) in BGR."""
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 120, size=(360, 640), dtype=np.uint8)
    patch = np.random.default_rng(11).integers(130, 255, size=(100, 60), dtype=np.uint8)
    frame[100:200, 100 + offset : 160 + offset] = patch
    return np.repeat(frame[:, :, None], 3, axis=2)


PATCH = Box(100, 100, 160, 200)


def test_a_box_is_followed_to_where_its_object_went() -> None:
    follower = BoxFollower()
    follower.frame(0, scene(0))
    follower.answered(0, [(7, PATCH)])
    for seq in range(1, 6):
        follower.frame(seq, scene(STEP * seq))
    motion = follower.motion()
    assert motion is not None and motion.origin_seq == 0
    (shift,) = motion.shifts
    assert shift.track_id == 7
    assert shift.dx == pytest.approx(5 * STEP, abs=1.0) and shift.dy == pytest.approx(0, abs=1.0)


def test_an_answer_that_comes_late_is_followed_from_its_own_frame() -> None:
    """The edge answered frame 2 while the camera read on to frame 6: the box is followed from
    frame 2, through the frames kept since."""
    follower = BoxFollower()
    for seq in range(7):
        follower.frame(seq, scene(STEP * seq))
    follower.answered(2, [(3, Box(106, 100, 166, 200))])
    motion = follower.motion()
    assert motion is not None and motion.origin_seq == 2
    assert motion.shifts[0].dx == pytest.approx(4 * STEP, abs=1.0)


def test_a_late_answer_to_an_older_frame_changes_nothing() -> None:
    """With uploads in parallel the answer to frame 1 may come after frame 3's: the boxes of
    the newer answer stay the ones followed."""
    follower = BoxFollower()
    for seq in range(5):
        follower.frame(seq, scene(STEP * seq))
    follower.answered(3, [(2, Box(109, 100, 169, 200))])
    follower.answered(1, [(1, Box(103, 100, 163, 200))])
    motion = follower.motion()
    assert motion is not None and motion.origin_seq == 3
    assert [s.track_id for s in motion.shifts] == [2]


def test_nothing_is_followed_without_an_answer_or_the_frame_it_answers() -> None:
    follower = BoxFollower()
    follower.frame(0, scene(0))
    assert follower.motion() is None  # no answer yet
    follower.answered(99, [(1, PATCH)])  # a frame never read
    assert follower.motion() is None
    flat = np.full((360, 640, 3), 90, dtype=np.uint8)
    follower.frame(1, flat)
    follower.answered(1, [(1, PATCH)])  # no texture: no points to follow
    assert follower.motion() is None


def test_the_background_and_a_neighbour_do_not_drag_a_box() -> None:
    """Points are seeded in the box's core only, none where another box lies: the still
    background around the patch and a still box overlapping it leave its shift alone."""
    follower = BoxFollower()
    follower.frame(0, scene(0))
    still_neighbour = Box(40, 100, 115, 200)  # overlaps the patch's left edge, does not move
    follower.answered(0, [(1, Box(90, 90, 170, 210)), (2, still_neighbour)])
    for seq in range(1, 5):
        follower.frame(seq, scene(STEP * seq))
    motion = follower.motion()
    assert motion is not None
    shifts = {s.track_id: s for s in motion.shifts}
    assert shifts[1].dx == pytest.approx(4 * STEP, abs=1.5)
    assert abs(shifts[2].dx) < 1.0  # the neighbour's own core is still background


def walker(left: float) -> Detection:
    return Detection("person", 0.9, Box(left, 100, left + 40, 200))


def test_the_tracker_finds_an_object_where_the_camera_saw_it_go() -> None:
    """Seen once, then 50 px (1.25 widths) further: too far for the tracker's guess, so
    without the camera's shift it is a second object; with it, the same track."""
    for moved, same in (((), False), ((TrackShift(1, 50.0, 0.0),), True)):
        tracker = IouTracker()
        first = tracker.update([walker(100)], 0.0)
        assert first.matches == {0: 1}
        second = tracker.update([walker(150)], 0.5, moved=moved)
        assert (second.matches == {0: 1}) is same, moved


def test_a_shift_counts_only_for_a_track_the_last_frame_showed() -> None:
    """A track the last analysed frame missed was not on it: a shift measured from that frame
    cannot be its (the camera followed boxes from there)."""
    tracker = IouTracker()
    tracker.update([walker(100)], 0.0)
    tracker.update([], 0.3)  # missed
    later = tracker.update([walker(150)], 0.6, moved=(TrackShift(1, 50.0, 0.0),))
    assert later.matches == {0: 2}


def test_shifts_travel_in_the_frame_meta() -> None:
    motion = BoxMotion(41, (TrackShift(5, 12.345, -3.21), TrackShift(9, 0.0, 0.0)))
    meta = FrameMeta(seq=45, captured_at=1.0, motion=WireMotion.of(motion))
    received = FrameMeta.model_validate_json(meta.model_dump_json())
    assert received.motion is not None and received.motion.origin_seq == 41
    assert received.motion.shifts() == (TrackShift(5, 12.3, -3.2), TrackShift(9, 0.0, 0.0))


@pytest.fixture(scope="module")
def detector(trained_model: Path) -> YoloOnnxDetector:
    settings = YoloOnnxSettings(model_path=str(trained_model), interest=DEFAULT_LABELS_OF_INTEREST)
    return YoloOnnxDetector(settings)


def best_iou(box: Box, found: list[Detection]) -> float:
    return max((box.iou(d.box) for d in found), default=0.0)


def test_on_vtest_followed_boxes_land_on_the_people_half_a_second_later(
    detector: YoloOnnxDetector,
) -> None:
    """The trained model's people on a vtest frame, followed through the next five frames: the
    boxes of those who walked overlap the model's people on the fifth far better than the boxes
    left where they were."""
    frames = vtest_frames(100, 6)
    start, end = detector.detect(frames[0]), detector.detect(frames[-1])
    assert len(start) >= 4 and len(end) >= 4
    follower = BoxFollower()
    follower.frame(0, frames[0])
    follower.answered(0, [(i, d.box) for i, d in enumerate(start)])
    for seq, frame in enumerate(frames[1:], 1):
        follower.frame(seq, frame)
    motion = follower.motion()
    assert motion is not None and len(motion.shifts) >= len(start) / 2
    walked = [s for s in motion.shifts if np.hypot(s.dx, s.dy) > 5.0]
    assert len(walked) >= 2, motion  # people walked across in half a second
    left = [best_iou(start[s.track_id].box, end) for s in walked]
    followed = [
        best_iou(Box(b.x1 + s.dx, b.y1 + s.dy, b.x2 + s.dx, b.y2 + s.dy), end)
        for s in walked
        for b in [start[s.track_id].box]
    ]
    assert min(followed) > 0.6 and np.mean(followed) > np.mean(left) + 0.2, (followed, left)


def test_an_answer_whose_frame_is_no_longer_kept_is_not_followed() -> None:
    follower = BoxFollower(BoxMotionSettings(max_frames=3))
    for seq in range(6):
        follower.frame(seq, scene(STEP * seq))
    follower.answered(1, [(1, Box(103, 100, 163, 200))])  # frames 3-5 kept only
    assert follower.motion() is None
    follower.answered(4, [(1, Box(112, 100, 172, 200))])
    motion = follower.motion()
    assert motion is not None and motion.shifts[0].dx == pytest.approx(STEP, abs=1.0)


def test_an_empty_scene_costs_nothing_until_a_frame_is_chosen() -> None:
    """Frames not chosen, with nothing followed and no answer awaited, are not kept: an answer
    can only name a chosen frame. From a chosen frame on, every frame is kept until answered."""
    follower = BoxFollower()
    follower.frame(0, scene(0), chosen=False)
    follower.answered(0, [(1, PATCH)])  # never chosen: nothing to follow from
    assert follower.motion() is None
    follower.frame(1, scene(STEP), chosen=True)
    follower.frame(2, scene(2 * STEP), chosen=False)  # read while the answer is on its way
    follower.answered(1, [(1, Box(103, 100, 163, 200))])
    follower.frame(3, scene(3 * STEP), chosen=False)
    motion = follower.motion()
    assert motion is not None and motion.shifts[0].dx == pytest.approx(2 * STEP, abs=1.0)
