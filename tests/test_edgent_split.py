"""Collaborative inference on a real YOLOv8n export: head on the camera, tail on the edge.

The model is `appliance models pull yolov8n.yaml --imgsz 160` with live random weights (see
tests/edgent_models.py); the input is a real vtest frame. Split at any node and sent losslessly,
the two halves give exactly the unsplit model's output; sent as float16 or int8, close to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import pytest

from pipelines.edgent.codec import TensorCodec
from pipelines.edgent.runner import collaborative, run_split
from pipelines.edgent.sessions import open_session, session_options
from pipelines.edgent.split import SplitError, model_layout, split_model
from tests.edgent_models import export_yolov8n, live_weights, vtest_blob

SIZE = 160


@pytest.fixture(scope="module")
def yolo(tmp_path_factory: pytest.TempPathFactory) -> onnx.ModelProto:
    path = export_yolov8n(tmp_path_factory.mktemp("yolo"), SIZE)
    return live_weights(onnx.load(str(path)))


@pytest.fixture(scope="module")
def blob() -> npt.NDArray[np.float32]:
    return vtest_blob(SIZE)


@pytest.fixture(scope="module")
def reference(yolo: onnx.ModelProto, blob: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    session = open_session(yolo.SerializeToString(), session_options())
    output: npt.NDArray[np.float32] = session.run(None, {"images": blob})[0]
    return output


def node_index(model: onnx.ModelProto, name: str) -> int:
    return next(i for i, n in enumerate(model.graph.node) if n.name == name)


def test_the_output_depends_on_the_image(
    yolo: onnx.ModelProto, blob: npt.NDArray[np.float32], reference: npt.NDArray[np.float32]
) -> None:
    # Otherwise equality after a split would prove nothing.
    other = vtest_blob(SIZE, frame=400)
    session = open_session(yolo.SerializeToString(), session_options())
    moved = np.abs(session.run(None, {"images": other})[0] - reference)
    assert moved[:, :4].max() > 1.0  # box coordinates, in input pixels
    assert moved[:, 4:].max() > 0.1  # class scores


def cuts_to_check(model: onnx.ModelProto) -> list[int]:
    count = len(model.graph.node)
    return [
        0,  # edge-only: the image crosses
        1,  # after the first convolution
        node_index(model, "/model.4/cv2/act/Mul") + 1,  # end of P3: one tensor crosses
        node_index(model, "/model.12/Concat"),  # inside the neck: skip connections cross too
        count - 1,
        count,  # device-only
    ]


def test_split_anywhere_gives_the_unsplit_output_exactly(
    yolo: onnx.ModelProto, blob: npt.NDArray[np.float32], reference: npt.NDArray[np.float32]
) -> None:
    for cut in cuts_to_check(yolo):
        outputs = run_split(yolo, cut, {"images": blob}, TensorCodec("float32"))
        np.testing.assert_allclose(outputs["output0"], reference, rtol=1e-5, atol=1e-5)


def test_every_third_cut_gives_the_unsplit_output(
    yolo: onnx.ModelProto, blob: npt.NDArray[np.float32], reference: npt.NDArray[np.float32]
) -> None:
    for cut in range(2, len(yolo.graph.node), 3):
        outputs = run_split(yolo, cut, {"images": blob}, TensorCodec("float32"))
        np.testing.assert_allclose(outputs["output0"], reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("encoding", "box_px", "score"), [("float16", 0.5, 0.005), ("int8", 4.0, 0.1)]
)
def test_lossy_encodings_stay_close_to_the_unsplit_output(
    yolo: onnx.ModelProto,
    blob: npt.NDArray[np.float32],
    reference: npt.NDArray[np.float32],
    encoding: str,
    box_px: float,
    score: float,
) -> None:
    cut = node_index(yolo, "/model.4/cv2/act/Mul") + 1
    outputs = run_split(yolo, cut, {"images": blob}, TensorCodec(encoding))  # type: ignore[arg-type]
    error = np.abs(outputs["output0"] - reference)
    assert error[:, :4].max() < box_px
    assert error[:, 4:].max() < score


def test_layout_names_the_tensors_each_split_sends(yolo: onnx.ModelProto) -> None:
    layout = model_layout(yolo, "yolov8n")
    count = len(yolo.graph.node)
    assert len(layout.layers) == count and len(layout.cuts) == count + 1
    assert layout.cuts[0].tensors == ("images",) and layout.cuts[0].elements == 3 * SIZE * SIZE
    assert layout.cuts[count].elements == 0  # device-only sends detections, not a tensor
    p3 = node_index(yolo, "/model.4/cv2/act/Mul") + 1
    assert layout.cuts[p3].tensors == ("/model.4/cv2/act/Mul_output_0",)
    assert layout.cuts[p3].elements == 64 * (SIZE // 8) ** 2
    neck = layout.cuts[node_index(yolo, "/model.12/Concat")]
    assert len(neck.tensors) > 1  # the P4 skip connection crosses with the upsampled P5
    for cut in cuts_to_check(yolo)[1:-1]:
        split = split_model(yolo, cut)
        assert split.tensors == layout.cuts[cut].tensors
        assert split.head is not None and split.tail is not None
        assert len(split.head.graph.node) + len(split.tail.graph.node) == count


def test_the_two_ends_run_on_one_side_only(yolo: onnx.ModelProto) -> None:
    edge_only = split_model(yolo, 0)
    assert edge_only.head is None and edge_only.tail is not None
    device_only = split_model(yolo, len(yolo.graph.node))
    assert device_only.tail is None and device_only.head is not None
    with pytest.raises(SplitError, match="outside"):
        split_model(yolo, len(yolo.graph.node) + 1)


def test_the_message_is_smaller_than_the_float32_tensor(
    yolo: onnx.ModelProto, blob: npt.NDArray[np.float32]
) -> None:
    cut = node_index(yolo, "/model.4/cv2/act/Mul") + 1
    raw = 4 * 64 * (SIZE // 8) ** 2
    sizes = {}
    for encoding in ("float32", "float16", "int8"):
        device, edge = collaborative(yolo, cut, TensorCodec(encoding))  # type: ignore[arg-type]
        sent = device.run({"images": blob})
        sizes[encoding] = len(sent.message)
        outputs, _ = edge.run(sent.message)
        assert outputs["output0"].shape == (1, 84, sum((SIZE // s) ** 2 for s in (8, 16, 32)))
    assert sizes["int8"] < sizes["float16"] < sizes["float32"] <= raw + 1024
    assert sizes["float16"] < 0.6 * raw


def test_a_saved_split_loads_on_its_own(tmp_path: Path, yolo: onnx.ModelProto) -> None:
    split = split_model(yolo, 50)
    assert split.head is not None and split.tail is not None
    onnx.checker.check_model(split.head)
    onnx.save(split.tail, str(tmp_path / "tail.onnx"))
    tail = open_session(str(tmp_path / "tail.onnx"), session_options())
    assert [i.name for i in tail.get_inputs()] == list(split.tensors)
