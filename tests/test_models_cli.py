"""`appliance models list` as a user runs it, on ONNX models the tests build (tests/onnx_models).

Every run is the real command in a subprocess: exit code, stdout and the one stderr line count.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import yaml

from tests.onnx_models import candidates, constant_model

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NAMES = {0: "person", 1: "car"}
RUN_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_models(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, python: str = ""
) -> Run:
    """`appliance --log-level WARNING models ARGS` with this interpreter, in `cwd`.

    Ultralytics keeps its settings under YOLO_CONFIG_DIR: a folder of the test, not ~/.config.
    `python` is code run before the CLI in the same process (to take a package away, say).
    """
    environment = dict(os.environ, YOLO_CONFIG_DIR=str(cwd / "ultralytics-config"))
    environment["PYTHONPATH"] = str(PROJECT_ROOT)
    environment.update(env or {})
    argv = ["--log-level", "WARNING", "models", *args]
    code = f"{python}\nimport sys\nfrom appliance.cli import main\nsys.exit(main({argv!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def edge_config(tmp_path: Path, model_path: str) -> Path:
    config = {
        "detector": {"kind": "yolo-onnx", "yolo_onnx": {"model_path": model_path}},
        "cameras": [{"id": "cam", "token": "t" * 16}],
    }
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def person_car_model(path: Path, side: int = 320) -> Path:
    """A model shaped like an Ultralytics export, with the metadata Ultralytics writes."""
    rows = [(100.0, 100.0, 50.0, 80.0, (0.9, 0.0))]
    constant_model(path, candidates(rows), input_shape=(1, 3, side, side), names=NAMES)
    model = onnx.load(str(path))
    meta = {"names": str(NAMES), "imgsz": f"[{side}, {side}]", "task": "detect", "stride": "32"}
    onnx.helper.set_model_props(model, meta)
    onnx.save(model, str(path))
    return path


def test_list_describes_a_configured_onnx_model(tmp_path: Path) -> None:
    model = person_car_model(tmp_path / "people.onnx")
    run = run_models(["list", "--config", str(edge_config(tmp_path, str(model)))], tmp_path)
    assert run.returncode == 0, run.stderr
    text = run.stdout
    assert "yolo-onnx" in text and str(model) in text
    assert f"yes, 0.0 MB ({model.stat().st_size} bytes)" in text
    assert "images [1, 3, 320, 320] tensor(float): letterboxed to 320 px" in text
    assert "output0 [1, 6, 1] tensor(float)" in text
    assert "2 from the model metadata: person, car" in text
    assert "[320, 320] (model metadata)" in text
    assert "CPUExecutionProvider" in text


def test_list_as_json(tmp_path: Path) -> None:
    model = person_car_model(tmp_path / "people.onnx", side=160)
    run = run_models(
        ["list", "--config", str(edge_config(tmp_path, str(model))), "--json"], tmp_path
    )
    assert run.returncode == 0, run.stderr
    [detector] = json.loads(run.stdout)["detectors"]
    info = detector["model"]
    assert detector["kind"] == "yolo-onnx"
    assert info["exists"] is True and info["size_bytes"] == model.stat().st_size
    assert info["input_size"] == 160 and info["imgsz"] == [160, 160]
    assert info["inputs"] == [
        {"name": "images", "shape": [1, 3, 160, 160], "type": "tensor(float)"}
    ]
    assert info["outputs"][0]["shape"] == [1, 6, 1]
    assert info["labels"] == ["person", "car"] and info["labels_from"] == "model metadata"
    assert info["metadata"]["task"] == "detect"
    assert "CPUExecutionProvider" in info["providers"] and info["problem"] is None


def test_list_the_default_detector(tmp_path: Path) -> None:
    config = PROJECT_ROOT / "configs" / "edge.yaml"
    settings = {"YOLO_CONFIG_DIR": str(tmp_path / "ultralytics-config")}
    # From the project folder, as the README runs it: the model set-up made is found there.
    run = run_models(["list", "--config", str(config), "--json"], PROJECT_ROOT, settings)
    assert run.returncode == 0, run.stderr
    [detector] = json.loads(run.stdout)["detectors"]
    assert detector["kind"] == "yolo-onnx"
    assert detector["model"]["path"] == "data/models/yolov3-tiny-416.onnx"
    assert detector["model"]["imgsz"] == [416, 416] and len(detector["labels"]) == 80
    assert detector["labels"][:4] == ["person", "bicycle", "car", "motorbike"]


def test_list_hog(tmp_path: Path) -> None:
    config = tmp_path / "hog.yaml"
    config.write_text("cameras: [{id: a, token: a-token-1}]\ndetector: {kind: hog}\n")
    run = run_models(["list", "--config", str(config), "--json"], tmp_path)
    assert run.returncode == 0, run.stderr
    [detector] = json.loads(run.stdout)["detectors"]
    assert detector["kind"] == "hog" and detector["model"] is None
    assert detector["labels"] == ["person"]


def test_missing_model_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "models" / "nowhere.onnx")
    run = run_models(["list", "--config", str(edge_config(tmp_path, missing))], tmp_path)
    assert run.returncode == 1
    [line] = run.stderr_lines
    assert line.startswith(f"appliance: models: {missing}: model file not found;")
    assert "fall back to OpenCV's HOG people detector" in line
    assert re.search(r"^exists +no$", run.stdout, re.MULTILINE), run.stdout


def test_garbage_model_file(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(np.random.default_rng(1).bytes(4096))
    run = run_models(["list", "--config", str(edge_config(tmp_path, str(garbage)))], tmp_path)
    assert run.returncode == 1
    [line] = run.stderr_lines
    assert line.startswith(f"appliance: models: {garbage}: not a loadable ONNX model")
    assert "Traceback" not in run.stderr


def test_model_not_shaped_like_yolo(tmp_path: Path) -> None:
    path = constant_model(tmp_path / "odd.onnx", np.zeros((1, 3, 10), np.float32))
    run = run_models(["list", "--config", str(edge_config(tmp_path, str(path)))], tmp_path)
    assert run.returncode == 1
    [line] = run.stderr_lines
    assert "output must be [1, 4+C, N] (Ultralytics YOLO), the model has [1, 3, 10]" in line


def test_config_errors_exit_2(tmp_path: Path) -> None:
    run = run_models(["list", "--config", str(tmp_path / "none.yaml")], tmp_path)
    assert run.returncode == 2
    assert run.stderr_lines == [
        f"appliance: config error: {tmp_path / 'none.yaml'}: config file not found"
    ]


def test_pull_without_the_train_extra(tmp_path: Path) -> None:
    # A None entry in sys.modules makes `import ultralytics` fail as if it were not installed.
    run = run_models(
        ["pull", "yolov8n.yaml"], tmp_path, python="import sys; sys.modules['ultralytics'] = None"
    )
    assert run.returncode == 1
    [line] = run.stderr_lines
    assert line.startswith("appliance: models: pulling models needs the train extra")
    assert "pip install -e '.[train]'" in line
    assert not (tmp_path / "models").exists()


def test_pull_rejects_an_input_size_off_the_stride(tmp_path: Path) -> None:
    run = run_models(["pull", "yolov8n.yaml", "--imgsz", "100"], tmp_path)
    assert run.returncode == 2
    assert "must be a multiple of 32" in run.stderr
