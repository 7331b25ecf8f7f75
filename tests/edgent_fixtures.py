"""Recorded Edgent inputs (tests/fixtures/edgent): profiles of this project's CI-class machine
(2 cores, shared with other jobs, so one thread each: `appliance plan profile --threads 1`) and
the layouts of YOLOv8n exported at 160 and 96 px (`appliance plan layout`, tensor names
dropped). A Pi-class camera node is emulated as the recorded camera CPU `CAMERA_SLOWDOWN`x slower.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from pipelines.edgent.layout import ModelLayout
from pipelines.edgent.planner import Estimator, Exit, Link
from pipelines.edgent.regression import DeviceProfile

FIXTURES = Path(__file__).parent / "fixtures" / "edgent"
CAMERA_SLOWDOWN = 10.0
FULL, SMALL = "yolov8n-160", "yolov8n-96"


def profile(name: str) -> DeviceProfile:
    return DeviceProfile.from_dict(json.loads((FIXTURES / f"{name}.json").read_text()))


def layout(size: int) -> ModelLayout:
    return ModelLayout.from_dict(json.loads((FIXTURES / f"yolov8n-{size}.layout.json").read_text()))


def exits() -> list[Exit]:
    """The full model and a cheaper exit (a smaller input) that agrees with it 80% of the time."""
    return [Exit(FULL, 1.0, layout(160)), Exit(SMALL, 0.8, layout(96))]


def estimator() -> Estimator:
    camera = profile("camera")
    slow = replace(camera, scale=camera.scale * CAMERA_SLOWDOWN)
    return Estimator(slow, profile("edge"), Link(bytes_per_element=2.0))
