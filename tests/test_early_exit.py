"""The edge's early-exit cascade: region detection answers as the whole-frame detector does,
stationary objects are reused, and a changed or old scene always falls through to full."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pipelines.cascade import CascadeSettings, EarlyExitCascade, Exit
from pipelines.detectors.hog import HogPeopleDetector
from pipelines.metrics import LabelledBox, score_clip
from pipelines.result_cache import ResultCache
from pipelines.types import Box, Detection
from tests.footage import vtest_frames

DETECTOR = HogPeopleDetector()


def boxes(detections: list[Detection]) -> list[LabelledBox]:
    return [LabelledBox(d.label, d.box) for d in detections]


def test_whole_frame_as_one_region_is_exactly_the_full_detector() -> None:
    for frame in vtest_frames(100, 40)[::8]:
        height, width = frame.shape[:2]
        whole = DETECTOR.detect_regions(frame, [Box(0, 0, width, height)])
        assert whole == DETECTOR.detect(frame)


def test_a_region_around_a_person_finds_that_person_exactly() -> None:
    frame = vtest_frames(100, 1)[0]
    full = DETECTOR.detect(frame)
    assert full, "vtest frame 100 shows people"
    person = full[0]
    b = person.box
    region = Box(b.x1 - 10, b.y1 - 10, b.x2 + 10, b.y2 + 10)
    found = DETECTOR.detect_regions(frame, [region])
    assert person in found
    assert all(d.box.iou(region) > 0.3 for d in found), "nothing from outside the region"


def test_regions_exit_agrees_with_the_full_detector_on_walking_people() -> None:
    frames = vtest_frames(200, 40)
    cascade = EarlyExitCascade(DETECTOR, settings=CascadeSettings(full_interval_s=60))
    answers, exits, scanned = [], [], []
    for i, frame in enumerate(frames):
        answer = cascade.run(frame, i / 10)
        cascade.commit(answer)
        answers.append(boxes(answer.detections))
        exits.append(answer.exit)
        scanned.append(answer.scanned)
    assert exits[0] is Exit.FULL and exits[1:].count(Exit.REGIONS) >= 35
    full = [boxes(DETECTOR.detect(f)) for f in frames]
    assert score_clip(answers, full).f1 >= 0.9
    assert np.mean(scanned[1:]) < 0.6, "the regions exit looks at a part of the frame"


def test_stationary_people_are_reused_where_nothing_changed() -> None:
    frame = vtest_frames(100, 1)[0]
    cascade = EarlyExitCascade(DETECTOR, settings=CascadeSettings(full_interval_s=60))
    first = cascade.run(frame, 0.0)
    cascade.commit(first)
    people = first.detections
    assert people
    # Something moves in a corner far from everyone: only that corner is looked at again.
    changed = frame.copy()
    corner = _empty_corner(frame.shape[1], frame.shape[0], people)
    x1, y1, x2, y2 = (int(v) for v in (corner.x1, corner.y1, corner.x2, corner.y2))
    changed[y1:y2, x1:x2] = 255 - changed[y1:y2, x1:x2]
    answer = cascade.run(changed, 0.1)
    assert answer.exit is Exit.REGIONS
    assert answer.scanned < 0.2
    assert all(p in answer.detections for p in people)


def _empty_corner(width: int, height: int, people: list[Detection]) -> Box:
    size = 40
    for corner in (
        Box(0, 0, size, size),
        Box(width - size, 0, width, size),
        Box(0, height - size, size, height),
        Box(width - size, height - size, width, height),
    ):
        far = Box(corner.x1 - 60, corner.y1 - 60, corner.x2 + 60, corner.y2 + 60)
        if all(p.box.iou(far) == 0 for p in people):
            return corner
    raise AssertionError("no corner of the frame is free of people")


def test_old_answers_and_global_changes_fall_through_to_full() -> None:
    frames = vtest_frames(100, 2)
    cascade = EarlyExitCascade(DETECTOR, settings=CascadeSettings(full_interval_s=1.0))
    cascade.commit(cascade.run(frames[0], 0.0))
    assert cascade.run(frames[1], 0.1).exit is Exit.REGIONS
    assert cascade.run(frames[1], 1.5).exit is Exit.FULL, "last full answer is too old"
    lit = np.clip(frames[1].astype(np.int16) + 60, 0, 255).astype(np.uint8)
    assert cascade.run(lit, 0.1).exit is Exit.FULL, "the light changed everywhere"
    # A frame the camera's own model found the held answer stale on is looked at whole.
    whole = cascade.run(frames[1], 0.1, whole=True)
    assert whole.exit is Exit.FULL and boxes(whole.detections) == boxes(DETECTOR.detect(frames[1]))


def test_an_answer_not_committed_changes_nothing() -> None:
    frames = vtest_frames(100, 2)
    cascade = EarlyExitCascade(DETECTOR, ResultCache())
    cascade.commit(cascade.run(frames[0], 0.0))
    uncommitted = cascade.run(frames[1], 0.1)
    again = cascade.run(frames[1], 0.1)
    assert (again.exit, again.detections) == (uncommitted.exit, uncommitted.detections)
    assert cascade.run(frames[0], 0.2).exit is Exit.CACHE, "the cache still holds frame 0"


class WholeFrameOnly:
    """A detector without region support (like the ONNX backend)."""

    name = "whole-frame"

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return DETECTOR.detect(frame)


def test_detectors_without_regions_use_cache_and_full_only() -> None:
    frames = vtest_frames(100, 3)
    cascade = EarlyExitCascade(WholeFrameOnly(), ResultCache())
    exits = []
    for i, frame in enumerate([frames[0], frames[1], frames[1]]):
        answer = cascade.run(frame, i / 10)
        cascade.commit(answer)
        exits.append(answer.exit)
    assert exits == [Exit.FULL, Exit.FULL, Exit.CACHE]


def test_cameras_share_one_level_pool_and_scan_at_once_as_they_would_alone() -> None:
    """Eight cameras do not hold eight pools of idle threads; scans from two analysis workers
    at once through the shared pool find what each finds alone."""
    detectors = [HogPeopleDetector() for _ in range(3)]
    assert len({id(d._scanner._pool) for d in detectors}) == 1
    frames = vtest_frames(300, 4)
    region = [Box(200, 100, 600, 500)]
    alone = [detectors[i % 2].detect_regions(f, region) for i, f in enumerate(frames)]
    assert any(alone), "the region holds people on these frames"
    with ThreadPoolExecutor(2) as workers:
        together = list(
            workers.map(lambda i: detectors[i % 2].detect_regions(frames[i], region), range(4))
        )
    assert together == alone
