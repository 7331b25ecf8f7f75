"""The example configs in configs/ load with the same models the programs use."""

from __future__ import annotations

from pathlib import Path

from appliance.config_loader import load_config
from appliance.demo_config import DemoConfig
from appliance.edge.config import EdgeConfig
from cameras.config import CameraConfig
from cameras.detector_config import DEFAULT_MODEL_PATH
from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def test_edge_example() -> None:
    config = load_config(CONFIGS / "edge.yaml", EdgeConfig)
    assert [c.id for c in config.cameras] == ["front-door"]
    assert config.detector.kind == "yolo-onnx"
    assert config.detector.yolo_onnx.model_path == DEFAULT_MODEL_PATH  # the set-up's model
    assert config.detector.labels == list(DEFAULT_LABELS_OF_INTEREST)


def test_camera_example_matches_the_edge_example() -> None:
    camera = load_config(CONFIGS / "camera.yaml", CameraConfig)
    edge = load_config(CONFIGS / "edge.yaml", EdgeConfig)
    allowed = {c.id: c.token.get_secret_value() for c in edge.cameras}
    assert allowed[camera.id] == camera.token.get_secret_value()
    assert camera.edge_url.endswith(f":{edge.listen.port}")


def test_demo_example_equals_the_built_in_defaults() -> None:
    loaded = load_config(CONFIGS / "demo.yaml", DemoConfig)
    assert loaded == DemoConfig()
