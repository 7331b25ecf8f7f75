"""`appliance plan profile`: measure this machine's per-layer latencies and fit its regressions.

Each model is run with onnxruntime's profiler; each node's median kernel time is one sample of
its op type. Two calibrations make the sum of layer predictions a run's wall time: the fixed
cost of a session run (a one-node model's run time) and the profiler's own overhead (the ratio
of unprofiled wall time, less that fixed cost, to the profiled kernel times). Each profiled
model then gets its own factor (its wall time over what the fits predict for it), which the
planner applies to that model's layers. Wall times are measured with the runs spaced by
`idle_gap_ms`, as a camera's frames are: a run after an idle gap takes 2-6% longer here than
back-to-back runs, which a planner with 10% to spare cannot ignore.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from pipelines.edgent.layers import LayerFeatures, layers_key
from pipelines.edgent.regression import DeviceProfile, LayerSample, fit_profile
from pipelines.edgent.sessions import median_run_ms, open_session, random_feeds, session_options
from pipelines.edgent.split import graph_features
from pipelines.edgent.trace import node_timings, samples

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProfileSettings:
    device: str
    models: tuple[Path, ...]
    runs: int = 20
    threads: int | None = None
    providers: tuple[str, ...] | None = None
    idle_gap_ms: float = 100.0
    """Sleep before each timed unprofiled run (a camera at 10 frames/s idles between them)."""


@dataclass(frozen=True)
class ModelMeasurement:
    path: Path
    samples: list[LayerSample]
    kernel_ms: float
    """Sum of the nodes' median profiled kernel times."""
    wall_ms: float
    """Median wall time of an unprofiled run."""
    layers: tuple[LayerFeatures, ...] | None = None
    """The model's layers as the planner sees them (None without static shapes)."""


def measure_model(path: Path, settings: ProfileSettings) -> ModelMeasurement:
    model = str(path)
    plain = open_session(model, session_options(threads=settings.threads), settings.providers)
    feeds = random_feeds(plain)
    wall = median_run_ms(plain, feeds, settings.runs, idle_gap_s=settings.idle_gap_ms / 1000.0)
    with tempfile.TemporaryDirectory(prefix="edgent-profile-") as folder:
        options = session_options(threads=settings.threads, profile_prefix=f"{folder}/trace")
        profiled = open_session(model, options, settings.providers)
        for _ in range(settings.runs):
            profiled.run(None, feeds)
        trace = Path(profiled.end_profiling())
        events = json.loads(trace.read_text())
    loaded = onnx.load(model)
    graph = graph_features(loaded)
    timings = node_timings(events, graph)
    kernel = sum(t.ms for t in timings)
    log.info("%s: %d layers, %.2f ms profiled, %.2f ms wall", path, len(timings), kernel, wall)
    whole = len(graph) == len(loaded.graph.node)  # node names unique: every layer keyed
    layers = tuple(graph.values()) if whole else None
    return ModelMeasurement(path, samples(timings), kernel, wall, layers)


def run_overhead_ms(settings: ProfileSettings) -> float:
    """Wall time of a session run that computes nearly nothing: the fixed cost per run."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "overhead",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    session = open_session(
        model.SerializeToString(), session_options(threads=settings.threads), settings.providers
    )
    return median_run_ms(session, {"x": np.zeros((1, 8), np.float32)}, settings.runs * 5)


def profile_device(settings: ProfileSettings) -> DeviceProfile:
    if not settings.models:
        raise ValueError("name at least one model to profile")
    overhead = run_overhead_ms(settings)
    measured = [measure_model(path, settings) for path in settings.models]
    all_samples = [s for m in measured for s in m.samples]
    meta = {
        "host": platform.node(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "threads": settings.threads,
        "runs": settings.runs,
        "models": {m.path.name: {"wall_ms": m.wall_ms, "kernel_ms": m.kernel_ms} for m in measured},
    }
    fitted = fit_profile(settings.device, all_samples, overhead_ms=overhead, meta=meta)
    scale, per_layer = calibrate(fitted, measured)
    calibrated = replace(fitted, scale=scale, per_layer_ms=per_layer)
    return replace(calibrated, model_factors=model_factors(calibrated, measured))


def model_factors(profile: DeviceProfile, measured: Sequence[ModelMeasurement]) -> dict[str, float]:
    """Each model's measured run time (less the run overhead) over the fits' prediction for it."""
    factors = {}
    for m in measured:
        if m.layers is None:
            continue
        predicted = sum(profile.layer_ms(f) for f in m.layers)
        if predicted > 0 and m.wall_ms > profile.overhead_ms:
            factors[layers_key(m.layers)] = (m.wall_ms - profile.overhead_ms) / predicted
    return factors


def calibrate(profile: DeviceProfile, measured: Sequence[ModelMeasurement]) -> tuple[float, float]:
    """`scale` and `per_layer_ms` that best turn summed layer fits into the measured wall times.

    wall - overhead = scale * (sum of fitted layer times) + per_layer_ms * layers, by least
    squares over the models profiled; with one model (or all alike) only the scale is fitted.
    """
    predicted = np.array([sum(profile.layer_ms(s.features) for s in m.samples) for m in measured])
    layers = np.array([len(m.samples) for m in measured], dtype=np.float64)
    wall = np.array([max(m.wall_ms - profile.overhead_ms, 0.0) for m in measured])
    if len(measured) >= 2 and np.ptp(predicted / layers) > 0:
        (scale, per_layer), *_ = np.linalg.lstsq(np.stack([predicted, layers], 1), wall, rcond=None)
        if scale > 0:
            return float(scale), float(per_layer)
    return float(wall.sum() / max(predicted.sum(), 1e-9)), 0.0


def save_profile(profile: DeviceProfile, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(profile.to_dict(), indent=1) + "\n")


def load_profile(path: Path) -> DeviceProfile:
    return DeviceProfile.from_dict(json.loads(path.read_text()))


def load_model(path: Path) -> onnx.ModelProto:
    return onnx.load(str(path))


def model_paths(paths: Sequence[str]) -> tuple[Path, ...]:
    return tuple(Path(p) for p in paths)
