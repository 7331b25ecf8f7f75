"""A motion mask and the camera's tiny detector as an ONNX model (`tiny_detector.kind:
yolo-onnx`): an object whose box lies mostly inside the mask does not make a frame worth
sending. Real vtest frames through onnxruntime; the model (tests/onnx_models.py) finds two
people wherever it looks, so what the mask changes is all that differs between the runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.detectors.onnx_yolo import YoloOnnxDetector
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from pipelines.frame_difference import DifferenceSettings, SendReason
from pipelines.masks import MotionMask, Polygon
from pipelines.motion import MotionSettings
from pipelines.selection import FrameSelector, Selection
from pipelines.types import Box
from tests.footage import vtest_frames
from tests.onnx_models import candidates, constant_model

TWO_PEOPLE = [(100.0, 200.0, 40.0, 100.0, (0.9, 0.0)), (400.0, 260.0, 40.0, 100.0, (0.8, 0.1))]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("masks-tiny")
    names = {0: "person", 1: "car"}
    return constant_model(folder / "two.onnx", candidates(TWO_PEOPLE), names=names)


def changed_frame(model: Path, masks: list[Polygon]) -> Selection:
    """The selector's choice on a vtest frame after a first one was sent, nothing tracked."""
    detector = YoloOnnxDetector(YoloOnnxSettings(model_path=str(model)))
    settings = DifferenceSettings(threshold=0.01, max_interval_s=0)
    chooser = FrameSelector(settings, MotionSettings(), 0.003, detector)
    chooser.motion_mask = MotionMask(masks)
    chooser.set_tracking(False)
    first, later = vtest_frames(100, 6)[::5]  # people moved between the two
    chooser.decide(first, 0.0)
    chooser.commit_last()
    return chooser.decide(later, 0.5)


def over(box: Box, share: float) -> Polygon:
    """A rectangle over the left `share` of `box`."""
    right = box.x1 + share * (box.x2 - box.x1)
    return ((box.x1, box.y1), (right, box.y1), (right, box.y2), (box.x1, box.y2))


def test_objects_mostly_inside_a_motion_mask_do_not_make_a_frame_worth_sending(
    model: Path,
) -> None:
    unmasked = changed_frame(model, [])
    assert unmasked.decision.send and unmasked.utility == 2.0
    first, second = (d.box for d in unmasked.found())

    one = changed_frame(model, [over(first, 1.0), over(second, 0.3)])  # the second barely
    assert [d.box for d in one.found()] == [second] and one.decision.send

    both = changed_frame(model, [over(first, 1.0), over(second, 0.8)])
    assert both.found() == [] and both.utility == 0.0
    assert not both.decision.send and both.decision.reason is SendReason.NOTHING_OF_INTEREST
    assert np.isclose(MotionMask([over(second, 0.8)]).covered(second, (768, 576)), 0.8, atol=0.05)
