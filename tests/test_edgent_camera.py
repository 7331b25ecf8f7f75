"""The camera node's side of Edgent: its planner follows the bandwidth its uploads measure, and
a config or model it cannot use stops the node (or the edge) with one clear line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from appliance.edge.edgent_config import EdgeEdgentConfig
from cameras.collaborative import collaborative_uploader
from cameras.config import CameraConfig
from cameras.edge_client import EdgeUplink
from cameras.edgent_config import CameraEdgentConfig
from cameras.edgent_plan import OnlinePlans
from pipelines.detectors.yolo_settings import ModelError
from tests.cli_run import assert_one_line_naming, run_cli
from tests.edgent_fixtures import FIXTURES
from tests.edgent_runtime import EXIT, camera_edgent, slow_camera_profile

MBIT = 1e6


def edgent(model: Path, **changes: Any) -> dict[str, Any]:
    profiles = {
        "device_profile": str(FIXTURES / "camera.json"),
        "edge_profile": str(FIXTURES / "edge.json"),
    }
    return camera_edgent(model, **{**profiles, **changes})


def feed(plans: OnlinePlans, bits_per_s: float, start: float, count: int = 40) -> float:
    """`count` uploads of 200 kB at `bits_per_s`, one a second from `start`; the time after."""
    nbytes = 200_000
    for step in range(count):
        plans.record_transfer(nbytes, nbytes * 8 / bits_per_s, start + step)
    return start + count


def test_the_planner_switches_cut_when_the_measured_bandwidth_changes(
    edgent_model: Path, tmp_path: Path
) -> None:
    config = CameraEdgentConfig.model_validate(
        edgent(edgent_model, device_profile=str(slow_camera_profile(tmp_path)))
    )
    uplink = EdgeUplink("http://127.0.0.1:9", "cam", "token-123")
    plans = collaborative_uploader(config, uplink).plans
    assert isinstance(plans, OnlinePlans)
    nodes = len(plans.planner.replanner.exits[0].layout.layers)
    now = feed(plans, 1000 * MBIT, 0.0)
    fast = plans.choose(now)
    # A fast uplink: send early (the slow camera runs little or nothing of the model).
    assert fast.cut < nodes // 4, fast.status
    now = feed(plans, 0.2 * MBIT, now, count=120)  # the estimate averages ~8 uploads
    slow = plans.choose(now)
    # A slow one: the camera runs the whole model and only its output crosses.
    assert slow.cut == nodes, slow.status
    assert slow.status["plan"]["meets"] and slow.status["bandwidth_measured"]
    assert slow.status["switches"] == 2  # the first plan, then the switch
    # Edgent maximises accuracy within the requirement: a faster plan of the same accuracy
    # does not replace one that still meets it (no flapping as the uplink recovers).
    back = plans.choose(feed(plans, 1000 * MBIT, now))
    assert back.cut == nodes and back.status["reason"] == "current plan meets the requirement"
    uplink.close()


def test_edgent_is_off_by_default_and_checked_when_on(edgent_model: Path) -> None:
    assert CameraConfig(id="c", source="0", token="t").edgent.enabled is False
    with pytest.raises(ValidationError, match="at least one exit"):
        CameraEdgentConfig(enabled=True)
    with pytest.raises(ValidationError, match="device_profile and edge_profile"):
        CameraEdgentConfig.model_validate(edgent(edgent_model, device_profile=None))
    with pytest.raises(ValidationError, match=r"pin\.exit 'other'"):
        CameraEdgentConfig.model_validate(edgent(edgent_model, pin={"exit": "other", "cut": 1}))
    with pytest.raises(ValidationError, match="accuracy"):
        CameraEdgentConfig.model_validate(
            edgent(edgent_model, exits=[{"name": EXIT, "model_path": "m", "accuracy": 2}])
        )


def test_a_pinned_cut_beyond_the_model_is_refused(edgent_model: Path) -> None:
    config = CameraEdgentConfig.model_validate(
        edgent(edgent_model, pin={"exit": EXIT, "cut": 10**6})
    )
    with pytest.raises(ModelError, match=r"pin\.cut 1000000 is outside 0\.\.\d+"):
        collaborative_uploader(config, EdgeUplink("http://127.0.0.1:9", "cam", "token-123"))


def test_device_only_classes_must_be_among_the_models_labels(edgent_model: Path) -> None:
    config = CameraEdgentConfig.model_validate(edgent(edgent_model, classes=["unicorn"]))
    # The camera decodes device-only frames as the edge decodes the others unless told not to.
    edge = EdgeEdgentConfig()
    for name in ("min_confidence", "nms_iou", "max_detections"):
        assert getattr(config, name) == getattr(edge, name), name
    with pytest.raises(ModelError, match=r"\['unicorn'\] are not among the model's labels"):
        collaborative_uploader(config, EdgeUplink("http://127.0.0.1:9", "cam", "token-123"))


def test_a_bad_exit_model_stops_the_edge_with_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "broken.onnx"
    junk.write_bytes(b"this is not a model")
    config = {
        "data_dir": str(tmp_path / "data"),
        "edgent": {"enabled": True, "exits": [{"name": EXIT, "model_path": str(junk)}]},
        "cameras": [{"id": "c", "token": "token-123456"}],
    }
    assert_one_line_naming(run_cli("edge", config, tmp_path), junk)
    assert not (tmp_path / "data").exists()  # stopped before creating the database


def test_a_missing_exit_model_stops_the_camera_node_with_one_line(
    edgent_model: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.onnx"
    config = {
        "id": "c",
        "source": "/nonexistent/video.avi",
        "token": "token-123456",
        "edgent": {
            **edgent(edgent_model),
            "exits": [{"name": EXIT, "model_path": str(missing), "accuracy": 1.0}],
        },
    }
    result = run_cli("camera", config, tmp_path)
    assert_one_line_naming(result, missing)
    assert "model file not found" in result.stderr


def measured(f1: float, model: Path) -> dict[str, Any]:
    """One exit's entry as `appliance plan accuracy --output` writes it."""
    return {"f1": f1, "count_accuracy": f1, "frames": 20, "detections": 50,
            "reference_detections": 60, "model": str(model), "full_model": str(model),
            "video": "vtest"}  # fmt: skip


def test_the_camera_plans_with_exit_accuracies_measured_on_its_footage(
    edgent_model: Path, tmp_path: Path
) -> None:
    accuracy_file = tmp_path / "accuracy.json"
    accuracy_file.write_text(
        json.dumps({"full": measured(1.0, edgent_model), "lite": measured(0.62, edgent_model)})
    )
    exits = [{"name": n, "model_path": str(edgent_model)} for n in ("full", "lite")]
    config = CameraEdgentConfig.model_validate(
        edgent(edgent_model, exits=exits, accuracy_file=str(accuracy_file))
    )
    uplink = EdgeUplink("http://127.0.0.1:9", "cam", "token-123")
    plans = collaborative_uploader(config, uplink).plans
    assert isinstance(plans, OnlinePlans)
    assert {e.name: e.accuracy for e in plans.planner.replanner.exits} == {
        "full": 1.0,
        "lite": 0.62,
    }
    # A declared accuracy wins over the file.
    exits[1]["accuracy"] = 0.8
    config = CameraEdgentConfig.model_validate(
        edgent(edgent_model, exits=exits, accuracy_file=str(accuracy_file))
    )
    plans = collaborative_uploader(config, uplink).plans
    assert isinstance(plans, OnlinePlans)
    assert {e.name: e.accuracy for e in plans.planner.replanner.exits}["lite"] == 0.8
    uplink.close()


def test_exit_accuracies_must_be_declared_or_measured(edgent_model: Path, tmp_path: Path) -> None:
    exits = [{"name": "full", "model_path": str(edgent_model)}]
    with pytest.raises(ValidationError, match=r"need an accuracy or edgent\.accuracy_file"):
        CameraEdgentConfig.model_validate(edgent(edgent_model, exits=exits))
    accuracy_file = tmp_path / "accuracy.json"
    accuracy_file.write_text(json.dumps({"other": measured(0.5, edgent_model)}))
    config = CameraEdgentConfig.model_validate(
        edgent(edgent_model, exits=exits, accuracy_file=str(accuracy_file))
    )
    uplink = EdgeUplink("http://127.0.0.1:9", "cam", "token-123")
    with pytest.raises(ModelError, match=r"accuracy.json: no accuracy for exits \['full'\]"):
        collaborative_uploader(config, uplink)
    accuracy_file.write_text("{not json")
    with pytest.raises(ModelError, match="not an accuracy file"):
        collaborative_uploader(config, uplink)
    uplink.close()
