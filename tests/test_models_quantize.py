"""`appliance models quantize` on a small convolutional model whose detections are known.

The model is shaped like an Ultralytics export (`[1, 4+C, N]`, a 10x10 grid of 32 px cells on a
320 px input) but its weights are written down here: a convolution averages each cell, a 1x1
convolution scores it (bright cells are people, dark cells cars) and the boxes are the cells
themselves. So the float model's detections on a painted frame are known in advance, and the
INT8 model's must match them closely, both calibrated on real footage (static) and dynamic.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from appliance.models.quantize import decode_tail
from pipelines.detectors.letterbox import letterbox
from pipelines.detectors.onnx_yolo import YoloOnnxDetector, preprocess
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from pipelines.types import Detection
from tests.footage import vtest_frames
from tests.onnx_models import OPSET
from tests.test_models_cli import run_models

SIDE, CELL = 320, 32
GRID = SIDE // CELL
NAMES = {0: "person", 1: "car"}
GAIN = 20.0  # logit per unit of cell brightness (0-1)
PERSON_ABOVE, CAR_BELOW = 0.7, 0.3
BOX_SIDE = 30.0  # a little smaller than a cell: neighbouring boxes never overlap
# (row, column, grey level) painted on a mid-grey frame; grey 128 scores ~0.02 for both classes.
# The levels stay within the cell brightness of the calibration footage (vtest's cells span
# 0.12-0.82): beyond its range static quantisation saturates, as on any footage unlike a site's.
PAINTED = [(2, 3, 204), (4, 4, 196), (6, 1, 191), (7, 5, 46), (8, 8, 64)]
CONFIDENCE_TOLERANCE = 0.03


def expected_score(grey: int) -> tuple[str, float]:
    brightness = grey / 255.0
    person = 1 / (1 + math.exp(-GAIN * (brightness - PERSON_ABOVE)))
    car = 1 / (1 + math.exp(-GAIN * (CAR_BELOW - brightness)))
    return ("person", person) if person > car else ("car", car)


def cell_grid_model(path: Path) -> Path:
    """images [1,3,320,320] -> output0 [1, 6, 100]: cell boxes, person and car scores."""
    mean = np.zeros((3, 3, CELL, CELL), np.float32)
    for channel in range(3):
        mean[channel, channel] = 1.0 / (CELL * CELL)  # each channel's average over the cell
    score = np.array([[GAIN / 3] * 3, [-GAIN / 3] * 3], np.float32).reshape(2, 3, 1, 1)
    bias = np.array([-GAIN * PERSON_ABOVE, GAIN * CAR_BELOW], np.float32)
    centres = (np.arange(GRID, dtype=np.float32) + 0.5) * CELL
    cy, cx = np.meshgrid(centres, centres, indexing="ij")
    sides = np.full(GRID * GRID, BOX_SIDE, np.float32)
    boxes = np.stack([cx.ravel(), cy.ravel(), sides, sides])[np.newaxis]
    initializers = [
        numpy_helper.from_array(mean, "mean_w"),
        numpy_helper.from_array(score, "score_w"),
        numpy_helper.from_array(bias, "score_b"),
        numpy_helper.from_array(boxes, "boxes"),
        numpy_helper.from_array(np.array([1, 2, GRID * GRID], np.int64), "flat"),
    ]
    nodes = [
        helper.make_node("Conv", ["images", "mean_w"], ["cells"], "cell_mean", strides=[CELL] * 2),
        helper.make_node("Conv", ["cells", "score_w", "score_b"], ["logits"], "cell_score"),
        helper.make_node("Sigmoid", ["logits"], ["scores"], "scores"),
        helper.make_node("Reshape", ["scores", "flat"], ["flat_scores"], "flatten"),
        helper.make_node("Concat", ["boxes", "flat_scores"], ["output0"], "join", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "cell-grid-yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6, GRID * GRID])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    helper.set_model_props(model, {"names": str(NAMES), "imgsz": f"[{SIDE}, {SIDE}]"})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def painted_frame() -> np.ndarray:
    frame = np.full((SIDE, SIDE, 3), 128, np.uint8)
    for row, column, grey in PAINTED:
        frame[row * CELL : (row + 1) * CELL, column * CELL : (column + 1) * CELL] = grey
    return frame


def detect(path: Path) -> list[Detection]:
    detector = YoloOnnxDetector(YoloOnnxSettings(model_path=str(path), min_confidence=0.25))
    return sorted(detector.detect(painted_frame()), key=lambda d: (d.box.y1, d.box.x1))


def expected_detections() -> list[tuple[str, float, tuple[float, float, float, float]]]:
    found = []
    for row, column, grey in sorted(PAINTED):
        label, confidence = expected_score(grey)
        if confidence >= 0.25:
            cx, cy, half = (column + 0.5) * CELL, (row + 0.5) * CELL, BOX_SIDE / 2
            found.append((label, confidence, (cx - half, cy - half, cx + half, cy + half)))
    return found


def assert_detections(found: list[Detection], tolerance: float) -> None:
    expected = expected_detections()
    assert [d.label for d in found] == [label for label, _, _ in expected]
    for detection, (_, confidence, box) in zip(found, expected, strict=True):
        assert detection.confidence == pytest.approx(confidence, abs=tolerance)
        b = detection.box
        assert (b.x1, b.y1, b.x2, b.y2) == pytest.approx(box, abs=0.01)


@pytest.fixture
def float_model(tmp_path: Path) -> Path:
    return cell_grid_model(tmp_path / "cells.onnx")


def test_the_float_model_finds_what_was_painted(float_model: Path) -> None:
    found = detect(float_model)
    assert len(found) == 5  # three people (bright), two cars (dark)
    assert_detections(found, tolerance=1e-4)


def test_decoding_after_the_last_convolution_stays_float(float_model: Path) -> None:
    assert decode_tail(float_model) == ["flatten", "join", "scores"]


def op_types(path: Path) -> list[str]:
    return [node.op_type for node in onnx.load(str(path)).graph.node]


def activation_types(path: Path) -> set[int]:
    """Element types of the zero points of the model's activation QuantizeLinear nodes."""
    model = onnx.load(str(path))
    zero_points = {i.name: i.data_type for i in model.graph.initializer}
    return {zero_points[n.input[2]] for n in model.graph.node if n.op_type == "QuantizeLinear"}


@pytest.mark.parametrize(
    ("cpu", "activations"), [("arm", TensorProto.INT8), ("x86", TensorProto.UINT8)]
)
def test_static_quantisation_calibrated_on_real_footage(
    float_model: Path, tmp_path: Path, cpu: str, activations: int
) -> None:
    target = tmp_path / "out" / "cells-int8.onnx"
    args = ["quantize", str(float_model), str(target), "--calibration", "vtest", "--frames", "8"]
    run = run_models([*args, "--target-cpu", cpu], tmp_path)
    assert run.returncode == 0, run.stderr
    how = f"static, calibrated on 8 frames, for {cpu} CPUs"
    assert f"{float_model} -> {target} ({how})" in run.stdout
    before = re.search(r"^before +[\d.]+ MB \((\d+) bytes\)$", run.stdout, re.MULTILINE)
    after = re.search(r"^after +[\d.]+ MB \((\d+) bytes\), \d+% of", run.stdout, re.MULTILINE)
    assert before and after, run.stdout
    assert int(before[1]) == float_model.stat().st_size
    assert int(after[1]) == target.stat().st_size
    ops = op_types(target)
    assert ops.count("QuantizeLinear") >= 2 and ops.count("Conv") == 2
    assert {"Sigmoid", "Reshape", "Concat"} <= set(ops)
    assert activation_types(target) == {activations}
    assert_detections(detect(target), CONFIDENCE_TOLERANCE)
    assert_same_scores_on_footage(float_model, target)


def raw_output(path: Path, frame: np.ndarray) -> np.ndarray:
    image, _ = letterbox(frame, SIDE)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"images": preprocess(image, np.float32)})[0])


def assert_same_scores_on_footage(float_model: Path, quantized: Path) -> None:
    """Every cell's class scores on real frames (not the calibration ones) stay close."""
    for frame in vtest_frames(405, 2):
        expected, got = raw_output(float_model, frame), raw_output(quantized, frame)
        assert np.array_equal(got[0, :4], expected[0, :4])  # boxes: float all the way
        assert np.abs(got[0, 4:] - expected[0, 4:]).max() < CONFIDENCE_TOLERANCE


def test_dynamic_quantisation(float_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "cells-dynamic.onnx"
    run = run_models(["quantize", str(float_model), str(target)], tmp_path)
    assert run.returncode == 0, run.stderr
    assert "(dynamic)" in run.stdout
    assert op_types(target).count("ConvInteger") == 2
    assert_detections(detect(target), CONFIDENCE_TOLERANCE)
    assert_same_scores_on_footage(float_model, target)


def test_quantising_a_missing_model(tmp_path: Path) -> None:
    missing = tmp_path / "none.onnx"
    run = run_models(["quantize", str(missing), str(tmp_path / "out.onnx")], tmp_path)
    assert run.returncode == 1
    assert run.stderr_lines == [f"appliance: models: {missing}: model file not found"]
    assert not (tmp_path / "out.onnx").exists()


def test_calibration_footage_that_is_not_there(float_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.onnx"
    args = ["quantize", str(float_model), str(target), "--calibration", "nowhere.mp4"]
    run = run_models(args, tmp_path)
    assert run.returncode == 1
    [line] = run.stderr_lines
    assert line.startswith("appliance: models: video 'nowhere.mp4' is neither a file nor")
    assert not target.exists()


def test_calibration_file_that_is_not_a_video(float_model: Path, tmp_path: Path) -> None:
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    target = tmp_path / "out.onnx"
    run = run_models(
        ["quantize", str(float_model), str(target), "--calibration", str(not_video)], tmp_path
    )
    assert run.returncode == 1
    # OpenCV's FFmpeg backend may print its own complaint first; ours is the last line.
    assert (
        run.stderr_lines[-1] == f"appliance: models: {not_video}: cannot open the calibration video"
    )
    assert not target.exists()
