"""The edge's result cache: near-duplicate frames are answered without the detector, never
stale and never for a frame that changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeCameraConfig, EdgeConfig
from cameras.protocol import FrameMeta
from pipelines.result_cache import ResultCache, ResultCacheSettings
from pipelines.types import Box, Detection
from tests.footage import vtest_frames

PEOPLE = [Detection("person", 0.9, Box(10, 10, 50, 110))]


def noisy(frame: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def test_near_duplicates_hit_and_changes_miss() -> None:
    frame, later = vtest_frames(100, 1)[0], vtest_frames(120, 1)[0]
    cache = ResultCache(ResultCacheSettings(ttl_s=5.0))
    cache.store(cache.signature(frame), PEOPLE, 0.0)
    assert cache.lookup(cache.signature(noisy(frame, 3, 1)), 1.0) == PEOPLE  # sensor noise
    assert cache.lookup(cache.signature(later), 2.0) is None  # people moved: 2 s later
    next_frame = vtest_frames(101, 1)[0]  # a tenth of a second on: people moved a few pixels
    assert cache.lookup(cache.signature(next_frame), 0.1) is None
    assert (cache.hits, cache.misses) == (1, 2)


def test_results_expire_and_hits_do_not_renew_them() -> None:
    frame = vtest_frames(100, 1)[0]
    cache = ResultCache(ResultCacheSettings(ttl_s=5.0))
    signature = cache.signature(frame)
    cache.store(signature, PEOPLE, 10.0)
    assert cache.lookup(signature, 14.0) == PEOPLE
    assert cache.lookup(signature, 15.5) is None  # older than the ttl, however similar
    assert cache.lookup(signature, 9.0) is None  # from before the analysis: never


def test_the_edge_answers_a_repeated_frame_from_the_cache(tmp_path: Path) -> None:
    config = EdgeConfig(data_dir=tmp_path, cameras=[EdgeCameraConfig(id="c", token="t" * 9)])
    box = EdgeBox(config)
    frame, moved = vtest_frames(100, 1)[0], vtest_frames(130, 1)[0]
    try:
        analyzer = box.analyzers["c"]
        first = analyzer.analyse(frame, FrameMeta(seq=0, captured_at=1e9), 1)
        again = analyzer.analyse(noisy(frame, 2, 7), FrameMeta(seq=1, captured_at=1e9 + 2), 1)
        changed = analyzer.analyse(moved, FrameMeta(seq=2, captured_at=1e9 + 3), 1)
        assert not first.from_cache and again.from_cache and not changed.from_cache
        assert again.detections == first.detections and first.detections
        assert box.store.totals().frames == 3  # a cached answer is still a stored frame
    finally:
        box.close()


def test_the_cache_can_be_turned_off(tmp_path: Path) -> None:
    config = EdgeConfig(
        data_dir=tmp_path,
        result_cache={"enabled": False},
        cameras=[EdgeCameraConfig(id="c", token="t" * 9)],
    )
    box = EdgeBox(config)
    frame = vtest_frames(100, 1)[0]
    try:
        box.analyzers["c"].analyse(frame, FrameMeta(seq=0, captured_at=1e9), 1)
        repeat = box.analyzers["c"].analyse(frame, FrameMeta(seq=1, captured_at=1e9 + 1), 1)
        assert not repeat.from_cache
    finally:
        box.close()
