"""`appliance plan profile | layout | choose` as a user runs them, on a real YOLOv8n export."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
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
        (["profile", "--model", "no.onnx", "--device", "x", "--idle-gap-ms", "-5"],
         "--idle-gap-ms -5: must be within [0, 10000]"),
        (["choose", "--exit", "bad", "--device-profile", "p", "--edge-profile", "p",
          "--bandwidth", "1", "--deadline", "10"], "expected NAME=MODEL.onnx[:ACCURACY]"),
        (["choose", "--exit", "full=m.onnx", "--device-profile", "p", "--edge-profile", "p",
          "--bandwidth", "1", "--deadline", "10"], "--exit full: no accuracy: declare it"),
        (["choose", "--exit", "full=m.onnx", "--accuracy-file", "none.json", "--device-profile",
          "p", "--edge-profile", "p", "--bandwidth", "1", "--deadline", "10"],
         "none.json: accuracy file not found"),
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


@dataclass(frozen=True)
class Measured:
    run: Run
    output: Path
    """The accuracy file written."""
    other: Path
    """The exit with other weights than the full model's."""


@pytest.fixture(scope="module")
def measured(model: Path) -> Measured:
    """`plan accuracy --output` on vtest: the full model against itself and other weights."""
    other = model.parent / "other.onnx"
    onnx.save(live_weights(onnx.load(str(model)), seed=7), str(other))
    output = model.parent / "accuracy.json"
    args = ["accuracy", "--full", str(model), "--exit", f"full={model}", "--exit", f"other={other}"]
    run = run_plan(
        [*args, "--frames", "3", "--step", "5", "--output", str(output), "--json"], model.parent
    )
    assert run.returncode == 0, run.stderr
    return Measured(run, output, other)


def test_accuracy_output_is_the_figures_printed(model: Path, measured: Measured) -> None:
    run, output, other = measured.run, measured.output, measured.other
    printed = {e.pop("name"): e for e in json.loads(run.stdout)["exits"]}
    assert json.loads(run.stdout)["output"] == str(output)
    written = json.loads(output.read_text())
    assert set(written) == {"full", "other"}
    for name, path in (("full", model), ("other", other)):
        assert written[name] == {
            **printed[name],
            "model": str(path),
            "full_model": str(model),
            "video": "vtest",
        }
    assert (written["full"]["f1"], written["full"]["count_accuracy"]) == (1.0, 1.0)
    assert written["full"]["detections"] == written["full"]["reference_detections"]
    assert written["other"]["reference_detections"] == written["full"]["reference_detections"]
    assert written["other"]["frames"] == 3


def choose_args(profile: Path, *exits: str) -> list[str]:
    args = ["choose", *[a for e in exits for a in ("--exit", e)], "--device-profile", str(profile)]
    return [*args, "--edge-profile", str(profile), "--bandwidth", "5", "--deadline", "1000"]


def test_choose_plans_with_the_measured_accuracies(
    model: Path, profiled: tuple[Run, Path], measured: Measured, tmp_path: Path
) -> None:
    output, other = measured.output, measured.other
    written = json.loads(output.read_text())
    args = choose_args(profiled[1], f"full={model}", f"other={other}")
    run = run_plan([*args, "--accuracy-file", str(output), "--json"], tmp_path)
    assert run.returncode == 0, run.stderr
    chosen = json.loads(run.stdout)
    source = "measured: F1 on 3 frames of vtest"
    assert chosen["exits"] == {
        "full": {"accuracy": 1.0, "source": source},
        "other": {"accuracy": written["other"]["f1"], "source": source},
    }
    accuracy = {name: e["accuracy"] for name, e in chosen["exits"].items()}
    for plan in chosen["plans"].values():
        assert plan["accuracy"] == accuracy[plan["exit"]]
    # The fixed baselines run the most accurate exit: the one that agrees with itself.
    assert chosen["plans"]["device-only"]["exit"] == "full"
    text = run_plan([*args, "--accuracy-file", str(output)], tmp_path).stdout
    assert f"  full         1.000  ({source})" in text.splitlines()


def test_a_declared_accuracy_wins_over_the_file(
    model: Path, profiled: tuple[Run, Path], measured: Measured, tmp_path: Path
) -> None:
    output, other = measured.output, measured.other
    args = choose_args(profiled[1], f"full={model}", f"other={other}:0.5")
    run = run_plan([*args, "--accuracy-file", str(output), "--json"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["exits"]["other"] == {"accuracy": 0.5, "source": "declared"}


def test_an_exit_missing_from_the_file_is_named(
    model: Path, profiled: tuple[Run, Path], measured: Measured, tmp_path: Path
) -> None:
    output = measured.output
    args = choose_args(profiled[1], f"full={model}", f"ghost={model}")
    run = run_plan([*args, "--accuracy-file", str(output)], tmp_path)
    assert run.returncode == 1
    assert run.stderr_lines == [
        f"appliance: plan: --exit ghost: {output} has no accuracy for exit 'ghost'"
        " (it has: full, other)"
    ]


def test_a_file_that_is_not_from_plan_accuracy_is_refused(
    model: Path, profiled: tuple[Run, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"full": {"f1": 2.0}}))
    run = run_plan(
        [*choose_args(profiled[1], f"full={model}"), "--accuracy-file", str(bad)], tmp_path
    )
    assert run.returncode == 1 and len(run.stderr_lines) == 1
    assert f"{bad}: not an accuracy file from `plan accuracy`: full.f1: " in run.stderr
