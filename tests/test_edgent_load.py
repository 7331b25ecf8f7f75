"""Edgent re-plans when load changes: each side's load is measured from the times real frames
took against what its profile predicts, and a busy edge box moves work to the camera."""

from __future__ import annotations

from pathlib import Path

import pytest

from cameras.collaborative import collaborative_uploader
from cameras.edge_client import EdgeUplink
from cameras.edgent_config import CameraEdgentConfig
from cameras.edgent_plan import OnlinePlans
from pipelines.edgent.load import LoadMeter, LoadSettings
from tests.edgent_fixtures import FIXTURES
from tests.edgent_runtime import EXIT, camera_edgent, slow_camera_profile

MBIT = 1e6


def test_load_is_measured_over_predicted_time_smoothed_and_never_below_one() -> None:
    meter = LoadMeter(LoadSettings(smoothing=0.5))
    assert meter.load == 1.0
    meter.observe(1000.0, 10.0)  # the session's warm-up: not its load
    assert meter.load == 1.0
    meter.observe(30.0, 10.0)
    assert meter.load == pytest.approx(3.0)
    meter.observe(10.0, 10.0)
    assert meter.load == pytest.approx(2.0)
    meter.observe(5.0, 0.2)  # an empty part predicts nothing to compare with
    assert meter.load == pytest.approx(2.0)
    for _ in range(20):
        meter.observe(5.0, 10.0)  # faster than its profile
    assert meter.load == 1.0
    with pytest.raises(ValueError, match="smoothing"):
        LoadMeter(LoadSettings(smoothing=0.0))


def plans_for(model: Path, camera_profile: Path) -> tuple[OnlinePlans, EdgeUplink]:
    config = CameraEdgentConfig.model_validate(
        camera_edgent(
            model,
            device_profile=str(camera_profile),
            edge_profile=str(FIXTURES / "edge.json"),
            deadline_ms=50.0,
        )
    )
    uplink = EdgeUplink("http://127.0.0.1:9", "cam", "token-123")
    plans = collaborative_uploader(config, uplink).plans
    assert isinstance(plans, OnlinePlans)
    return plans, uplink


def test_a_busy_edge_moves_the_partition_towards_the_camera(
    edgent_model: Path, tmp_path: Path
) -> None:
    # A Pi-class camera: while the edge box is idle, the edge runs most of the model.
    plans, uplink = plans_for(edgent_model, slow_camera_profile(tmp_path))
    for second in range(20):  # a fast uplink: 200 kB in 16 ms
        plans.record_transfer(200_000, 0.016, float(second))
    idle = plans.choose(20.0)
    assert idle.status["edge_load"] == 1.0
    layout = next(e.layout for e in plans.planner.replanner.exits if e.name == EXIT)
    estimator = plans.planner.replanner.estimator
    for _ in range(30):  # every frame's tail (with its wait for a worker) takes 40x its profile
        choice = plans.choose(20.0)
        head_ms, tail_ms = estimator.compute_ms(layout, choice.cut)
        plans.record_times(choice, head_ms, max(tail_ms, 1.0) * 40.0)
    busy = plans.choose(20.0)
    assert busy.status["edge_load"] > 10.0, busy.status
    assert busy.cut > idle.cut, (idle.status, busy.status)
    assert busy.status["plan"]["meets"], busy.status
    assert busy.status["reason"].endswith("misses the requirement")
    uplink.close()
