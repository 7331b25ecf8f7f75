"""The edge box configured with an ONNX YOLO model: loaded from config, used for events, and
a bad model file stops it with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from appliance.edge.box import EdgeBox
from appliance.edge.config import DetectorConfig, EdgeCameraConfig, EdgeConfig
from cameras.protocol import FrameMeta
from tests.footage import vtest_frames
from tests.onnx_models import candidates, constant_model

# One person at input-space centre (200, 330), 200x300: (120, 120)-(360, 480) in a 768x576 frame.
PERSON = (200.0, 330.0, 200.0, 300.0, [0.9, 0.0])


def test_edge_detects_with_an_onnx_model(tmp_path: Path) -> None:
    model = constant_model(
        tmp_path / "yolo.onnx", candidates([PERSON]), names={0: "person", 1: "car"}
    )
    detector = DetectorConfig(kind="yolo-onnx", yolo_onnx={"model_path": str(model)})
    config = EdgeConfig(
        data_dir=tmp_path,
        detector=detector,
        tracker={"min_hits": 1, "confirm_s": 0.0},
        cameras=[EdgeCameraConfig(id="c", token="t" * 9)],
    )
    box = EdgeBox(config)
    try:
        result = box.analyzers["c"].analyse(
            vtest_frames(0, 1)[0], FrameMeta(seq=0, captured_at=1e9), 1
        )
        [found] = result.detections
        assert found.label == "person"
        assert (found.box.x1, found.box.y1, found.box.x2, found.box.y2) == pytest.approx(
            (120, 120, 360, 480), abs=1e-3
        )
        assert [e.label for e in box.store.list_events()] == ["person"]
    finally:
        box.close()


def test_onnx_kind_needs_a_model_path() -> None:
    assert DetectorConfig(kind="yolo-onnx").yolo_onnx.model_path  # the default model's
    with pytest.raises(ValidationError, match="model_path"):
        DetectorConfig(kind="yolo-onnx", yolo_onnx={"model_path": None})


def test_a_bad_model_file_stops_the_edge_with_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "broken.onnx"
    junk.write_bytes(b"this is not a model")
    config = {
        "data_dir": str(tmp_path / "data"),
        "detector": {"kind": "yolo-onnx", "yolo_onnx": {"model_path": str(junk)}},
        "cameras": [{"id": "c", "token": "token-123456"}],
    }
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "appliance.cli",
            "--log-level",
            "WARNING",
            "edge",
            "--config",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(junk) in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # stopped before creating the database
