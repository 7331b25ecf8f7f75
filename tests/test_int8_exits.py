"""INT8 variants of the default detector's exits (appliance/plan/int8_exits.py), built from the
real Darknet weights by `exit_models`: saved as onnxruntime's fused int8 graph, they load as
Edgent exits, split anywhere (uint8 tensors crossing as they are) with the unsplit model's
detections, and the profile of this machine fits the very kernels their layouts name."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest

from appliance.models.darknet.pull import SOURCES_DIR
from appliance.plan import default_exits
from appliance.plan.profile import ProfileSettings, measure_model, profile_device
from pipelines.edgent.codec import TensorCodec
from pipelines.edgent.exits import load_exit
from pipelines.edgent.planner import Estimator, Link
from pipelines.edgent.runner import collaborative, run_split
from pipelines.edgent.sessions import open_session, session_options
from pipelines.edgent.split import model_layout
from tests.footage import vtest_frames
from tests.test_darknet_convert import (
    MODELS,
    assert_same_detections,
    blob_of,
    detections,
    pulled_yolov3_tiny,
)

SIZE = 256
FRAME = 500  # not a calibration frame: those avoid every 13th, and 500 is not one either way


@dataclass(frozen=True)
class Family:
    folder: Path
    exits: dict[str, default_exits.DefaultExit]


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Family]:
    pulled_yolov3_tiny()  # the release set-up fetched
    folder = tmp_path_factory.mktemp("int8-exits")
    (folder / SOURCES_DIR).symlink_to(MODELS / SOURCES_DIR)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(default_exits, "EXIT_SIZES", (SIZE,))
        patch.setattr(default_exits, "ACCURACY_FRAMES", 6)
        patch.setattr(default_exits, "ACCURACY_STEP", 130)
        built = default_exits.exit_models(folder)
        yield Family(folder, {e.name: e for e in built})


def test_int8_exits_are_built_as_fused_kernels_and_load_as_exits(family: Family) -> None:
    assert list(family.exits) == ["full-256", "coarse-256", "full-256-int8"]
    int8 = family.exits["full-256-int8"]
    loaded = load_exit(int8.name, int8.path)
    assert loaded.input_size == SIZE and loaded.input_dtype is np.float32
    ops = Counter(node.op_type for node in loaded.model.graph.node)
    # What onnxruntime executes: the convolutions are int8 kernels, no float Conv is left.
    assert ops["QLinearConv"] == 13 and ops["Conv"] == 0
    meta = {p.key: p.value for p in loaded.model.metadata_props}
    assert meta["int8_calibration"].startswith("32 frames of vtest")
    # Built once: the next call finds it up to date and leaves the file alone.
    stamp = int8.path.stat().st_mtime_ns
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(default_exits, "EXIT_SIZES", (SIZE,))
        again = default_exits.exit_models(family.folder)
    assert [e.name for e in again] == list(family.exits)
    assert int8.path.stat().st_mtime_ns == stamp


def test_int8_accuracy_is_measured_beside_the_fp32_exits(family: Family) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(default_exits, "ACCURACY_FRAMES", 6)
        patch.setattr(default_exits, "ACCURACY_STEP", 130)
        measured = default_exits.exit_accuracies(family.folder, list(family.exits.values()))
    int8, fp32 = measured["full-256-int8"], measured["full-256"]
    assert int8.frames == 6 and Path(int8.model).name.endswith("-int8.onnx")
    assert int8.detections > 0
    # Quantisation costs little next to the input size: it stays near its FP32 source.
    assert abs(int8.f1 - fp32.f1) <= 0.15, (int8, fp32)


def cut_after(model: onnx.ModelProto, op_type: str, nth: int) -> int:
    """The cut just after the `nth` node of this op type."""
    indices = [i for i, node in enumerate(model.graph.node) if node.op_type == op_type]
    return indices[nth] + 1


def test_a_split_int8_exit_gives_the_whole_models_detections(family: Family) -> None:
    int8 = family.exits["full-256-int8"]
    model = onnx.load(str(int8.path))
    layout = model_layout(model, int8.name)
    frame = vtest_frames(FRAME, 1)[0]
    blob, placement = blob_of(frame, SIZE)
    session = open_session(model.SerializeToString(), session_options())
    whole = detections(session.run(None, {"images": blob})[0], placement, labels())
    assert any(d.label == "person" for d in whole)
    # After the 4th fused activation a uint8 tensor crosses; after the 3rd pool a float one.
    for cut, raw in ((cut_after(model, "QLinearLeakyRelu", 3), True),
                     (cut_after(model, "MaxPool", 2), False)):  # fmt: skip
        crossing = layout.cuts[cut]
        assert (crossing.raw_bytes > 0, crossing.elements > 0) == (raw, not raw)
        codec = TensorCodec("float32")
        outputs = run_split(model, cut, {"images": blob}, codec)
        split = detections(next(iter(outputs.values())), placement, labels())
        assert_same_detections(split, whole)
        # What the planner counts as crossing is what the camera sends (header aside).
        device, _ = collaborative(model, cut, codec)
        sent = len(device.run({"images": blob}).message)
        counted = crossing.elements * 4 + crossing.raw_bytes
        assert counted <= sent <= counted + 512, (counted, sent)


def labels() -> tuple[str, ...]:
    return pulled_yolov3_tiny().labels


def test_the_profile_fits_the_kernels_int8_layouts_name(family: Family) -> None:
    fp32, int8 = family.exits["full-256"], family.exits["full-256-int8"]
    settings = ProfileSettings("here", (fp32.path, int8.path), runs=3, threads=1)
    profiled = Counter(s.features.op_type for s in measure_model(int8.path, settings).samples)
    layout = model_layout(onnx.load(str(int8.path)), int8.name)
    # One profiled kernel per layer of the layout, of the same op type.
    assert Counter(f.op_type for f in layout.layers) == profiled
    profile = profile_device(settings)
    assert {f.op_type for f in layout.layers} <= set(profile.fits)
    estimator = Estimator(profile, profile, Link())
    for cut in layout.cuts:
        device_ms, edge_ms = estimator.compute_ms(layout, cut.index)
        assert math.isfinite(device_ms) and math.isfinite(edge_ms)
    whole = {e.name: profile.model_ms(model_layout(onnx.load(str(e.path)), e.name).layers)
             for e in (fp32, int8)}  # fmt: skip
    kernel = {e.name: profile.meta["models"][e.path.name]["kernel_ms"] for e in (fp32, int8)}
    # Predicted faster exactly when its kernels were measured faster.
    assert (whole[int8.name] < whole[fp32.name]) == (kernel[int8.name] < kernel[fp32.name])
    # Each model profiled here is predicted at the wall time measured for it (the op-type fits
    # alone miss an INT8 model by a few percent), and a camera 10x slower at 10x that.
    camera = Estimator(profile.slowed(10.0, "camera"), profile, Link())
    for e in (fp32, int8):
        exit_layout = model_layout(onnx.load(str(e.path)), e.name)
        everything = len(exit_layout.layers)
        wall = profile.meta["models"][e.path.name]["wall_ms"]
        assert estimator.compute_ms(exit_layout, everything)[0] == pytest.approx(wall, rel=1e-6)
        assert camera.compute_ms(exit_layout, everything)[0] == pytest.approx(10 * wall, rel=1e-6)
