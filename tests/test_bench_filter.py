"""`appliance bench filter`: the replay of frame-selection schemes, its baselines and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipelines.feedback import Query
from pipelines.frame_difference import DifferenceSettings, FrameDifferenceFilter
from pipelines.query_baselines import BaselineSearch
from pipelines.replay import ClipAnalysis, filter_decisions, sent_uniform, tracked_answers
from pipelines.replay_search import search_fewest
from pipelines.system_score import QueryReference, query_reference, score_replayed
from pipelines.tracker import TrackerSettings
from pipelines.types import Box, Detection

FPS = 10.0
TRACKER = TrackerSettings()
SETTINGS = DifferenceSettings(width=16, height=12, blur_kernel=1)


def person(x: float, y: float = 50.0) -> Detection:
    return Detection("person", 0.9, Box(x, y, x + 40.0, y + 100.0))


def synthetic_clip(detections: list[list[Detection]]) -> ClipAnalysis:
    """A clip whose JPEG detections equal the original ones: only frame selection matters."""
    n = len(detections)
    blank = np.zeros((SETTINGS.height, SETTINGS.width), dtype=np.uint8)
    return ClipAnalysis(
        timestamps=[i / FPS for i in range(n)],
        raw_detections=detections,
        jpeg_detections=detections,
        jpeg_sizes=[1000 + i for i in range(n)],
        signatures=[blank] * n,
    )


def walking_clip(frames: int = 60, speed_px_per_frame: float = 2.0) -> ClipAnalysis:
    return synthetic_clip([[person(10.0 + speed_px_per_frame * i)] for i in range(frames)])


def ref(clip: ClipAnalysis) -> QueryReference:
    return query_reference(clip.timestamps, clip.raw_detections, TRACKER)


def test_every_frame_of_the_reference_detections_scores_perfectly() -> None:
    clip = walking_clip()
    score = score_replayed(clip.jpeg_detections, tuple(range(clip.frames)), ref(clip), TRACKER)
    assert score.boxes.f1 == pytest.approx(1.0) and score.boxes.f1_busy == pytest.approx(1.0)
    assert score.counts.accuracy == pytest.approx(1.0)
    assert score.events.recall == 1.0 and score.events.precision == 1.0


def test_uniform_every_frame_equals_all_frames() -> None:
    clip = walking_clip()
    assert sent_uniform(clip.frames, 1) == tuple(range(clip.frames))
    search = BaselineSearch(clip, ref(clip), TRACKER, Query.BOXES)
    assert search.score(sent_uniform(clip.frames, 1)) == search.all_frames().score
    assert sent_uniform(10, 3) == (0, 3, 6, 9)
    with pytest.raises(ValueError):
        sent_uniform(10, 0)


def test_frames_not_sent_are_answered_by_predicting_tracks_forward() -> None:
    clip = walking_clip()
    answers = tracked_answers(clip.jpeg_detections, clip.timestamps, (0, 2, 4, 6, 8), TRACKER)
    # Confirmed once two hits span 0.2 s: at the second frame sent, not before.
    assert answers[0] == [] and answers[1] == [] and len(answers[2]) == 1
    # Frame 5 was not sent: the track, moving 2 px a frame, is predicted to where the person is.
    (box,) = [b.box for b in answers[5]]
    assert box.x1 == pytest.approx(clip.jpeg_detections[5][0].box.x1)
    # After the last sent frame the track keeps moving at its velocity.
    (late,) = [b.box for b in answers[20]]
    assert late.x1 == pytest.approx(clip.jpeg_detections[20][0].box.x1)


def test_nothing_is_known_before_the_first_frame_sent() -> None:
    clip = walking_clip(frames=10)
    answers = tracked_answers(clip.jpeg_detections, clip.timestamps, (5, 6, 7), TRACKER)
    assert all(a == [] for a in answers[:7])
    assert len(answers[7]) == 1


def test_sending_fewer_frames_of_a_moving_object_costs_accuracy() -> None:
    # Held between frames, the box of someone walking 2 px a frame goes stale.
    clip = walking_clip()
    search = BaselineSearch(clip, ref(clip), TRACKER, Query.BOXES)
    every = [search.score(sent_uniform(clip.frames, k)).boxes.f1 for k in (1, 8, 16)]
    assert every[0] > every[1] > every[2]


def test_search_returns_the_fewest_frames_reaching_the_target() -> None:
    # f1 is not monotone in the frame count: the search must still find the fewest frames.
    f1_by_count = {1: 0.2, 2: 0.9, 3: 0.5, 4: 0.95, 5: 1.0}
    candidates = [(float(n), tuple(range(n))) for n in (5, 4, 3, 2, 1)]

    def f1_of(sent: tuple[int, ...]) -> float:
        return f1_by_count[len(sent)]

    found = search_fewest(candidates, f1_of, target=0.85)
    assert (found.parameter, len(found.sent), found.reached) == (2.0, 2, True)
    assert search_fewest(candidates, f1_of, target=0.95).parameter == 4.0
    missed = search_fewest(candidates, f1_of, target=1.5)
    assert (missed.parameter, missed.reached) == (5.0, False)
    assert missed.candidates == 5


def test_search_names_a_sent_set_by_the_first_parameter_giving_it() -> None:
    candidates = [(1.0, (0, 1)), (2.0, (0, 1)), (3.0, (0,))]
    found = search_fewest(candidates, lambda sent: 1.0 if len(sent) == 2 else 0.0, 0.9)
    assert (found.parameter, found.candidates) == (1.0, 2)


def test_uniform_search_finds_the_largest_step_reaching_the_target() -> None:
    clip = walking_clip()
    search = BaselineSearch(clip, ref(clip), TRACKER, Query.BOXES)
    target = search.score(sent_uniform(clip.frames, 4)).boxes.f1
    found = search.uniform(target)
    assert found.reached and found.score.boxes.f1 >= target
    assert len(found.sent) <= len(sent_uniform(clip.frames, 4))
    for k in range(int(found.parameter) + 1, 11):
        assert search.score(sent_uniform(clip.frames, k)).boxes.f1 < target


def test_signature_replay_decides_as_the_camera_node_filter() -> None:
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)]
    patch_rows = {3: 24, 6: 16, 9: 2, 10: 2, 11: 2, 12: 24, 30: 48}  # nothing from 13 to 29
    for i in range(1, 40):
        frame = frames[-1].copy()
        rows = patch_rows.get(i, 0)
        frame[:rows, :16] = rng.integers(0, 256, dtype=np.uint8)
        frames.append(frame)
    timestamps = [i / FPS for i in range(len(frames))]
    settings = DifferenceSettings(width=16, height=12, threshold=0.05, max_interval_s=1.0)
    node_filter = FrameDifferenceFilter(settings)
    expected = [node_filter.decide(f, t) for f, t in zip(frames, timestamps, strict=True)]
    signatures = [node_filter.signature(f) for f in frames]
    assert filter_decisions(signatures, timestamps, settings) == expected
    assert {d.reason.value for d in expected} >= {"first", "changed", "keepalive", "unchanged"}


def test_static_threshold_search_without_keepalive() -> None:
    # Signatures that change by one more column each frame: higher thresholds send fewer.
    frames = 30
    signatures = []
    for i in range(frames):
        sig = np.zeros((SETTINGS.height, SETTINGS.width), dtype=np.uint8)
        sig[:, : i % SETTINGS.width] = 255
        signatures.append(sig)
    walking = walking_clip(frames)
    clip = ClipAnalysis(
        timestamps=[i / FPS for i in range(frames)],
        raw_detections=walking.raw_detections,
        jpeg_detections=walking.jpeg_detections,
        jpeg_sizes=[100] * frames,
        signatures=signatures,
    )
    found = BaselineSearch(clip, ref(clip), TRACKER, Query.BOXES).static_threshold(SETTINGS, 1.0)
    assert found.reached and found.score.boxes.f1 == pytest.approx(1.0)
    assert len(found.sent) <= frames


APPLIANCE = [sys.executable, "-m", "appliance.cli", "--log-level", "WARNING"]
BASELINES = ("all_frames", "static_threshold", "uniform")
KEYS = {"frames_sent", "sent_fraction", "bytes_sent", "boxes", "counts", "events"}


def run_bench(cache_dir: Path, *extra: str) -> dict[str, Any]:
    args = ["bench", "filter", "--video", "vtest", "--frames", "60", "--cache-dir", str(cache_dir)]
    result = subprocess.run(
        [*APPLIANCE, *args, "--json", *extra],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"--json must print exactly one line, got: {result.stdout!r}"
    report: dict[str, Any] = json.loads(lines[0])
    return report


def test_bench_filter_on_vtest_and_its_cache(tmp_path: Path) -> None:
    first = run_bench(tmp_path, "--no-cache", "--query", "boxes")
    assert first["frames"] == 60 and first["fps"] == 10.0 and not first["cached"]
    assert first["query"] == "boxes" and first.keys() >= KEYS
    assert 0 < first["frames_sent"] <= first["frames"]
    for name in BASELINES:
        baseline = first["baselines"][name]
        assert baseline.keys() >= KEYS, name
        assert 0 < baseline["frames_sent"] <= first["frames"]
    everything = first["baselines"]["all_frames"]
    assert everything["frames_sent"] == first["frames"]
    # Every frame sent: differs from the reference only by what JPEG does to the detector.
    assert everything["boxes"]["f1"] >= 0.9
    for name in ("static_threshold", "uniform"):
        searched = first["baselines"][name]
        assert not searched["reached"] or searched["boxes"]["f1"] >= first["tuned_to"] - 1e-4
    assert first["tuned_to"] == first["boxes"]["f1"]
    assert first["filter_ms_per_frame"] > 0 and sum(first["reasons"].values()) == 60

    second = run_bench(tmp_path, "--query", "boxes")
    assert second["cached"]  # the detector did not run again
    for key in ("frames_sent", "boxes", "counts", "events", "baselines"):
        assert second[key] == first[key]
