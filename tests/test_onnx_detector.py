"""The ONNX YOLO detector on tiny built models whose candidates are known exactly."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from pipelines.detectors import Detector
from pipelines.detectors.letterbox import PAD_VALUE, letterbox
from pipelines.detectors.onnx_yolo import YoloOnnxDetector, choose_providers, preprocess
from pipelines.detectors.yolo_settings import ModelError, YoloOnnxSettings
from pipelines.types import Detection
from tests.onnx_models import Row, candidates, constant_model

NAMES = {0: "person", 1: "car"}
PERSON, CAR = (1.0, 0.0), (0.0, 1.0)


def scored(scores: tuple[float, float], confidence: float) -> tuple[float, float]:
    return (scores[0] * confidence, scores[1] * confidence)


def detector(tmp_path: Path, rows: Sequence[Row], **settings: Any) -> YoloOnnxDetector:
    """A detector over a person/car model (names in its metadata) returning `rows`."""
    path = constant_model(tmp_path / "model.onnx", candidates(rows), names=NAMES)
    return YoloOnnxDetector(YoloOnnxSettings(model_path=str(path), **settings))


def frame(width: int, height: int) -> np.ndarray:
    return np.zeros((height, width, 3), dtype=np.uint8)


def boxes(found: list[Detection]) -> list[tuple[float, float, float, float]]:
    return [(d.box.x1, d.box.y1, d.box.x2, d.box.y2) for d in found]


def test_is_a_detector(tmp_path: Path) -> None:
    found: Detector = detector(tmp_path, [(320, 320, 100, 100, scored(PERSON, 0.9))])
    assert found.name == "yolo-onnx"


def test_boxes_map_back_to_a_4_3_frame(tmp_path: Path) -> None:
    # 768x576 -> scale 5/6 to 640x480, 80 px of padding above and below.
    det = detector(tmp_path, [(200, 330, 200, 300, scored(PERSON, 0.9))])
    [found] = det.detect(frame(768, 576))
    assert found.label == "person" and found.confidence == pytest.approx(0.9)
    assert boxes([found]) == [pytest.approx((120, 120, 360, 480), abs=1e-3)]


def test_boxes_map_back_to_a_wide_frame_and_clip(tmp_path: Path) -> None:
    # 640x272 -> unscaled, 184 px of padding above and below.
    rows = [
        (200, 300, 200, 200, scored(CAR, 0.8)),  # inside the picture
        (550, 200, 100, 100, scored(PERSON, 0.7)),  # pokes into the top padding: clipped
        (30, 30, 40, 40, scored(PERSON, 0.95)),  # wholly in the padding: dropped
    ]
    found = detector(tmp_path, rows).detect(frame(640, 272))
    assert [d.label for d in found] == ["car", "person"]
    assert boxes(found) == [
        pytest.approx((100, 16, 300, 216), abs=1e-3),
        pytest.approx((500, 0, 600, 66), abs=1e-3),
    ]


def test_input_side_read_from_the_model(tmp_path: Path) -> None:
    rows = [(100, 140, 100, 100, scored(PERSON, 0.9))]
    path = constant_model(
        tmp_path / "small.onnx", candidates(rows), input_shape=(1, 3, 320, 320), names=NAMES
    )
    det = YoloOnnxDetector(YoloOnnxSettings(model_path=str(path)))
    assert det.input_size == 320
    # 640x480 -> scale 1/2 to 320x240, 40 px of padding above and below.
    assert boxes(det.detect(frame(640, 480))) == [pytest.approx((100, 100, 300, 300), abs=1e-3)]


def test_dynamic_input_uses_the_setting_aligned_to_the_stride(tmp_path: Path) -> None:
    rows = [(100, 100, 50, 50, scored(PERSON, 0.9))]
    path = constant_model(
        tmp_path / "dyn.onnx", candidates(rows), input_shape=("batch", 3, "h", "w"), names=NAMES
    )
    assert YoloOnnxDetector(YoloOnnxSettings(str(path))).input_size == 640
    det = YoloOnnxDetector(YoloOnnxSettings(str(path), input_size=300))
    assert det.input_size == 320
    assert len(det.detect(frame(320, 320))) == 1


def test_fixed_input_side_conflicting_with_settings_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="fixed at 640, settings ask for 320"):
        detector(tmp_path, [(1, 1, 1, 1, PERSON)], input_size=320)


def test_min_confidence_filters(tmp_path: Path) -> None:
    rows = [
        (100, 300, 50, 50, scored(PERSON, 0.9)),
        (300, 300, 50, 50, scored(PERSON, 0.3)),
        (500, 300, 50, 50, scored(CAR, 0.2)),
    ]
    assert [d.confidence for d in detector(tmp_path, rows).detect(frame(640, 640))] == [
        pytest.approx(0.9),
        pytest.approx(0.3),
    ]
    strict = detector(tmp_path, rows, min_confidence=0.5).detect(frame(640, 640))
    assert [d.confidence for d in strict] == [pytest.approx(0.9)]


def test_best_class_wins_per_candidate(tmp_path: Path) -> None:
    [found] = detector(tmp_path, [(320, 320, 50, 50, (0.4, 0.6))]).detect(frame(640, 640))
    assert found.label == "car" and found.confidence == pytest.approx(0.6)


def test_nms_is_class_aware(tmp_path: Path) -> None:
    rows = [
        (200, 200, 100, 100, scored(PERSON, 0.9)),
        (205, 205, 100, 100, scored(PERSON, 0.8)),  # same class, overlapping: suppressed
        (202, 202, 100, 100, scored(CAR, 0.7)),  # other class, overlapping: kept
        (450, 450, 100, 100, scored(PERSON, 0.6)),  # same class, apart: kept
    ]
    found = detector(tmp_path, rows).detect(frame(640, 640))
    assert sorted((d.label, round(d.confidence, 3)) for d in found) == [
        ("car", 0.7),
        ("person", 0.6),
        ("person", 0.9),
    ]


def test_classes_filter(tmp_path: Path) -> None:
    rows = [(200, 200, 100, 100, scored(PERSON, 0.9)), (450, 450, 80, 80, scored(CAR, 0.7))]
    found = detector(tmp_path, rows, classes=("car",)).detect(frame(640, 640))
    assert [d.label for d in found] == ["car"]


def test_unknown_class_in_filter_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model\.onnx.*'bus'"):
        detector(tmp_path, [(1, 1, 1, 1, PERSON)], classes=("bus",))


def test_labels_from_metadata_win_over_settings(tmp_path: Path) -> None:
    det = detector(tmp_path, [(320, 320, 50, 50, scored(CAR, 0.9))], labels=("a", "b"))
    assert det.labels == ("person", "car")
    assert [d.label for d in det.detect(frame(640, 640))] == ["car"]


def test_labels_from_settings_without_metadata(tmp_path: Path) -> None:
    path = constant_model(tmp_path / "bare.onnx", candidates([(320, 320, 50, 50, (0.1, 0.9))]))
    det = YoloOnnxDetector(YoloOnnxSettings(str(path), labels=("cat", "dog")))
    assert [d.label for d in det.detect(frame(640, 640))] == ["dog"]


def test_class_count_mismatch_is_an_error(tmp_path: Path) -> None:
    path = constant_model(tmp_path / "bare.onnx", candidates([(1, 1, 1, 1, PERSON)]))
    with pytest.raises(
        ModelError, match=r"bare\.onnx: the model scores 2 classes but settings give 80 labels"
    ):
        YoloOnnxDetector(YoloOnnxSettings(str(path)))


def test_nothing_confident_finds_nothing(tmp_path: Path) -> None:
    assert detector(tmp_path, [(320, 320, 50, 50, (0.1, 0.1))]).detect(frame(640, 480)) == []


def test_providers_fall_back_to_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert choose_providers(None) == ["CPUExecutionProvider"]
    assert choose_providers(("TensorrtExecutionProvider",)) == ["CPUExecutionProvider"]
    det = detector(tmp_path, [(1, 1, 1, 1, PERSON)], providers=("CUDAExecutionProvider",))
    assert det.providers == ["CPUExecutionProvider"]


def test_preferred_providers_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    available = ["CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: available)
    assert choose_providers(None) == [
        "TensorrtExecutionProvider",
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert choose_providers(("CUDAExecutionProvider",)) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"nowhere\.onnx: model file not found"):
        YoloOnnxDetector(YoloOnnxSettings(str(tmp_path / "nowhere.onnx")))


def test_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"\x00\xffthis is not a protobuf\x13\x37" * 10)
    with pytest.raises(ModelError, match=r"garbage\.onnx: not a loadable ONNX model"):
        YoloOnnxDetector(YoloOnnxSettings(str(path)))


@pytest.mark.parametrize("shape", [(1, 3, 640), (1, 1, 640, 640), (2, 3, 640, 640)])
def test_wrong_input_shape(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = constant_model(
        tmp_path / "in.onnx", candidates([(1, 1, 1, 1, PERSON)]), input_shape=shape
    )
    with pytest.raises(ModelError, match=r"in\.onnx: input must be \[1, 3, H, W\]"):
        YoloOnnxDetector(YoloOnnxSettings(str(path), labels=("a", "b")))


def test_non_square_input_is_an_error(tmp_path: Path) -> None:
    rows = [(1, 1, 1, 1, PERSON)]
    path = constant_model(tmp_path / "rect.onnx", candidates(rows), input_shape=(1, 3, 384, 640))
    with pytest.raises(ModelError, match=r"rect\.onnx: input must be square"):
        YoloOnnxDetector(YoloOnnxSettings(str(path), labels=("a", "b")))


@pytest.mark.parametrize("shape", [(6, 8), (1, 4, 8), (1, 6, 8, 1)])
def test_wrong_output_shape(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = constant_model(tmp_path / "out.onnx", np.zeros(shape, dtype=np.float32))
    with pytest.raises(ModelError, match=r"out\.onnx: output must be \[1, 4\+C, N\]"):
        YoloOnnxDetector(YoloOnnxSettings(str(path), labels=("a", "b")))


def test_letterbox_pads_with_grey_and_records_placement() -> None:
    image, placement = letterbox(np.zeros((576, 768, 3), dtype=np.uint8), 640)
    assert image.shape == (640, 640, 3)
    assert placement.scale == pytest.approx(640 / 768)
    assert (placement.pad_x, placement.pad_y) == (0, 80)
    assert (image[:80] == PAD_VALUE).all() and (image[560:] == PAD_VALUE).all()
    assert (image[80:560] == 0).all()
    back = placement.to_frame(np.array([[0, 80, 640, 560]], dtype=np.float32))
    assert back.tolist() == [pytest.approx([0, 0, 768, 576], abs=1e-3)]


def test_preprocess_is_rgb_nchw_in_unit_range() -> None:
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    image[:] = (10, 20, 255)  # BGR
    blob = preprocess(image, np.float32)
    assert blob.shape == (1, 3, 4, 4) and blob.dtype == np.float32
    assert blob[0, :, 0, 0].tolist() == pytest.approx([1.0, 20 / 255, 10 / 255])
