"""The camera node's tiny detector (motion blobs) and difference features, on real footage.

vtest.avi (people walking) checks the blobs against the HOG people detector; the quiet clip
(vtest's empty background plate with sensor noise and light drift, and a stretch of real vtest
frames) checks that an empty scene stays silent and a visit is seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from appliance.bench.distractor_clip import DistractorClipSpec, distractor_frames
from appliance.bench.quiet_clip import QuietClip, QuietClipSpec, background_plate, build_quiet_clip
from pipelines.detectors.hog import HogPeopleDetector
from pipelines.frame_difference import FrameDifferenceFilter, Image
from pipelines.motion import DifferenceFeatures, FeatureExtractor, MotionSettings
from pipelines.types import Box, Detection
from tests.footage import vtest_frames, vtest_path

SPEC = QuietClipSpec(quiet_s=(20.0, 20.0), busy_s=5.0)
WARMUP = 20
"""Frames (2 s at 10 fps) before blobs count: the background starts from the first frame."""
SIGNATURE = FrameDifferenceFilter().signature


@dataclass(frozen=True)
class Quiet:
    clip: QuietClip
    signatures: list[Image]
    width: int
    height: int

    def busy(self, index: int) -> bool:
        return any(start <= index < end for start, end in self.clip.busy)


def read(path: Path, count: int | None = None) -> Iterator[npt.NDArray[np.uint8]]:
    capture = cv2.VideoCapture(str(path))
    while count is None or count > 0:
        ok, frame = capture.read()
        if not ok:
            break
        yield np.asarray(frame, np.uint8)
        count = None if count is None else count - 1
    capture.release()


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Quiet:
    clip = build_quiet_clip(vtest_path(), tmp_path_factory.mktemp("motion") / "q.mp4", SPEC)
    frames = list(read(clip.path))
    height, width = frames[0].shape[:2]
    return Quiet(clip, [SIGNATURE(f) for f in frames], width, height)


def run(signatures: list[Image], width: int, height: int) -> list[DifferenceFeatures]:
    extractor = FeatureExtractor()
    return [extractor.extract(s, width, height) for s in signatures]


def finds(blobs: list[Detection], person: Box) -> bool:
    """A person counts as found by a blob overlapping its box or containing its centre."""
    cx, cy = (person.x1 + person.x2) / 2, (person.y1 + person.y2) / 2
    return any(
        b.box.iou(person) >= 0.1 or (b.box.x1 <= cx <= b.box.x2 and b.box.y1 <= cy <= b.box.y2)
        for b in blobs
    )


def test_blobs_find_the_people_hog_finds() -> None:
    # From the clip's start, people included (the background learns them away), 50 frames
    # scored against HOG: every 4th frame of 100-296.
    frames = vtest_frames(0, 300)
    height, width = frames[0].shape[:2]
    features = run([SIGNATURE(f) for f in frames], width, height)
    hog = HogPeopleDetector()
    found = people = matched = blobs = 0
    for i in range(100, 300, 4):
        persons = [d.box for d in hog.detect(frames[i])]
        found += sum(finds(features[i].blobs, p) for p in persons)
        people += len(persons)
        matched += sum(any(finds([b], p) for p in persons) for b in features[i].blobs)
        blobs += len(features[i].blobs)
        for b in features[i].blobs:
            assert b.label == "motion" and 0.0 < b.confidence <= 1.0
            assert 0 <= b.box.x1 < b.box.x2 <= width and 0 <= b.box.y1 < b.box.y2 <= height
    assert people > 100
    assert found / people >= 0.9, (found, people)
    # HOG misses far, small and overlapping people, so this precision is a lower bound (and
    # the background still holds faint ghosts of the people in the clip's first frames).
    assert matched / blobs >= 0.3, (matched, blobs)


def test_empty_scene_is_silent_and_visits_are_seen(quiet: Quiet) -> None:
    features = run(quiet.signatures, quiet.width, quiet.height)
    empty = [f for i, f in enumerate(features) if i >= WARMUP and not quiet.busy(i)]
    busy = [f for i, f in enumerate(features) if quiet.busy(i)]
    assert len(empty) > 300 and len(busy) == 50
    assert sum(bool(f.blobs) for f in empty) <= 0.01 * len(empty)
    assert sum(bool(f.blobs) for f in busy) >= 0.9 * len(busy)


def test_visitors_are_solid_arrivals_and_a_crossing_shadow_is_not() -> None:
    """A shadow is the ground dimmed evenly: a blob, but no news when nothing is tracked. The
    people of a visit are brighter or far darker than the ground somewhere: news at once."""
    plate = background_plate(vtest_path()).astype(np.float32)
    frames = list(distractor_frames(plate, DistractorClipSpec(seconds=20.0)))
    height, width = frames[0].shape[:2]
    shadow = run([SIGNATURE(f) for f in frames], width, height)[WARMUP:]
    assert sum(bool(f.blobs) for f in shadow) > 50  # the shadow is seen moving...
    assert sum(f.arrivals for f in shadow) > 0  # ...and would come as an arrival...
    assert sum(f.solid_arrivals + f.solid_unseen for f in shadow) == 0  # ...but is no news


def test_each_visit_is_a_solid_arrival_at_once(quiet: Quiet) -> None:
    features = run(quiet.signatures, quiet.width, quiet.height)
    for start, _ in quiet.clip.busy:
        assert any(f.solid_arrivals > 0 for f in features[start : start + 3]), start


def test_boxes_are_scaled_to_the_original_frame(quiet: Quiet) -> None:
    start, end = quiet.clip.busy[0]
    signatures = quiet.signatures[:end]
    small = run(signatures, quiet.width, quiet.height)[start:end]
    large = run(signatures, 1920, 1080)[start:end]
    assert sum(len(f.blobs) for f in small) >= 50
    fx, fy = 1920 / quiet.width, 1080 / quiet.height
    for a, b in zip(small, large, strict=True):
        assert len(a.blobs) == len(b.blobs)
        for da, db in zip(a.blobs, b.blobs, strict=True):
            assert db.box.x1 == pytest.approx(da.box.x1 * fx)
            assert db.box.y2 == pytest.approx(da.box.y2 * fy)
            assert 0 <= db.box.x1 < db.box.x2 <= 1920 and 0 <= db.box.y1 < db.box.y2 <= 1080
    # 160x120 signature of a 768x576 frame: blob edges fall on multiples of 4.8 pixels.
    x1 = small[10].blobs[0].box.x1
    assert x1 / 4.8 == pytest.approx(round(x1 / 4.8))


Light = Callable[[int, npt.NDArray[np.float32]], npt.NDArray[np.float32]]
STEP = 80
LIGHT_CHANGES: dict[str, tuple[Light, int]] = {
    # name: (change applied to decoded frames, frames from STEP on that may show blobs)
    "drift up": (lambda i, f: f + 0.5 * max(0, i - 40), 0),
    "drift down": (lambda i, f: f - 0.5 * max(0, i - 40), 0),
    "gain drift": (lambda i, f: f * (1.0 + 0.005 * max(0, i - 40)), 0),
    "step down": (lambda i, f: f - 40.0 * (i >= STEP), 0),
    "darker gain": (lambda i, f: f * (0.7 if i >= STEP else 1.0), 0),
    # Brighter light saturates the white van, which the blurred signature cannot tell: the
    # van may show as motion on the step's frame, until the background is relearned.
    "step up": (lambda i, f: f + 25.0 * (i >= STEP), 1),
    "saturating step": (lambda i, f: f + 40.0 * (i >= STEP), 10),
    "brighter gain": (lambda i, f: f * (1.3 if i >= STEP else 1.0), 10),
}


def relit_run(quiet: Quiet, change: Light, frames: int = 150) -> list[DifferenceFeatures]:
    """The empty start of the quiet clip with a light change applied to the decoded frames."""
    extractor = FeatureExtractor()
    features = []
    for i, frame in enumerate(read(quiet.clip.path, frames)):
        lit = np.clip(change(i, frame.astype(np.float32)), 0, 255).astype(np.uint8)
        features.append(extractor.extract(SIGNATURE(lit), quiet.width, quiet.height))
    return features


@pytest.mark.parametrize("name", LIGHT_CHANGES)
def test_light_changes_make_no_blobs(quiet: Quiet, name: str) -> None:
    change, settle = LIGHT_CHANGES[name]
    features = relit_run(quiet, change)
    blobs = [i for i, f in enumerate(features) if i >= WARMUP and f.blobs]
    assert [i for i in blobs if not STEP <= i < STEP + settle] == []


def test_a_person_standing_still_stays_foreground_for_a_while(quiet: Quiet) -> None:
    start, _ = quiet.clip.busy[0]
    extractor = FeatureExtractor()
    for s in quiet.signatures[:start]:
        extractor.extract(s, quiet.width, quiet.height)
    still = quiet.signatures[start + 20]
    seen = [bool(extractor.extract(still, quiet.width, quiet.height).blobs) for _ in range(300)]
    assert all(seen[:50]), "absorbed within 5 s"
    assert not any(seen[-50:]), "never absorbed"


@pytest.mark.parametrize(
    "bad",
    [
        {"learning_rate": 0.0},
        {"foreground_rate": 1.5},
        {"absorb_frames": 0},
        {"warmup_frames": -1},
        {"threshold": 0},
        {"pixel_delta": 256},
        {"min_area": 0.0},
        {"min_area": 0.6, "max_area": 0.5},
        {"max_area": 1.5},
        {"min_aspect": 2.0, "max_aspect": 1.0},
        {"shadow_ratio": (0.9, 0.5)},
        {"shadow_ratio": (0.5, 1.2)},
        {"shadow_share": 0.0},
    ],
)
def test_settings_are_validated(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MotionSettings(**bad)  # type: ignore[arg-type]


def test_features_are_zero_for_an_unchanged_scene_and_rise_when_a_person_walks_in(
    quiet: Quiet,
) -> None:
    start, end = quiet.clip.busy[0]
    extractor = FeatureExtractor()
    first = extractor.extract(quiet.signatures[0], quiet.width, quiet.height)
    assert (first.pixel, first.area, first.edge) == (1.0, 1.0, 1.0)  # nothing sent yet
    features = []
    for i, s in enumerate(quiet.signatures[1:end], start=1):
        features.append(extractor.extract(s, quiet.width, quiet.height))
        if i == WARMUP:
            extractor.mark_sent(s)
    empty = features[WARMUP : start - 1]
    busy = features[start - 1 :]
    assert max(f.pixel for f in empty) < 0.001 and max(f.area for f in empty) < 0.001
    assert max(f.edge for f in empty) < 0.03
    assert min(f.pixel for f in busy) > 0.005 and min(f.area for f in busy) > 0.01
    assert min(f.edge for f in busy) > max(f.edge for f in empty)
    assert float(np.median([f.edge for f in busy])) > 0.05
