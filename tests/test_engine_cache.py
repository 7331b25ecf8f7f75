"""TensorRT keeps the engines it builds in a folder, so a Jetson edge box pays for building
them only on its first start after a model change, not on every start."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from appliance.edge.config import DetectorConfig, YoloOnnxConfig
from appliance.edge.detector import ENGINES_DIR, engine_cache
from pipelines.detectors.onnx_yolo import TENSORRT, provider_entries

GPU_ORDER = [TENSORRT, "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_tensorrt_gets_its_engine_cache_and_the_others_are_untouched() -> None:
    entries = provider_entries(GPU_ORDER, "/var/lib/appliance/engines")
    assert entries[1:] == GPU_ORDER[1:]
    name, options = entries[0]
    assert name == TENSORRT
    assert options["trt_engine_cache_enable"] == "True"
    assert options["trt_engine_cache_path"] == "/var/lib/appliance/engines"
    assert options["trt_timing_cache_path"] == "/var/lib/appliance/engines"
    assert provider_entries(GPU_ORDER, None) == GPU_ORDER


def test_a_folder_in_the_config_wins_over_the_data_dir_default(tmp_path: Path) -> None:
    model = {"model_path": "m.onnx"}
    assert YoloOnnxConfig(**model).settings(tmp_path / "a").engine_cache_dir == str(tmp_path / "a")
    named = YoloOnnxConfig(**model, engine_cache_dir=tmp_path / "b")
    assert named.settings(tmp_path / "a").engine_cache_dir == str(tmp_path / "b")
    assert YoloOnnxConfig(**model).settings().engine_cache_dir is None


def test_the_engine_folder_is_made_only_where_tensorrt_is_installed(tmp_path: Path) -> None:
    config = DetectorConfig(kind="yolo-onnx", yolo_onnx={"model_path": "m.onnx"})
    folder = engine_cache(config, tmp_path)
    if TENSORRT in ort.get_available_providers():
        assert folder == tmp_path / ENGINES_DIR and folder.is_dir()
    else:  # a CPU machine: nothing to cache, nothing made
        assert folder is None and not (tmp_path / ENGINES_DIR).exists()
