"""Edgent exits as the camera node and the edge box run them: the ONNX model of each, checked
once at start, and its halves split lazily and cached per (exit, cut).

Both roles load the same files. A missing or malformed file stops the role with one line
naming it (`ModelError`, as `detector.kind: yolo-onnx` does).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import onnx

from pipelines.detectors.onnx_yolo import parse_names
from pipelines.detectors.yolo_decode import YoloOutputError, check_output_shape
from pipelines.detectors.yolo_settings import COCO_LABELS, ModelError

T = TypeVar("T")
INPUT_TYPES: dict[int, type[np.floating[Any]]] = {
    onnx.TensorProto.FLOAT: np.float32,
    onnx.TensorProto.FLOAT16: np.float16,
}


@dataclass(frozen=True)
class ExitModel:
    """One exit's model: an Ultralytics YOLO export with a static square input."""

    name: str
    path: Path
    model: onnx.ModelProto
    input_name: str
    input_size: int
    input_dtype: type[np.floating[Any]]
    labels: tuple[str, ...]

    @property
    def nodes(self) -> int:
        """Cuts run from 0 (edge-only) to this (device-only)."""
        return len(self.model.graph.node)


def load_exit(name: str, path: Path) -> ExitModel:
    """Load and check one exit's model; `ModelError` names the file and the problem."""
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises protobuf and checker errors alike
        raise ModelError(f"{path}: not a loadable ONNX model ({exc})") from None
    input_name, size, dtype = _input(model, path)
    labels = parse_names(_metadata(model).get("names")) or COCO_LABELS
    _check_output(model, path, len(labels))
    return ExitModel(name, path, model, input_name, size, dtype, labels)


def _metadata(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def _dims(value: onnx.ValueInfoProto) -> list[int | None]:
    dims = value.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else None for d in dims]


def _input(model: onnx.ModelProto, path: Path) -> tuple[str, int, type[np.floating[Any]]]:
    constants = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in constants]
    if len(inputs) != 1:
        raise ModelError(f"{path}: expected 1 input (an image batch), the model has {len(inputs)}")
    dims = _dims(inputs[0])
    if len(dims) != 4 or dims[:2] != [1, 3] or dims[2] is None or dims[2] != dims[3]:
        raise ModelError(
            f"{path}: Edgent needs a static square input [1, 3, S, S], the model has {dims}"
        )
    kind = inputs[0].type.tensor_type.elem_type
    if kind not in INPUT_TYPES:
        raise ModelError(f"{path}: input must be float or float16")
    return inputs[0].name, int(dims[2]), INPUT_TYPES[kind]


def _check_output(model: onnx.ModelProto, path: Path, labels: int) -> None:
    outputs = model.graph.output
    dims = _dims(outputs[0]) if outputs else []
    if any(d is None for d in dims):
        raise ModelError(f"{path}: Edgent needs a static output [1, 4+C, N], the model has {dims}")
    try:
        check_output_shape(tuple(int(d or 0) for d in dims), labels)
    except YoloOutputError as exc:
        raise ModelError(f"{path}: {exc} labels in its names metadata") from None


class SplitCache(Generic[T]):
    """The parts built for the most recently used (exit, cut) pairs; built once each.

    Building one (shape inference, extraction, an onnxruntime session) takes up to a second;
    it happens under the cache's lock, so two requests for a new pair split it only once.
    """

    def __init__(self, build: Callable[[str, int], T], size: int = 8) -> None:
        self._build = build
        self._size = max(1, size)
        self._parts: OrderedDict[tuple[str, int], T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, exit_name: str, cut: int) -> T:
        key = (exit_name, cut)
        with self._lock:
            if key in self._parts:
                self._parts.move_to_end(key)
                return self._parts[key]
            part = self._build(exit_name, cut)
            self._parts[key] = part
            if len(self._parts) > self._size:
                self._parts.popitem(last=False)
            return part

    def __len__(self) -> int:
        with self._lock:
            return len(self._parts)
