"""Appearance lets the tracker follow a walker across half-second gaps without merging people.

Real vtest frames and the default detector. Who is who comes from the same tracker fed every
frame (10 fps: a walker's boxes overlap from one frame to the next), the reference every
benchmark scores against; the tracker under test sees only every 5th frame (0.5 s apart).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from appliance.edge.config import DetectorConfig
from appliance.edge.detector import build_detector
from pipelines.appearance import describe, describe_all, similarity
from pipelines.tracker import IouTracker, TrackerSettings
from pipelines.types import Box, Detection
from tests.footage import vtest_frames

FPS = 10.0
STEP = 5
"""Every 5th frame: 0.5 s between analysed frames."""
SETTINGS = TrackerSettings(appearance_gate=1.5)
"""The gate as measured (off by default: docs/benchmarks.md)."""


class Footage:
    """vtest's first frames, with the default detector's detections on the frames asked for."""

    def __init__(self, count: int) -> None:
        self._detector = build_detector(DetectorConfig(), Path("data"))
        self.images = vtest_frames(0, count)
        self._detections: dict[int, list[Detection]] = {}

    def detections(self, frame: int) -> list[Detection]:
        if frame not in self._detections:
            self._detections[frame] = self._detector.detect(self.images[frame])
        return self._detections[frame]

    def reference_ids(self, first: int, last: int) -> dict[tuple[int, int], int]:
        """(frame, detection index) -> track id, tracking frames first..last one by one."""
        tracker = IouTracker(SETTINGS)
        ids: dict[tuple[int, int], int] = {}
        for frame in range(first, last + 1):
            update = tracker.update(self.detections(frame), frame / FPS)
            ids.update({(frame, di): tid for di, tid in update.matches.items()})
        return ids

    def sparse_ids(
        self, frames: list[int], settings: TrackerSettings, with_appearance: bool
    ) -> dict[tuple[int, int], int]:
        """The same for `frames` only, with or without descriptors of the boxes."""
        tracker = IouTracker(settings)
        ids: dict[tuple[int, int], int] = {}
        for frame in frames:
            detections = self.detections(frame)
            image = self.images[frame]
            appearances = describe_all(image, detections) if with_appearance else None
            update = tracker.update(detections, frame / FPS, appearances)
            ids.update({(frame, di): tid for di, tid in update.matches.items()})
        return ids


@pytest.fixture(scope="module")
def footage() -> Footage:
    return Footage(71)


def sightings(
    reference: dict[tuple[int, int], int], person: int, frames: list[int]
) -> list[tuple[int, int]]:
    """The (frame, detection index) of one reference person on each of `frames`."""
    found = [key for key, tid in reference.items() if tid == person and key[0] in frames]
    return sorted(found)


def nearest(detections: list[Detection], x: float, y: float) -> int:
    """The detection whose centre is nearest (x, y): how a test names the person it follows."""
    centres = [((d.box.x1 + d.box.x2) / 2, (d.box.y1 + d.box.y2) / 2) for d in detections]
    return int(np.argmin([(cx - x) ** 2 + (cy - y) ** 2 for cx, cy in centres]))


def test_a_walker_seen_half_a_second_apart_keeps_one_track_only_with_appearance(
    footage: Footage,
) -> None:
    frames = [0, STEP, 2 * STEP, 3 * STEP]
    reference = footage.reference_ids(0, frames[-1])
    # The man walking right at the left of the picture (about 1.2 box widths per 0.5 s).
    person = reference[(0, nearest(footage.detections(0), 270.0, 265.0))]
    seen = sightings(reference, person, frames)
    assert [frame for frame, _ in seen] == frames  # the detector finds him on every frame

    with_appearance = footage.sparse_ids(frames, SETTINGS, with_appearance=True)
    boxes_only = footage.sparse_ids(frames, SETTINGS, with_appearance=False)

    assert len({with_appearance[key] for key in seen}) == 1
    assert len({boxes_only[key] for key in seen}) >= 2


def test_two_people_near_each_other_are_not_merged(footage: Footage) -> None:
    frames = [60, 60 + STEP, 60 + 2 * STEP]
    reference = footage.reference_ids(45, frames[-1])
    # Two dark-clad men in the middle of the picture: the one the reference tracks at
    # (382, 205) on frame 60, and another who, 0.5 s later, is where the first could be.
    first = reference[(60, nearest(footage.detections(60), 382.0, 205.0))]
    second = reference[(65, nearest(footage.detections(65), 342.0, 203.0))]
    assert first != second
    # The first is seen before and after the second's sighting: two people at once, not one
    # track broken in two.
    first_frames = [frame for frame, _ in sightings(reference, first, list(range(45, 71)))]
    assert first_frames[0] < 65 < first_frames[-1]

    gated = footage.sparse_ids(frames, SETTINGS, with_appearance=True)
    colour_blind = replace(SETTINGS, appearance_similarity=0.0)
    lax = footage.sparse_ids(frames, colour_blind, with_appearance=True)

    first_id = {gated[key] for key in sightings(reference, first, frames)}
    second_id = {gated[key] for key in sightings(reference, second, frames)}
    assert first_id.isdisjoint(second_id)
    # Position and size alone would have joined them: the likeness is what keeps them apart.
    lax_first = {lax[key] for key in sightings(reference, first, frames)}
    lax_second = {lax[key] for key in sightings(reference, second, frames)}
    assert not lax_first.isdisjoint(lax_second)


def test_the_same_walker_looks_more_alike_than_his_neighbour(footage: Footage) -> None:
    reference = footage.reference_ids(0, 2 * STEP)
    person = reference[(0, nearest(footage.detections(0), 270.0, 265.0))]
    (f0, d0), (f1, d1) = sightings(reference, person, [0, 2 * STEP])
    walker = describe(footage.images[f0], footage.detections(f0)[d0].box)
    later = describe(footage.images[f1], footage.detections(f1)[d1].box)
    others = [
        describe(footage.images[f1], d.box)
        for di, d in enumerate(footage.detections(f1))
        if di != d1 and d.label == "person"
    ]
    assert others and all(similarity(walker, later) > similarity(walker, o) for o in others)


def test_descriptors_must_match_the_detections(footage: Footage) -> None:
    tracker = IouTracker(SETTINGS)
    detections = footage.detections(0)
    one_short = describe_all(footage.images[0], detections)[:-1]
    with pytest.raises(ValueError, match=r"one descriptor per detection: got \d+ for \d+"):
        tracker.update(detections, 0.0, one_short)


def test_a_grey_image_is_refused() -> None:
    grey: npt.NDArray[np.uint8] = np.zeros((48, 64), np.uint8)
    with pytest.raises(ValueError, match="BGR image"):
        describe(grey, Box(0, 0, 10, 10))


@pytest.mark.parametrize(
    ("field", "value"), [("appearance_gate", 0.0), ("appearance_similarity", 1.5)]
)
def test_bad_appearance_settings_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        replace(SETTINGS, **{field: value})
