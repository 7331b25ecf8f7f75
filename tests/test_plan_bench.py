"""`appliance bench plan --json` end to end on two small YOLOv8n exports (structure, not speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from tests.edgent_models import export_yolov8n, live_weights
from tests.test_models_cli import PROJECT_ROOT

STRATEGIES = {"edgent", "device-only", "edge-only", "partition-only", "exit-only"}


@pytest.fixture(scope="module")
def exits(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("bench-plan")
    specs = []
    for size, accuracy in ((128, 1.0), (64, 0.6)):
        path = folder / f"yolov8n-{size}.onnx"
        (folder / str(size)).mkdir()
        exported = export_yolov8n(folder / str(size), size)
        onnx.save(live_weights(onnx.load(str(exported))), str(path))
        specs.append(f"n{size}={path}:{accuracy}")
    return specs


def bench(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = ["--log-level", "WARNING", "bench", "plan", *args]
    code = f"import sys\nfrom appliance.cli import main\nsys.exit(main({argv!r}))"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_bench_plan_prints_the_table_and_both_summary_figures(
    exits: list[str], tmp_path: Path
) -> None:
    args = [a for spec in exits for a in ("--exit", spec)]
    args += ["--bandwidths", "2,50", "--deadlines", "15,200", "--runs", "1"]
    args += ["--camera-slowdown", "3", "--plot", str(tmp_path / "plan.png"), "--json"]
    done = bench(args, tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert 0.0 <= summary["deadline_met_rate"] <= 1.0
    assert summary["prediction_error"] >= 0.0
    assert set(summary["strategies"]) == STRATEGIES
    assert set(summary["regression_error"]) == {"n128", "n64"}
    table = summary["table"]
    assert len(table) == 2 * 2 * len(STRATEGIES)
    for row in table:
        assert row["exit"] in ("n128", "n64") and row["predicted_ms"] > 0
        assert row["met"] == (
            row["measured_ms"] is not None and row["measured_ms"] <= row["deadline_ms"]
        )
        if row["strategy"] == "device-only":
            assert (row["exit"], row["partition"]) == ("n128", "device-only")
        if row["strategy"] == "edge-only":
            assert (row["exit"], row["partition"]) == ("n128", "edge-only")
    assert (tmp_path / "plan.png").stat().st_size > 10_000


def test_bench_plan_rejects_a_bad_bandwidth_list(exits: list[str], tmp_path: Path) -> None:
    done = bench(["--exit", exits[0], "--bandwidths", "fast"], tmp_path)
    assert done.returncode == 2
    assert "not comma-separated numbers: 'fast'" in done.stderr


def test_bench_plan_names_a_missing_model(tmp_path: Path) -> None:
    done = bench(["--exit", "full=nowhere.onnx:1.0"], tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == "appliance: bench: nowhere.onnx: model file not found"
