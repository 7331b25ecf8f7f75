"""The default YOLO model (Darknet YOLOv3-tiny, converted with dynamic input sides) on real
frames: rectangular full-frame inference, and the cascade's regions exit (`detect_regions`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import pytest

from appliance.models.darknet import heads
from appliance.models.darknet.convert import ConvertSettings, convert
from appliance.models.darknet.graph import GraphBuilder, LayerOutput
from pipelines.cascade import CascadeSettings, EarlyExitCascade, Exit
from pipelines.cascade_regions import absorb, overlaps
from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST
from pipelines.detectors.letterbox import Letterbox, letterbox
from pipelines.detectors.onnx_yolo import YoloOnnxDetector, preprocess
from pipelines.detectors.yolo_regions import Tile, inside_regions, plan_tiles, tile_candidates
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from pipelines.metrics import LabelledBox, score_clip
from pipelines.types import Box, Detection
from tests.footage import vtest_frames
from tests.onnx_models import candidates, constant_model

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "data" / "models"
SOURCES = MODELS / "darknet" / "yolov3-tiny"
Image = npt.NDArray[np.uint8]
SURE = 0.35
"""Detections at least this confident must be found by both passes."""


@pytest.fixture(scope="module")
def model(trained_model: Path) -> Path:
    return trained_model


@pytest.fixture(scope="module")
def detector(model: Path) -> YoloOnnxDetector:
    return yolo(model)


def yolo(model: Path, **settings: Any) -> YoloOnnxDetector:
    return YoloOnnxDetector(
        YoloOnnxSettings(
            str(model),
            interest=DEFAULT_LABELS_OF_INTEREST,
            providers=("CPUExecutionProvider",),
            **settings,
        )
    )


def labelled(found: list[Detection]) -> list[LabelledBox]:
    return [LabelledBox(d.label, d.box) for d in found]


def edge_gap(a: Box, b: Box) -> float:
    return max(abs(a.x1 - b.x1), abs(a.y1 - b.y1), abs(a.x2 - b.x2), abs(a.y2 - b.y2))


def assert_same_objects(ours: list[Detection], theirs: list[Detection], px: float) -> None:
    """Each confident detection of either list has one of the same label in the other with
    every box edge within `px` frame pixels (near the confidence threshold, a crop's slightly
    different score may fall either side of it)."""
    for one, other in ((ours, theirs), (theirs, ours)):
        for d in one:
            if d.confidence < SURE:
                continue
            gaps = [edge_gap(o.box, d.box) for o in other if o.label == d.label]
            assert min(gaps, default=np.inf) <= px, (d, other)


def grown(box: Box, fraction: float) -> Box:
    dx, dy = box.width * fraction, box.height * fraction
    return Box(box.x1 - dx, box.y1 - dy, box.x2 + dx, box.y2 + dy).clipped(768, 576)


def union(boxes: list[Box]) -> Box:
    return Box(
        min(b.x1 for b in boxes),
        min(b.y1 for b in boxes),
        max(b.x2 for b in boxes),
        max(b.y2 for b in boxes),
    )


# The converter: dynamic input sides, grid offsets computed in the graph.


def constant_grid(graph: GraphBuilder, base: str, x: LayerOutput) -> str:
    """The converter's grid as it was: a constant for the nominal input side only."""
    cells = np.stack(np.meshgrid(np.arange(x.width), np.arange(x.height)), 0)
    return graph.constant(f"{base}_grid", cells.reshape(1, 1, 2, -1).astype(np.float32))


def test_dynamic_model_gives_the_fixed_size_output_at_416_and_runs_at_320x416(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = onnx.load(str(model)).graph
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, "height", "width"]
    out_dims = [d.dim_param or d.dim_value for d in graph.output[0].type.tensor_type.shape.dim]
    assert out_dims == ["batch", 84, "candidates"]
    monkeypatch.setattr(heads, "_grid", constant_grid)
    fixed = tmp_path / "fixed-grid.onnx"
    convert(
        ConvertSettings(
            SOURCES / "yolov3-tiny.cfg",
            SOURCES / "yolov3-tiny.weights",
            SOURCES / "yolov3-tiny.names",
            fixed,
        )
    )
    dynamic = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    before = ort.InferenceSession(str(fixed), providers=["CPUExecutionProvider"])
    assert dynamic.get_modelmeta().custom_metadata_map["imgsz"] == "[416, 416]"
    frame = vtest_frames(200, 1)[0]
    square = preprocess(letterbox(frame, 416)[0], np.float32)
    ours = dynamic.run(None, {"images": square})[0]
    assert ours.shape == (1, 84, 3 * (13 * 13 + 26 * 26))
    np.testing.assert_array_equal(ours, before.run(None, {"images": square})[0])
    rect = preprocess(letterbox(frame, 416, 32)[0], np.float32)
    assert rect.shape == (1, 3, 320, 416)
    output = dynamic.run(None, {"images": rect})[0]
    assert output.shape == (1, 84, 3 * (10 * 13 + 20 * 26))
    # Cell offsets follow the 13-wide, 10-high grid: first head's centres step by 32 px.
    cx, cy = output[0, 0, : 10 * 13], output[0, 1, : 10 * 13]
    columns, rows = np.floor(cx / 32), np.floor(cy / 32)
    assert (np.abs(columns - np.tile(np.arange(13), 10)) <= 1).mean() > 0.9
    assert (np.abs(rows - np.repeat(np.arange(10), 13)) <= 1).mean() > 0.9


# Rectangular full-frame inference.


def test_the_nominal_side_comes_from_the_imgsz_metadata(detector: YoloOnnxDetector) -> None:
    assert detector.dynamic and detector.regions_supported
    assert detector.input_size == 416 and detector.stride == 32


def test_dynamic_model_without_imgsz_falls_back_to_640_and_with_it_uses_it(
    tmp_path: Path,
) -> None:
    rows = [(100, 100, 50, 50, (0.9, 0.0))]
    path = constant_model(
        tmp_path / "dyn.onnx",
        candidates(rows),
        input_shape=("b", 3, "h", "w"),
        names={0: "a", 1: "b"},
    )
    assert YoloOnnxDetector(YoloOnnxSettings(str(path))).input_size == 640
    meta = onnx.load(str(path))
    onnx.helper.set_model_props(meta, {"names": "{0: 'a', 1: 'b'}", "imgsz": "[320, 320]"})
    onnx.save(meta, str(path))
    assert YoloOnnxDetector(YoloOnnxSettings(str(path))).input_size == 320
    assert YoloOnnxDetector(YoloOnnxSettings(str(path), input_size=480)).input_size == 480


def test_rectangular_letterbox_pads_the_short_side_to_the_stride_only() -> None:
    image, placement = letterbox(np.zeros((576, 768, 3), np.uint8), 416, 32)
    assert image.shape == (320, 416, 3)
    assert placement == Letterbox(416 / 768, 0, 4)
    image, placement = letterbox(np.zeros((272, 640, 3), np.uint8), 416, 32)
    assert image.shape == (192, 416, 3)  # bikes: 416x177 -> 192, not 416
    assert letterbox(np.zeros((576, 768, 3), np.uint8), 416)[0].shape == (416, 416, 3)


def test_rectangular_detect_agrees_with_square(model: Path, detector: YoloOnnxDetector) -> None:
    square = yolo(model, rect=False)
    frames = [vtest_frames(i, 1)[0] for i in range(0, 795, 100)]
    ours = [labelled(detector.detect(f)) for f in frames]
    theirs = [labelled(square.detect(f)) for f in frames]
    assert sum(map(len, theirs)) >= 30
    assert score_clip(ours, theirs).f1 >= 0.95


# detect_regions: what detect finds in the whole frame, for the objects inside the regions.


def test_the_whole_frame_as_one_region_is_exactly_detect(detector: YoloOnnxDetector) -> None:
    frame = vtest_frames(300, 1)[0]
    found = detector.detect_regions(frame, [Box(0, 0, 768, 576)])
    assert found == detector.detect(frame)


def cascade_region(around: list[Detection], everything: list[Detection]) -> Box:
    """A region as the cascade makes one: a change grown by half its size on every side,
    taking in whole every earlier detection it touches."""
    grown_change = grown(union([d.box for d in around]), 0.5)
    return absorb([grown_change], [d.box for d in everything])[0].clipped(768, 576)


def test_a_region_around_people_finds_those_people(detector: YoloOnnxDetector) -> None:
    for frame in vtest_frames(100, 1) + vtest_frames(700, 1):
        everything = detector.detect(frame)
        people = [d for d in everything if d.label == "person"]
        assert len(people) >= 3
        for group in ([people[0]], people[1:3]):
            region = cascade_region(group, everything)
            expected = inside_regions(everything, [region])
            assert set(map(id, group)) <= set(map(id, expected))
            assert_same_objects(detector.detect_regions(frame, [region]), expected, px=6)


def test_several_regions_at_once_find_what_each_finds(detector: YoloOnnxDetector) -> None:
    frame = vtest_frames(400, 1)[0]
    everything = detector.detect(frame)
    people = sorted((d for d in everything if d.label == "person"), key=lambda d: d.box.x1)
    regions = [cascade_region([people[0]], everything), cascade_region([people[-1]], everything)]
    assert not overlaps(*regions)
    found = detector.detect_regions(frame, regions)
    assert_same_objects(found, inside_regions(everything, regions), px=6)
    assert len(found) >= 2


def test_a_region_with_nothing_in_it_finds_nothing(detector: YoloOnnxDetector) -> None:
    frame = vtest_frames(100, 1)[0]
    empty = Box(0, 0, 300, 130)  # the wall at the top left
    assert not any(d.box.iou(empty) > 0 for d in detector.detect(frame))
    assert detector.detect_regions(frame, [empty]) == []
    assert detector.detect_regions(frame, []) == []


def test_a_model_with_a_fixed_input_side_does_not_take_regions(tmp_path: Path) -> None:
    rows = [(320, 320, 100, 100, (0.9, 0.0))]
    path = constant_model(tmp_path / "fixed.onnx", candidates(rows), names={0: "person", 1: "car"})
    fixed = YoloOnnxDetector(YoloOnnxSettings(str(path)))
    assert not fixed.dynamic and not fixed.regions_supported
    assert not EarlyExitCascade(fixed).uses_regions
    frame = np.zeros((480, 640, 3), np.uint8)  # the person at (160, 160)-(480, 480)
    assert len(fixed.detect_regions(frame, [Box(100, 100, 500, 500)])) == 1
    assert fixed.detect_regions(frame, [Box(0, 0, 100, 100)]) == []


# The cascade's regions exit on the YOLO model.


def test_regions_exit_agrees_with_the_full_detector_on_walking_people(
    detector: YoloOnnxDetector,
) -> None:
    cascade = EarlyExitCascade(detector, settings=CascadeSettings(full_interval_s=60))
    assert cascade.uses_regions
    ours, theirs, scanned = [], [], []
    for i, frame in enumerate(vtest_frames(150, 12)):
        answer = cascade.run(frame, i / 10)
        cascade.commit(answer)
        assert answer.exit is (Exit.FULL if i == 0 else Exit.REGIONS)
        scanned.append(answer.scanned)
        ours.append(labelled(answer.detections))
        theirs.append(labelled(detector.detect(frame)))
    assert score_clip(ours, theirs).f1 >= 0.95
    assert max(scanned[1:]) < 0.6


# Tiles: pure geometry.


def test_tiles_are_on_the_stride_grid_merged_and_inside_the_picture() -> None:
    placement = Letterbox(0.5, 0, 16)  # a 768x576 frame in a 384x320 picture
    picture = (320, 384)
    tiles = plan_tiles([Box(100, 100, 200, 300)], placement, picture, 32, 0)
    assert tiles == [Tile(32, 64, 128, 192)]  # (50, 66)-(100, 166) outwards to the grid
    corners = [Box(0, 0, 40, 40), Box(700, 500, 768, 576)]
    assert plan_tiles(corners, placement, picture, 32, 16) == [
        Tile(0, 0, 64, 64),
        Tile(320, 224, 384, 320),
    ]
    overlapping = [Box(100, 100, 200, 200), Box(180, 180, 260, 260)]
    assert plan_tiles(overlapping, placement, picture, 32, 0) == [Tile(32, 64, 160, 160)]
    most = [Box(0, 0, 768, 440)]  # 384x256 of the 384x320 picture: as dear as all of it
    assert plan_tiles(most, placement, picture, 32, 0) == [Tile(0, 0, 384, 320)]


def test_candidates_cut_by_an_inner_tile_edge_are_dropped() -> None:
    picture = np.zeros((320, 416, 3), np.uint8)
    rows = [
        (32, 32, 40, 40, (0.9,)),  # well inside the tile
        (62, 32, 10, 10, (0.9,)),  # reaches the tile's right edge (inside the picture)
        (4, 32, 10, 10, (0.9,)),  # reaches its left edge, which is the picture's own
    ]

    def infer(crops: list[Image]) -> npt.NDArray[np.float32]:
        assert [c.shape for c in crops] == [(64, 64, 3)]
        return candidates(rows)

    out = tile_candidates(picture, [Tile(0, 64, 64, 128)], infer, batches=True)
    assert out.shape == (1, 5, 2)
    assert out[0, :2].T.tolist() == [[32, 96], [4, 96]]


def test_detections_mostly_outside_the_regions_are_left_out() -> None:
    region = Box(0, 0, 100, 100)
    inside = Detection("person", 0.9, Box(10, 10, 60, 110))  # 90% inside
    half = Detection("person", 0.9, Box(50, 50, 150, 100))  # 50% inside
    outside = Detection("person", 0.9, Box(80, 80, 180, 180))  # 4% inside
    assert inside_regions([inside, half, outside], [region]) == [inside, half]


@pytest.mark.parametrize("batches", [True, False])
def test_tiles_of_one_shape_run_as_one_batch_when_the_model_batches(batches: bool) -> None:
    picture = np.zeros((320, 416, 3), np.uint8)
    tiles = [Tile(0, 0, 64, 64), Tile(128, 128, 192, 192), Tile(256, 0, 384, 64)]
    runs: list[list[tuple[int, ...]]] = []

    def infer(crops: list[Image]) -> npt.NDArray[np.float32]:
        runs.append([c.shape for c in crops])
        return np.concatenate([candidates([(32, 32, 20, 20, (0.9,))])] * len(crops))

    out = tile_candidates(picture, tiles, infer, batches)
    if batches:
        assert runs == [[(64, 64, 3), (64, 64, 3)], [(64, 128, 3)]]
    else:
        assert runs == [[(64, 64, 3)], [(64, 64, 3)], [(64, 128, 3)]]
    assert out[0, :2].T.tolist() == [[32, 32], [160, 160], [288, 32]]
