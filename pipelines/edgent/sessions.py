"""onnxruntime sessions as the planner measures and runs them.

Graph optimisation stays at the basic level (constant folding, no node fusion) so that every
node of the ONNX graph is one kernel in the profile and a cut between any two nodes costs what
the per-layer model predicts; full fusion would be ~25% faster on CPU but renames and merges
the layers the regression is fitted on.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from pipelines.detectors.onnx_yolo import choose_providers


def session_options(*, threads: int | None = None, profile_prefix: str | None = None) -> Any:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return options


def open_session(model: bytes | str, options: Any, providers: tuple[str, ...] | None = None) -> Any:
    return ort.InferenceSession(model, options, providers=choose_providers(providers))


def random_feeds(session: Any, seed: int = 0) -> dict[str, npt.NDArray[np.float32]]:
    """Inputs of the session's static shapes (symbolic dims taken as 1), values in [0, 1)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for value in session.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in value.shape]
        feeds[value.name] = rng.random(shape, dtype=np.float32)
    return feeds


def median_run_ms(
    session: Any,
    feeds: Mapping[str, npt.NDArray[Any]],
    runs: int,
    warmup: int = 3,
    idle_gap_s: float = 0.0,
) -> float:
    """Median wall time of `runs` runs after `warmup`, each after `idle_gap_s` of sleep (runs
    spaced as a camera's frames are take longer than back-to-back ones: caches go cold)."""
    for _ in range(warmup):
        session.run(None, dict(feeds))
    times = []
    for _ in range(runs):
        if idle_gap_s > 0:
            time.sleep(idle_gap_s)
        start = time.perf_counter()
        session.run(None, dict(feeds))
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)
