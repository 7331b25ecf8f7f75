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
    return appliance(["bench", "plan", *args], cwd)


def appliance(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`appliance --log-level WARNING ARGS` with this interpreter, in `cwd`."""
    argv = ["--log-level", "WARNING", *args]
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
    args += ["--held-out", "n64"]  # the profile fitted on n128 alone predicts n64
    done = bench(args, tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert 0.0 <= summary["deadline_met_rate"] <= 1.0
    assert summary["prediction_error"] >= 0.0
    assert set(summary["strategies"]) == STRATEGIES
    assert set(summary["regression_error"]) == {"n128", "n64"}
    assert summary["held_out"] == ["n64"]
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


def test_bench_plan_names_an_unknown_held_out_exit(exits: list[str], tmp_path: Path) -> None:
    done = bench(["--exit", exits[0], "--held-out", "ghost"], tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == "appliance: bench: --held-out ghost: no such exit"


def test_bench_plan_names_a_missing_model(tmp_path: Path) -> None:
    done = bench(["--exit", "full=nowhere.onnx:1.0"], tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == "appliance: bench: nowhere.onnx: model file not found"


def measure(exits: list[str], output: Path, cwd: Path) -> dict[str, dict[str, object]]:
    """`appliance plan accuracy --output` with the first exit as the full model."""
    paths = {spec.partition("=")[0]: spec.partition("=")[2].rpartition(":")[0] for spec in exits}
    argv = ["plan", "accuracy", "--full", next(iter(paths.values()))]
    argv += [a for name, path in paths.items() for a in ("--exit", f"{name}={path}")]
    argv += ["--frames", "2", "--step", "10", "--output", str(output)]
    done = appliance(argv, cwd)
    assert done.returncode == 0, done.stderr
    written: dict[str, dict[str, object]] = json.loads(output.read_text())
    return written


def test_bench_plan_plans_with_measured_accuracies(exits: list[str], tmp_path: Path) -> None:
    accuracy_file = tmp_path / "accuracy.json"
    written = measure(exits, accuracy_file, tmp_path)
    assert written["n128"]["f1"] == 1.0  # the full model against itself
    undeclared = [spec.rpartition(":")[0] for spec in exits]
    args = [a for spec in undeclared for a in ("--exit", spec)]
    args += ["--accuracy-file", str(accuracy_file), "--bandwidths", "50", "--deadlines", "200"]
    done = bench([*args, "--runs", "1", "--camera-slowdown", "2", "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    source = "measured: F1 on 2 frames of vtest"
    assert summary["exits"] == {
        name: {"accuracy": figures["f1"], "source": source} for name, figures in written.items()
    }
    for row in summary["table"]:
        assert row["accuracy"] == written[row["exit"]]["f1"]


def test_bench_plan_names_an_exit_missing_from_the_accuracy_file(
    exits: list[str], tmp_path: Path
) -> None:
    accuracy_file = tmp_path / "accuracy.json"
    measure(exits[:1], accuracy_file, tmp_path)
    done = bench(
        ["--exit", exits[1].rpartition(":")[0], "--accuracy-file", str(accuracy_file)], tmp_path
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"appliance: bench: --exit n64: {accuracy_file} has no accuracy for exit 'n64'"
        " (it has: n128)"
    )
