"""A light exit head distilled from the default detector (appliance/plan/distill.py), on the
real Darknet weights and real footage: a few epochs on a handful of vtest frames, then the
stitched model is what Edgent loads as an exit and finds the teacher's people again."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from appliance.models.darknet.convert import ConvertSettings, convert
from appliance.models.darknet.release import RELEASES
from appliance.plan.distill import DistillResult, DistillSettings, run_distill
from appliance.plan.distill_data import FrameRange, open_backbone, parse_range
from appliance.plan.distilled_exits import distilled_exits
from appliance.plan.errors import PlanError
from pipelines.detectors.letterbox import letterbox
from pipelines.detectors.onnx_yolo import preprocess
from pipelines.edgent.exits import load_exit
from tests.footage import vtest_frames
from tests.test_darknet_convert import Pulled, pulled_yolov3_tiny

SIZE = 256
FRAMES = FrameRange("vtest", 0, 60, 12)  # 5 frames spread over vtest's first 6 seconds


@pytest.fixture(scope="module")
def pulled() -> Pulled:
    return pulled_yolov3_tiny()


@pytest.fixture(scope="module")
def full_exit(pulled: Pulled, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("exits") / f"full-{SIZE}.onnx"
    settings = ConvertSettings(
        pulled.cfg, pulled.weights, pulled.names, target, SIZE, None, static=True
    )
    return convert(settings).output


@pytest.fixture(scope="module")
def distilled(pulled: Pulled, full_exit: Path) -> DistillResult:
    torch.set_num_threads(1)
    settings = DistillSettings(
        reference=pulled.onnx,
        full_exit=full_exit,
        cfg=pulled.cfg,
        output=full_exit.with_name(f"light-{SIZE}.onnx"),
        train=(FRAMES,),
        held_out=FRAMES,  # scored on the frames it learnt: does it find the teacher's boxes?
        hidden=32,
        epochs=40,
        batch=4,
        timing_runs=0,
    )
    return run_distill(settings)


def test_the_light_exit_is_an_edgent_exit(distilled: DistillResult, full_exit: Path) -> None:
    light = load_exit("light", distilled.output)
    assert light.input_size == SIZE and len(light.labels) == 80
    grid = SIZE // 16  # the head reads the stride-16 map: three anchors per cell
    (output,) = light.model.graph.output
    assert [d.dim_value for d in output.type.tensor_type.shape.dim] == [1, 84, 3 * grid * grid]
    image, _ = letterbox(vtest_frames(0, 1)[0], SIZE)
    (boxes,) = ort.InferenceSession(str(distilled.output)).run(
        None, {"images": preprocess(image, np.float32)}
    )
    assert boxes.shape == (1, 84, 3 * grid * grid) and np.isfinite(boxes).all()
    # Its backbone is the full exit's first layers, so Edgent cuts it where it cuts the full one.
    full_nodes = [n.name for n in onnx.load(str(full_exit)).graph.node]
    backbone = [n.name for n in light.model.graph.node if not n.name.startswith("light_")]
    assert full_nodes[: full_nodes.index("layer8_convolutional_leaky") + 1] == backbone[:14]
    meta = {p.key: p.value for p in light.model.metadata_props}
    assert meta["heads"] == "light" and meta["cut"] == "layer8_convolutional_leaky"
    assert meta["held_out_f1"] == str(distilled.exits[0].f1)


def test_training_learns_the_teachers_boxes(distilled: DistillResult) -> None:
    assert distilled.train_frames == 5 and distilled.teacher_boxes > 10
    assert distilled.losses[-1] < distilled.losses[0] / 2
    (light,) = distilled.exits
    # On the frames it was trained on it finds a good share of what the teacher found.
    assert light.frames == 5 and light.detections > 0
    assert light.f1 > 0.5


def test_the_planner_takes_a_light_exit_with_its_held_out_f1(
    distilled: DistillResult, tmp_path: Path
) -> None:
    weights = RELEASES["yolov3-tiny"].weights.sha256
    shutil.copy(distilled.output, tmp_path / f"yolov3-tiny-light-{SIZE}.onnx")
    model = onnx.load(str(distilled.output))
    for prop in model.metadata_props:
        if prop.key == "weights_sha256":
            prop.value = "0" * 64  # distilled from other weights: not planned with
    onnx.save(model, str(tmp_path / "yolov3-tiny-light-608.onnx"))
    (planned,) = distilled_exits(tmp_path, weights)
    assert planned.name == f"light-{SIZE}" and planned.accuracy == distilled.exits[0].f1
    assert planned.source == "measured: F1 on 5 held-out frames of vtest:0:60:12"


def test_bad_frames_and_cuts_are_named(full_exit: Path) -> None:
    for text in ("vtest:10:5", "vtest:a:b", ":0:5", "vtest:0"):
        with pytest.raises(PlanError, match="frames"):
            parse_range(text)
    with pytest.raises(PlanError, match=r"no tensor 'layer99'.*layer8_convolutional_leaky"):
        open_backbone(full_exit, "layer99")
