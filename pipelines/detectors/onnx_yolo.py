"""Ultralytics YOLO (v8 and later) exported to ONNX, run by onnxruntime on the best provider.

The export's single output is `[1, 4+C, N]`: per candidate a centre-x, centre-y, width, height box
in model-input pixels and C class scores (no objectness score since v8).

A model whose input height and width are dynamic (the project's Darknet conversions) is run
rectangular: the frame's long side is letterboxed to the nominal size (the settings' input_size,
else the model's `imgsz` metadata) and the short side padded only to the next multiple of the
stride. Such a model also answers for regions of a frame (`detect_regions`, the early-exit
cascade's regions exit): see `yolo_regions`.
"""

from __future__ import annotations

import ast
import os
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from pipelines.detectors.batching import BatchRunner
from pipelines.detectors.labels import matching_labels
from pipelines.detectors.letterbox import Letterbox, letterbox, stride_aligned
from pipelines.detectors.yolo_decode import (
    FrameSize,
    YoloDecoding,
    YoloOutputError,
    decode_output,
)
from pipelines.detectors.yolo_regions import inside_regions, plan_tiles, tile_candidates
from pipelines.detectors.yolo_settings import ModelError, YoloOnnxSettings
from pipelines.types import Box, Detection

# Fastest first; onnxruntime silently drops to the next one if a provider fails to initialise.
TENSORRT = "TensorrtExecutionProvider"
PREFERRED_PROVIDERS = (
    TENSORRT,
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)
# Used when the model's input side is dynamic and neither the settings nor the model's `imgsz`
# metadata name one: Ultralytics' default.
DEFAULT_INPUT_SIZE = 640
DEFAULT_STRIDE = 32
INPUT_TYPES: dict[str, type[np.floating[Any]]] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
}


def provider_entries(
    providers: list[str], engine_cache_dir: str | None
) -> list[str | tuple[str, dict[str, str]]]:
    """onnxruntime's `providers` argument. TensorRT builds an engine per model at session start
    (minutes on a Jetson); with a cache folder it keeps them there, and only the first start
    after a model or TensorRT change pays for the build."""
    if engine_cache_dir is None:
        return list(providers)
    options = {
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": engine_cache_dir,
        "trt_timing_cache_enable": "True",
        "trt_timing_cache_path": engine_cache_dir,
    }
    return [(p, options) if p == TENSORRT else p for p in providers]


def choose_providers(requested: tuple[str, ...] | None) -> list[str]:
    """The requested (or preferred) providers this onnxruntime build has, CPU always last resort."""
    available = set(ort.get_available_providers())
    chosen = [p for p in (requested or PREFERRED_PROVIDERS) if p in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


def metadata_labels(session: Any) -> tuple[str, ...] | None:
    """Class names an Ultralytics export stores as `names` = "{0: 'person', ...}", if present."""
    return parse_names(session.get_modelmeta().custom_metadata_map.get("names"))


def parse_names(text: str | None) -> tuple[str, ...] | None:
    """Class names from an Ultralytics export's `names` metadata, "{0: 'person', ...}"."""
    if not text:
        return None
    try:
        names = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    if isinstance(names, dict):
        return tuple(str(names[k]) for k in sorted(names))
    if isinstance(names, list | tuple):
        return tuple(str(n) for n in names)
    return None


def metadata_int(text: str | None) -> int | None:
    """An Ultralytics metadata size: "32", "[416, 416]" (the larger side) or absent."""
    try:
        value = ast.literal_eval(text) if text else None
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, list | tuple) and value and all(isinstance(v, int) for v in value):
        value = max(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def is_static(dim: object) -> bool:
    """onnxruntime reports symbolic dims as strings (or None); only ints are fixed sizes."""
    return isinstance(dim, int) and dim > 0


class YoloOnnxDetector:
    """Finds the model's classes; boxes are returned in the pixels of the frame given."""

    name = "yolo-onnx"

    def __init__(self, settings: YoloOnnxSettings) -> None:
        self.settings = settings
        providers = provider_entries(
            choose_providers(settings.providers), settings.engine_cache_dir
        )
        self._session = self._open(settings.model_path, providers, settings.threads)
        self.providers: list[str] = list(self._session.get_providers())
        from_model = metadata_labels(self._session)
        self.labels = from_model or settings.labels
        self._labels_from = "the model's names metadata gives" if from_model else "settings give"
        meta = self._session.get_modelmeta().custom_metadata_map
        self.stride = metadata_int(meta.get("stride")) or DEFAULT_STRIDE
        self._imgsz = metadata_int(meta.get("imgsz"))
        self._batches = False
        self.dynamic = False
        """Whether the model takes any input side (a multiple of `stride`)."""
        self.input_size, self._dtype = self._check_input()
        self.input_type: str = self._session.get_inputs()[0].type
        self._input_name: str = self._session.get_inputs()[0].name
        self._check_output()
        self.decoding = self._decoding()
        # One run at a time, whatever the number of callers: concurrent runs would each spread
        # their threads over the same cores.
        self.batches = BatchRunner(self._run, settings.max_batch if self._batches else 1)

    @property
    def regions_supported(self) -> bool:
        """Only a model that takes any input side can look at crops of the frame."""
        return self.dynamic

    def detect(self, frame: npt.NDArray[np.uint8]) -> list[Detection]:
        image, placement = self._letterbox(frame)
        return self._decode(self._infer(preprocess(image, self._dtype)), placement, frame)

    def detect_regions(self, frame: npt.NDArray[np.uint8], regions: list[Box]) -> list[Detection]:
        """What `detect` finds in the whole frame, for the objects lying inside `regions` (at
        least half of each box). Each region is cut, with `region_context` pixels around it,
        from the very picture `detect` feeds the model (same scale, same stride grid), so an
        object inside is seen at the size and cell position the full pass sees it; costs about
        the crops' share of the picture. Models with a fixed input side run `detect`."""
        if not regions:
            return []
        image, placement = self._letterbox(frame)
        if not self.dynamic:
            return inside_regions(
                self._decode(self._infer(preprocess(image, self._dtype)), placement, frame),
                regions,
            )
        picture = (image.shape[0], image.shape[1])
        tiles = plan_tiles(regions, placement, picture, self.stride, self.settings.region_context)
        if not tiles:
            return []
        output = tile_candidates(image, tiles, self._infer_crops, self._batches)
        return inside_regions(self._decode(output, placement, frame), regions)

    def _infer_crops(self, crops: list[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        return self._infer(np.concatenate([preprocess(c, self._dtype) for c in crops]))

    def _letterbox(self, frame: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8], Letterbox]:
        rect = self.dynamic and self.settings.rect
        return letterbox(frame, self.input_size, self.stride if rect else 0)

    def _infer(self, blob: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        limit = self.batches.max_batch
        if len(blob) > limit:  # more crops than one run takes: in parts
            parts = [self._infer(blob[i : i + limit]) for i in range(0, len(blob), limit)]
            return np.concatenate(parts)
        return self.batches.run(blob)

    def _run(self, blob: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        output = np.asarray(self._session.run(None, {self._input_name: blob})[0], np.float32)
        if output.ndim == 3 and output.shape[1] > 4:
            self._check_class_count(output.shape[1] - 4)
        return output

    def _decode(
        self, output: npt.NDArray[np.float32], placement: Letterbox, frame: npt.NDArray[np.uint8]
    ) -> list[Detection]:
        height, width = frame.shape[:2]
        try:
            return decode_output(output, placement, FrameSize(width, height), self.decoding)
        except YoloOutputError as exc:
            raise self._fail(str(exc)) from None

    def _fail(self, problem: str) -> ModelError:
        return ModelError(f"{self.settings.model_path}: {problem}")

    @staticmethod
    def _open(
        path: str, providers: list[str | tuple[str, dict[str, str]]], threads: int | None
    ) -> Any:
        if not os.path.isfile(path):
            raise ModelError(f"{path}: model file not found")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            return ort.InferenceSession(path, sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise ModelError(f"{path}: not a loadable ONNX model ({exc})") from exc

    def _check_input(self) -> tuple[int, type[np.floating[Any]]]:
        """The square side to letterbox to, and the element type the model takes."""
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise self._fail(f"expected 1 input (an image batch), the model has {len(inputs)}")
        shape, kind = list(inputs[0].shape), inputs[0].type
        if len(shape) != 4 or shape[1] != 3 or (is_static(shape[0]) and shape[0] != 1):
            raise self._fail(f"input must be [1, 3, H, W] (one RGB image), the model has {shape}")
        if kind not in INPUT_TYPES:
            raise self._fail(f"input must be float or float16, the model takes {kind}")
        self._batches = not is_static(shape[0])
        return self._input_side(shape[2], shape[3]), INPUT_TYPES[kind]

    def _input_side(self, height: Any, width: Any) -> int:
        wanted = self.settings.input_size
        if is_static(height) and is_static(width):
            if height != width:
                raise self._fail(f"input must be square, the model has {height}x{width}")
            if wanted is not None and wanted != height:
                raise self._fail(f"input is fixed at {height}, settings ask for {wanted}")
            return int(height)
        self.dynamic = not is_static(height) and not is_static(width)
        return stride_aligned(wanted or self._imgsz or DEFAULT_INPUT_SIZE, self.stride)

    def _check_output(self) -> None:
        outputs = self._session.get_outputs()
        shape = list(outputs[0].shape)
        if len(shape) != 3 or (is_static(shape[1]) and int(shape[1]) <= 4):
            raise self._fail(
                f"output must be [1, 4+C, N] (Ultralytics YOLO), the model has {shape}"
            )
        if is_static(shape[1]):
            self._check_class_count(int(shape[1]) - 4)

    def _check_class_count(self, count: int) -> None:
        if count != len(self.labels):
            raise self._fail(
                f"the model scores {count} classes but {self._labels_from} {len(self.labels)} "
                "labels; set labels to the model's class names (or export it with names metadata)"
            )

    def _decoding(self) -> YoloDecoding:
        """How `decode_output` reads this model's output (labels, thresholds, classes)."""
        s = self.settings
        try:
            return YoloDecoding(
                self.labels, s.min_confidence, s.nms_iou, s.max_detections, self._kept_classes()
            )
        except YoloOutputError as exc:
            raise self._fail(str(exc)) from None

    def _kept_classes(self) -> tuple[str, ...] | None:
        if self.settings.classes is not None or not self.settings.interest:
            return self.settings.classes
        return matching_labels(self.labels, self.settings.interest) or None


def preprocess(image: npt.NDArray[np.uint8], dtype: type[np.floating[Any]]) -> npt.NDArray[Any]:
    """BGR HWC uint8 -> RGB NCHW in [0, 1]: what Ultralytics models were trained on."""
    rgb = image[:, :, ::-1].transpose(2, 0, 1)
    blob: npt.NDArray[Any] = np.ascontiguousarray(rgb[np.newaxis], dtype=dtype)
    blob /= 255.0
    return blob
