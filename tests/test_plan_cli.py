"""`appliance plan profile | layout | choose` as a user runs them, on a real YOLOv8n export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from pipelines.edgent.layout import ModelLayout
from pipelines.edgent.regression import DeviceProfile
from tests.edgent_models import export_yolov8n, live_weights
from tests.test_models_cli import PROJECT_ROOT, Run

SIZE = 96


def run_plan(args: list[str], cwd: Path) -> Run:
    argv = ["--log-level", "WARNING", "plan", *args]
    code = f"import sys\nfrom appliance.cli import main\nsys.exit(main({argv!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plan")
    path = folder / "yolov8n-96.onnx"
    onnx.save(live_weights(onnx.load(str(export_yolov8n(folder, SIZE)))), str(path))
    return path


@pytest.fixture(scope="module")
def profiled(model: Path) -> tuple[Run, Path]:
    output = model.parent / "profiles" / "edge.json"
    args = ["profile", "--model", str(model), "--device", "edge", "--runs", "3", "--threads", "1"]
    run = run_plan([*args, "--output", str(output), "--json"], model.parent)
    assert run.returncode == 0, run.stderr
    return run, output


def test_profile_writes_a_regression_per_op_type(model: Path, profiled: tuple[Run, Path]) -> None:
    run, output = profiled
    summary = json.loads(run.stdout)
    assert summary["device"] == "edge" and summary["output"] == str(output)
    ops = {n.op_type for n in onnx.load(str(model)).graph.node}
    assert set(summary["op_types"]) == ops
    assert summary["op_types"]["Conv"] == sum(
        n.op_type == "Conv" for n in onnx.load(str(model)).graph.node
    )
    profile = DeviceProfile.from_dict(json.loads(output.read_text()))
    assert profile.meta["models"][model.name]["wall_ms"] > 0 and profile.scale > 0


def test_profile_default_output_is_named_after_the_device(model: Path, tmp_path: Path) -> None:
    run = run_plan(["profile", "--model", str(model), "--device", "cam1", "--runs", "2"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "profiles" / "cam1.json").is_file()
    assert run.stdout.startswith(f"profiled cam1: written to profiles{Path('/')}cam1.json")
    assert "layers per op type: " in run.stdout and "Conv 64" in run.stdout


def test_layout_and_choose(model: Path, profiled: tuple[Run, Path], tmp_path: Path) -> None:
    _, profile = profiled
    layout_path = tmp_path / "layout.json"
    run = run_plan(["layout", "--model", str(model), "--output", str(layout_path)], tmp_path)
    assert run.returncode == 0, run.stderr
    layout = ModelLayout.from_dict(json.loads(layout_path.read_text()))
    assert len(layout.cuts) == len(layout.layers) + 1 == 234
    args = ["choose", "--exit", f"full={model}:1.0", "--device-profile", str(profile)]
    args += ["--edge-profile", str(profile), "--bandwidth", "0.25", "--deadline", "1000"]
    run = run_plan([*args, "--json"], tmp_path)
    assert run.returncode == 0, run.stderr
    plans = json.loads(run.stdout)["plans"]
    assert set(plans) == {"edgent", "device-only", "edge-only", "partition-only", "exit-only"}
    # Same machine at both ends and a slow link: nothing is gained by sending tensors.
    assert plans["edgent"]["cut_label"] == "device-only" and plans["edgent"]["meets"]
    assert not plans["edge-only"]["meets"]  # 55 KB of float16 image at 0.25 Mbit/s: > 1 s
    text = run_plan(args, tmp_path).stdout
    assert text.startswith("at 0.25 Mbit/s, requirement 1000 ms:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["profile", "--model", "no.onnx", "--device", "x"], "no.onnx: model file not found"),
        (["choose", "--exit", "bad", "--device-profile", "p", "--edge-profile", "p",
          "--bandwidth", "1", "--deadline", "10"], "expected NAME=MODEL.onnx:ACCURACY"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line_errors(tmp_path: Path, args: list[str], message: str) -> None:
    run = run_plan(args, tmp_path)
    assert run.returncode == 1
    assert len(run.stderr_lines) == 1
    assert run.stderr_lines[0].startswith("appliance: plan: ") and message in run.stderr


def test_accuracy_compares_exits_with_the_full_model_on_vtest(model: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.onnx"
    onnx.save(live_weights(onnx.load(str(model)), seed=7), str(other))
    args = ["accuracy", "--full", str(model), "--exit", f"same={model}", "--exit", f"other={other}"]
    run = run_plan([*args, "--frames", "4", "--step", "5", "--json"], tmp_path)
    assert run.returncode == 0, run.stderr
    same, different = json.loads(run.stdout)["exits"]
    assert (same["name"], same["frames"], same["f1"], same["count_accuracy"]) == (
        "same",
        4,
        1.0,
        1.0,
    )
    assert same["detections"] == same["reference_detections"]
    # Other weights find other things: it agrees with the full model less than the model itself.
    assert different["name"] == "other" and different["f1"] < 1.0
