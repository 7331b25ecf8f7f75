"""Real YOLOv8n ONNX exports for the Edgent tests, with weights that keep activations alive.

`appliance models pull yolov8n.yaml` builds an untrained network whose activations fade to
almost nothing a few blocks in (and whose class biases pin every score near 0), so its output
hardly depends on the image: a split that dropped a tensor would still "match". He-initialised
convolutions (a little above He's gain: SiLU loses more than ReLU's half of the variance) with
zero biases keep every layer's output varying with the input: boxes move by ~20 px and class
scores spread over (0, 1) between two vtest frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
from onnx import numpy_helper

from pipelines.detectors.letterbox import letterbox
from pipelines.detectors.onnx_yolo import preprocess
from tests.footage import vtest_frames
from tests.test_models_cli import run_models

# 1.0 lets activations fade over YOLOv8n's ~25 convolutions in depth, 1.2 saturates the scores.
GAIN = 1.14


def export_yolov8n(folder: Path, imgsz: int) -> Path:
    """`appliance models pull yolov8n.yaml --imgsz N` into `folder`; the ONNX file's path."""
    run = run_models(["pull", "yolov8n.yaml", "--imgsz", str(imgsz), "--output", "out"], folder)
    assert run.returncode == 0, run.stderr
    return folder / "out" / f"yolov8n-untrained-{imgsz}.onnx"


def live_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """A copy with every Conv weight redrawn (He-normal x GAIN) and every Conv bias zero."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    rng = np.random.default_rng(seed)
    initializers = {i.name: i for i in model.graph.initializer}
    redrawn: set[str] = set()
    for node in model.graph.node:
        if node.op_type != "Conv" or node.input[1] in redrawn:
            continue
        weight = numpy_helper.to_array(initializers[node.input[1]])
        fan_in = int(np.prod(weight.shape[1:]))
        fresh = rng.standard_normal(weight.shape) * GAIN * np.sqrt(2.0 / fan_in)
        initializers[node.input[1]].CopyFrom(
            numpy_helper.from_array(fresh.astype(np.float32), node.input[1])
        )
        redrawn.add(node.input[1])
        if len(node.input) > 2 and node.input[2]:
            bias = numpy_helper.to_array(initializers[node.input[2]])
            initializers[node.input[2]].CopyFrom(
                numpy_helper.from_array(np.zeros_like(bias), node.input[2])
            )
    return model


def vtest_blob(imgsz: int, frame: int = 100) -> npt.NDArray[np.float32]:
    """A real vtest frame letterboxed and scaled as the YOLO detector feeds its model."""
    image, _ = letterbox(vtest_frames(frame, 1)[0], imgsz)
    blob: npt.NDArray[np.float32] = preprocess(image, np.float32)
    return blob
