"""The camera's tiny detector as an ONNX model (`tiny_detector.kind: yolo-onnx`): the same
loader as the edge's, run on the frames the difference filter passes, drops changes it finds
nothing in and ranks the rest by the objects it sees. Models come from tests/onnx_models.py:
real ONNX files whose output the test writes down."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from cameras.config import CameraConfig, TinyDetectorConfig
from cameras.runtime import build_selector, run_camera_node
from pipelines.detectors.onnx_yolo import YoloOnnxDetector
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from pipelines.feedback import EdgeReply
from pipelines.frame_difference import DifferenceSettings, SendReason
from pipelines.motion import MotionSettings
from pipelines.selection import FrameSelector, Selection
from pipelines.types import Box, Detection
from tests.cli_run import assert_one_line_naming, run_cli
from tests.edge_process import EdgeProcess, running_edge
from tests.footage import vtest_frames, vtest_path
from tests.onnx_models import candidates, constant_model

NAMES = {0: "person", 1: "car"}
TWO_PEOPLE = [(100.0, 200.0, 40.0, 100.0, (0.9, 0.0)), (400.0, 260.0, 40.0, 100.0, (0.8, 0.1))]
NOBODY = [(100.0, 200.0, 40.0, 100.0, (0.05, 0.02))]  # below any confidence threshold
CAMERA, TOKEN = "tiny", "tiny-token-1"


class Counting:
    """A detector that counts the frames it was asked about."""

    name = "counting"

    def __init__(self, inner: YoloOnnxDetector) -> None:
        self.inner = inner
        self.calls = 0

    def detect(self, frame: np.ndarray) -> list[Detection]:
        self.calls += 1
        return self.inner.detect(frame)


def model(folder: Path, rows: list, name: str) -> Path:
    return constant_model(folder / f"{name}.onnx", candidates(rows), names=NAMES)


def selector(path: Path, arrival_area: float = 0.003) -> tuple[FrameSelector, Counting]:
    counting = Counting(YoloOnnxDetector(YoloOnnxSettings(model_path=str(path))))
    settings = DifferenceSettings(threshold=0.01, max_interval_s=0)
    return FrameSelector(settings, MotionSettings(), arrival_area, counting), counting


@pytest.fixture(scope="module")
def walking() -> list[np.ndarray]:
    return vtest_frames(100, 6)[::5]  # people moved between the two frames


def test_a_change_the_model_finds_nothing_in_is_dropped_unless_the_edge_tracks(
    tmp_path: Path, walking: list[np.ndarray]
) -> None:
    chooser, counting = selector(model(tmp_path, NOBODY, "nobody"))
    chooser.set_tracking(False)  # the edge's reply: nothing tracked here
    first = chooser.decide(walking[0], 0.0)
    assert first.decision.send and first.decision.reason is SendReason.FIRST
    assert counting.calls == 0, "a first frame goes without asking the model"
    chooser.commit_last()
    changed = chooser.decide(walking[1], 0.5)
    assert counting.calls == 1
    assert changed.decision.reason is SendReason.NOTHING_OF_INTEREST and not changed.decision.send
    assert changed.objects == [] and changed.utility == 0.0
    chooser.set_tracking(True)  # the edge still tracks someone here: an empty frame says they left
    assert chooser.decide(walking[1], 0.6).decision.send


def test_objects_the_model_sees_rank_the_frame_and_ride_in_its_metadata(
    tmp_path: Path, walking: list[np.ndarray]
) -> None:
    chooser, counting = selector(model(tmp_path, TWO_PEOPLE, "two"), arrival_area=1.0)
    chooser.decide(walking[0], 0.0)
    chooser.commit_last()
    changed = chooser.decide(walking[1], 0.5)
    # Passed by the filter (changed, or blobs came while the background is still learning):
    # the model looks, and its objects rank the frame.
    assert changed.decision.send
    assert changed.decision.reason in (SendReason.CHANGED, SendReason.ARRIVAL)
    assert changed.utility == 2.0 and counting.calls == 1
    assert [d.label for d in changed.found()] == ["person", "person"]
    height, width = walking[1].shape[:2]
    assert all(0 <= d.box.x1 < d.box.x2 <= width and d.box.y2 <= height for d in changed.found())
    chooser.commit_last()
    unchanged = chooser.decide(walking[1], 0.6)  # the filter drops it: the model is not asked
    assert unchanged.decision.reason is SendReason.UNCHANGED and counting.calls == 1


def test_objects_where_the_edge_holds_stationary_ones_are_no_news_but_others_are(
    tmp_path: Path, walking: list[np.ndarray]
) -> None:
    path = model(tmp_path, TWO_PEOPLE, "two")
    found = YoloOnnxDetector(YoloOnnxSettings(model_path=str(path))).detect(walking[1])
    assert len(found) == 2
    first, second = (d.box for d in found)

    def changed_frame(stationary: tuple[Box, ...]) -> Selection:
        chooser, _ = selector(path, arrival_area=1.0)
        chooser.decide(walking[0], 0.0)
        chooser.commit_last()
        chooser.follow(EdgeReply(0, None, stationary=stationary))  # nothing that moves
        return chooser.decide(walking[1], 0.5)

    one_known = changed_frame((first,))
    assert one_known.decision.send and one_known.utility == 1.0  # the other one is news
    assert len(one_known.found()) == 2  # both still ride in the metadata (and the regions)
    both = changed_frame((first, second))
    assert both.decision.reason is SendReason.NOTHING_OF_INTEREST and not both.decision.send


def test_kind_yolo_onnx_needs_a_model_and_a_bad_one_stops_the_node_with_one_line(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValidationError, match=r"kind yolo-onnx needs yolo_onnx\.model_path"):
        TinyDetectorConfig(kind="yolo-onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    config = {
        "id": CAMERA,
        "source": str(vtest_path()),
        "edge_url": "http://127.0.0.1:9",
        "token": TOKEN,
        "tiny_detector": {"kind": "yolo-onnx", "yolo_onnx": {"model_path": str(junk)}},
    }
    assert_one_line_naming(run_cli("camera", config, tmp_path), junk)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> EdgeProcess:
    with running_edge(tmp_path_factory.mktemp("tiny-edge"), {CAMERA: TOKEN}) as edge:
        yield edge


def test_a_camera_node_runs_its_onnx_tiny_detector_against_a_real_edge(
    tmp_path: Path, edge: EdgeProcess
) -> None:
    path = model(tmp_path, TWO_PEOPLE, "two")
    config = CameraConfig(
        id=CAMERA,
        source=str(vtest_path()),
        edge_url=edge.base_url,
        token=TOKEN,
        tiny_detector={"kind": "yolo-onnx", "yolo_onnx": {"model_path": str(path)}},
    )
    assert isinstance(build_selector(config).detector, YoloOnnxDetector)
    node = run_camera_node(config, max_frames=15)
    assert node.upload_failures == 0 and node.frames_sent > 1
