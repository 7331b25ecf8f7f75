"""One model run at a time for all cameras, with the frames that waited meanwhile as one batch."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from appliance.edge.config import DetectorConfig
from appliance.edge.detector import build_edge_detector
from pipelines.detectors.batching import BatchRunner
from tests.footage import vtest_frames


def test_callers_that_wait_go_through_together() -> None:
    started, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def model(blob: Any) -> Any:
        seen.append(len(blob))
        if len(seen) == 1:  # hold the first run until the others are waiting
            started.set()
            release.wait(5)
        return blob[:, :1, 0, 0].astype(np.float32) * 2

    runner = BatchRunner(model, max_batch=8)
    blobs = [np.full((1, 3, 4, 4), i, np.float32) for i in range(5)]
    with ThreadPoolExecutor(5) as pool:
        first = pool.submit(runner.run, blobs[0])
        assert started.wait(5)
        rest = [pool.submit(runner.run, b) for b in blobs[1:]]
        while len(runner._waiting) < 4:  # the other four queue behind the busy model
            threading.Event().wait(0.01)
        release.set()
        outputs = [first.result(5)] + [f.result(5) for f in rest]
    assert seen == [1, 4]
    assert [float(o[0, 0]) for o in outputs] == [0.0, 2.0, 4.0, 6.0, 8.0]  # each its own row
    assert runner.counters.snapshot()["runs_by_batch"] == {"1": 1, "4": 1}


def test_shapes_are_not_mixed_and_the_limit_holds() -> None:
    runner = BatchRunner(lambda blob: np.zeros((len(blob), 1), np.float32), max_batch=2)
    runner._busy = True  # as if a run were going on: queue three, then let them through
    blobs = [np.zeros((1, 3, h, 8), np.float32) for h in (8, 8, 8, 16)]
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(runner.run, b) for b in blobs]
        while len(runner._waiting) < 4:
            threading.Event().wait(0.01)
        with runner._cond:
            runner._busy = False
            runner._cond.notify_all()
        for future in futures:
            assert future.result(5).shape == (1, 1)
    sizes = runner.counters.sizes
    assert runner.counters.images == 4 and max(sizes) <= 2 and sizes.get(1, 0) >= 1


def test_a_failed_run_fails_every_caller_of_its_batch() -> None:
    def broken(blob: Any) -> Any:
        raise RuntimeError("model exploded")

    runner = BatchRunner(broken, max_batch=4)
    with pytest.raises(RuntimeError, match="model exploded"):
        runner.run(np.zeros((1, 3, 4, 4), np.float32))
    assert not runner._busy  # the next caller is not locked out


def test_cameras_sharing_the_model_get_what_they_would_alone() -> None:
    edge = build_edge_detector(DetectorConfig(), Path("data"))
    detector = edge.make()
    frames = vtest_frames(200, 12)
    alone = [detector.detect(f) for f in frames]
    with ThreadPoolExecutor(4) as pool:  # four scheduler workers, one model
        together = list(pool.map(detector.detect, frames))
    for expected, got in zip(alone, together, strict=True):
        assert [d.label for d in got] == [d.label for d in expected]
        for a, b in zip(got, expected, strict=True):
            assert abs(a.confidence - b.confidence) < 1e-4
            assert max(abs(a.box.x1 - b.box.x1), abs(a.box.y2 - b.box.y2)) < 0.01
    counters = edge.snapshot()["batches"]
    assert isinstance(counters, dict) and counters["images"] == 24
