"""The trained default detector as a user meets it: a real edge box started with the built-in
defaults runs Darknet's YOLOv3-tiny (made at set-up), reports it in /api/v1/stats, keeps only the
labels of interest in its events, and falls back to HOG, loudly, when the model file is missing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from appliance.edge.config import DetectorConfig
from appliance.edge.detector import build_detector, build_edge_detector
from cameras.detector_config import DEFAULT_MODEL_PATH
from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST, matching_labels
from tests.cli_run import assert_one_line_naming, run_cli
from tests.edge_process import EdgeProcess, running_edge, stats
from tests.footage import vtest_frames
from tests.live_edge import feed, vtest_jpegs, wait_for
from ui.config import CONFIG_ENV

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "ui" / "app.py")
TOKENS = {"door": "door-token-123"}


@pytest.fixture(scope="module")
def default_edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    """An edge box with no detector settings at all: the built-in default."""
    with running_edge(tmp_path_factory.mktemp("default"), TOKENS, log_level="INFO") as edge:
        yield edge


def test_the_default_edge_runs_the_trained_model(default_edge: EdgeProcess) -> None:
    with httpx.Client(base_url=default_edge.base_url, timeout=30) as client:
        detector = stats(client, default_edge)["detector"]
    assert detector["kind"] == "yolo-onnx"
    assert detector["model"] == DEFAULT_MODEL_PATH
    assert detector["input_size"] == 416
    assert detector["precision"] == "fp32"
    assert detector["fallback"] is None
    assert detector["labels"] == list(DEFAULT_LABELS_OF_INTEREST)
    assert "CPUExecutionProvider" in detector["providers"]
    assert detector["batches"]["largest_batch"] <= 8  # counted: runs, images, sizes


def test_events_carry_people_and_vehicles(default_edge: EdgeProcess) -> None:
    with httpx.Client(base_url=default_edge.base_url, timeout=30) as client:
        replies = feed(client, default_edge, "door", vtest_jpegs(12, start=100), every=1)
        labels = {d["label"] for reply in replies for d in reply["detections"]}

        def events() -> list[dict[str, Any]]:
            response = client.get("/api/v1/events", params={"camera": "door"})
            found: list[dict[str, Any]] = response.json()
            return found if {"person", "car"} <= {e["label"] for e in found} else []

        stored = wait_for(events, 10, "events of people and cars")
    # vtest: people walking, parked cars and a van; nothing outside the labels of interest.
    assert {"person", "car"} <= labels <= set(DEFAULT_LABELS_OF_INTEREST)
    assert {e["label"] for e in stored} <= set(DEFAULT_LABELS_OF_INTEREST)


def test_a_missing_model_falls_back_to_hog_and_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nothere.onnx"
    extra = {"detector": {"yolo_onnx": {"model_path": str(missing)}}}
    with running_edge(tmp_path, TOKENS, extra=extra, log_level="INFO") as edge:
        with httpx.Client(base_url=edge.base_url, timeout=30) as client:
            feed(client, edge, "door", vtest_jpegs(2), every=1)
            detector = stats(client, edge)["detector"]
        log = edge.stderr
    assert detector["kind"] == "hog" and detector["labels"] == ["person"]
    assert str(missing) in detector["fallback"]
    assert "appliance models pull yolov3-tiny" in detector["fallback"]
    warnings = [line for line in log.splitlines() if "HOG people detector instead" in line]
    assert len(warnings) == 1, log  # once, not per camera or per frame
    assert "WARNING" in warnings[0] and str(missing) in warnings[0]


def test_a_damaged_model_stops_the_edge_naming_the_file(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.onnx"
    damaged.write_bytes(b"not an onnx model" * 100)
    config = {
        "data_dir": str(tmp_path / "data"),
        "detector": {"yolo_onnx": {"model_path": str(damaged)}},
        "cameras": [{"id": "door", "token": TOKENS["door"]}],
    }
    assert_one_line_naming(run_cli("edge", config, tmp_path), damaged)
    assert not (tmp_path / "data" / "appliance.db").exists()  # nothing created for a bad model


def test_labels_of_interest_choose_what_is_reported() -> None:
    frame = vtest_frames(100, 1)[0]
    cars_only = build_detector(DetectorConfig(labels=["car"]), Path("data"))
    found = cars_only.detect(frame)
    assert found and {d.label for d in found} == {"car"}
    everything = build_detector(DetectorConfig(), Path("data")).detect(frame)
    assert {"person", "car"} <= {d.label for d in everything}


def test_either_coco_spelling_matches_the_models_name() -> None:
    darknet = ["person", "motorbike", "aeroplane", "car"]
    ultralytics = ["person", "motorcycle", "airplane", "car"]
    assert matching_labels(darknet, ["motorcycle", "car"]) == ("motorbike", "car")
    assert matching_labels(ultralytics, ["motorbike", "aeroplane"]) == ("motorcycle", "airplane")
    status = build_edge_detector(DetectorConfig(labels=["forklift"]), Path("data")).status
    assert len(status.labels) == 80  # a model with none of them keeps all its classes


def test_the_overview_warns_about_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = {"detector": {"yolo_onnx": {"model_path": str(tmp_path / "gone.onnx")}}}
    with running_edge(tmp_path, TOKENS, extra=extra) as edge:
        config = tmp_path / "ui.yaml"
        config.write_text(yaml.safe_dump({"edge_url": edge.base_url}), encoding="utf-8")
        monkeypatch.setenv(CONFIG_ENV, str(config))
        app = AppTest.from_file(APP, default_timeout=60)
        app.run()
    assert not app.exception, app.exception
    warnings = [w.value for w in app.warning]
    assert any("gone.onnx" in w and "HOG" in w for w in warnings), warnings
    assert any("OpenCV HOG people detector" in c.value for c in app.caption)


def test_bench_detectors_names_both_detectors(tmp_path: Path) -> None:
    picture = tmp_path / "both.jpg"
    command = [sys.executable, "-m", "appliance.cli", "bench", "detectors", "--frames", "4",
               "--picture", "2", "--picture-out", str(picture), "--json"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["frames"] == 4
    default = report["default"]["detector"]
    assert (default["kind"], default["model"], default["input_size"], default["precision"]) == (
        "yolo-onnx", DEFAULT_MODEL_PATH, 416, "fp32",
    )  # fmt: skip
    assert report["other"]["detector"]["kind"] == "hog"
    assert report["default"]["people_per_frame"] > 0 and report["other"]["ms_per_frame"] > 0
    drawn = cv2.imread(str(picture))
    assert drawn is not None and drawn.shape == (576, 2 * 768, 3)  # the frame twice, side by side
