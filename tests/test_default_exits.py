"""The trained default detector's exits (appliance/plan/default_exits.py), from the real Darknet
weights set-up fetches: the coarse head alone is an early exit that gives exactly the full
model's coarse candidates, every one of its layers is a layer of the full model (so its cuts
are the full model's cuts), and each exit's accuracy is measured on footage once and cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from appliance.models.darknet.convert import ConvertSettings, convert
from appliance.models.darknet.pull import SOURCES_DIR
from appliance.plan import default_exits
from pipelines.detectors.letterbox import letterbox
from pipelines.detectors.onnx_yolo import preprocess
from pipelines.edgent.exits import load_exit
from tests.footage import vtest_frames
from tests.test_darknet_convert import MODELS, Pulled, pulled_yolov3_tiny


@pytest.fixture(scope="module")
def pulled() -> Pulled:
    return pulled_yolov3_tiny()


def convert_at(pulled: Pulled, target: Path, heads: tuple[int, ...] | None) -> Path:
    settings = ConvertSettings(
        pulled.cfg, pulled.weights, pulled.names, target, 320, heads, static=True
    )
    return convert(settings).output


def test_the_coarse_exit_is_the_full_models_first_head(pulled: Pulled, tmp_path: Path) -> None:
    full = convert_at(pulled, tmp_path / "full.onnx", None)
    coarse = convert_at(pulled, tmp_path / "coarse.onnx", (0,))
    image, _ = letterbox(vtest_frames(100, 1)[0], 320)
    blob = preprocess(image, np.float32)
    (whole,) = ort.InferenceSession(str(full)).run(None, {"images": blob})
    (early,) = ort.InferenceSession(str(coarse)).run(None, {"images": blob})
    assert early.shape == (1, 84, 3 * 10 * 10) and whole.shape == (1, 84, 3 * (100 + 400))
    np.testing.assert_array_equal(early, whole[:, :, : early.shape[2]])
    full_layers = [n.name for n in onnx.load(str(full)).graph.node]
    coarse_layers = [n.name for n in onnx.load(str(coarse)).graph.node]
    assert len(coarse_layers) < len(full_layers)
    # In the full model's order: a prefix of its cuts, and nothing the fine head needs.
    assert [n for n in full_layers if n in set(coarse_layers)] == coarse_layers
    assert not any("upsample" in n for n in coarse_layers)


def test_no_head_or_a_head_twice_is_refused(pulled: Pulled, tmp_path: Path) -> None:
    from appliance.models.errors import ModelToolError

    for heads in ((), (2,), (0, 0)):
        with pytest.raises(ModelToolError, match=r"pick distinct heads among 0\.\.1"):
            convert_at(pulled, tmp_path / "bad.onnx", heads)


def test_the_family_is_built_and_measured_once(
    pulled: Pulled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / SOURCES_DIR).symlink_to(MODELS / SOURCES_DIR)  # the release set-up fetched
    monkeypatch.setattr(default_exits, "EXIT_SIZES", (256,))
    monkeypatch.setattr(default_exits, "INT8_HEADS", ())  # tests/test_int8_exits.py
    monkeypatch.setattr(default_exits, "ACCURACY_FRAMES", 6)
    monkeypatch.setattr(default_exits, "ACCURACY_STEP", 130)
    exits = default_exits.exit_models(tmp_path)
    assert [e.name for e in exits] == ["full-256", "coarse-256"]
    assert all(onnx.load(str(e.path)).graph.input[0].type.tensor_type.shape.dim[2].dim_value
               == 256 for e in exits)  # fmt: skip
    # What a camera node and the edge load as Edgent exits (static input and output).
    loaded = [load_exit(e.name, e.path) for e in exits]
    assert [m.input_size for m in loaded] == [256, 256]
    measured = default_exits.exit_accuracies(tmp_path, exits)
    assert set(measured) == {"full-256", "coarse-256"}
    assert all(m.frames == 6 and m.video == "vtest" for m in measured.values())
    assert 0 <= measured["coarse-256"].f1 < measured["full-256"].f1 <= 1
    # Measured once: the next call reads the cache beside the models.
    monkeypatch.setattr(
        "appliance.plan.accuracy.exit_accuracy", lambda *a, **k: pytest.fail("measured again")
    )
    again = default_exits.exit_accuracies(tmp_path, exits)
    assert again == measured
    planned = {p.name: p for p in default_exits.default_planned_exits(tmp_path)}
    assert planned["full-256"].source.startswith("measured: F1 on")
