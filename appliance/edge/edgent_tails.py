"""The edge box's half of Edgent: the rest of an exit's model run on the tensors a camera node
sent, and its output read into detections in frame pixels.

Every exit's model is loaded and checked when the edge starts (a bad file stops it with one
line naming the file). Tails are split on first use and cached per (exit, cut). A message is
checked before anything runs: the exit is known, the cut in range, the message intact, and
the tensors exactly those crossing the cut, in their shapes, with finite values; a refusal is
a `RejectedFrame` (4xx) that stores nothing. At the device-only end the camera ran the whole
model and decoded it: the message holds only its detections (`read_detections`), and nothing
of the model runs here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from appliance.edge.edgent_config import EdgeEdgentConfig
from appliance.edge.http.frame_checks import RejectedFrame
from cameras.tensor_meta import TensorMeta
from pipelines.detectors.letterbox import Letterbox
from pipelines.detectors.yolo_decode import (
    DETECTIONS_TENSOR,
    FrameSize,
    YoloDecoding,
    YoloOutputError,
    decode_output,
    read_detections,
)
from pipelines.detectors.yolo_settings import ModelError
from pipelines.edgent.codec import CodecError, TensorCodec
from pipelines.edgent.exits import ExitModel, SplitCache, load_exit
from pipelines.edgent.runner import EdgePart
from pipelines.edgent.split import SplitError, inferred, split_model, tensor_shapes
from pipelines.types import Detection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TailAnswer:
    detections: list[Detection]
    seconds: float
    """Time the tail and the decoding took on the edge."""


@dataclass(frozen=True)
class _Exit:
    model: ExitModel
    decoding: YoloDecoding
    shapes: dict[str, list[int]]
    """Static shape of every tensor of the model (what a cut's crossing tensors must have)."""


@dataclass(frozen=True)
class _Tail:
    part: EdgePart
    tensors: tuple[str, ...]


class EdgeTails:
    def __init__(self, config: EdgeEdgentConfig) -> None:
        self.max_bytes = config.max_message_bytes
        self.exits = {e.name: _load(e.name, e.model_path, config) for e in config.exits}
        self._tails: SplitCache[_Tail] = SplitCache(self._split, config.cached_splits)
        log.info("edgent: running the tails of exits %s", ", ".join(sorted(self.exits)))

    def check(self, meta: TensorMeta) -> None:
        """Refuse an unknown exit or a cut outside its model before the body is read."""
        known = self.exits.get(meta.exit)
        if known is None:
            names = ", ".join(sorted(self.exits))
            raise RejectedFrame(
                422, "unknown_exit", f"unknown exit {meta.exit!r}; this edge runs: {names}"
            )
        if meta.cut > known.model.nodes:
            raise RejectedFrame(
                422,
                "bad_cut",
                f"cut {meta.cut} is outside 0..{known.model.nodes} for exit {meta.exit!r}",
            )

    def answer(self, meta: TensorMeta, message: bytes) -> TailAnswer:
        """The detections of the frame the message comes from, in its pixels."""
        self.check(meta)
        start = time.perf_counter()
        known = self.exits[meta.exit]
        size = FrameSize(meta.frame_width, meta.frame_height)
        if meta.cut == known.model.nodes:
            found = self._device_only(message, known, meta, size)
        else:
            found = self._finish(message, known, meta, size)
        return TailAnswer(found, time.perf_counter() - start)

    def _finish(
        self, message: bytes, known: _Exit, meta: TensorMeta, size: FrameSize
    ) -> list[Detection]:
        """Run the tail on the crossing tensors and decode the model's output."""
        placement = _placement(meta, known.model.input_size)
        tail = self._tails.get(meta.exit, meta.cut)
        crossing = self._tensors(message, tail, known, meta)
        try:
            outputs = tail.part.finish(crossing)
        except Exception as exc:  # onnxruntime raises its own types (a dtype it cannot take)
            raise RejectedFrame(
                422, "bad_tensors", f"the tail of exit {meta.exit!r} cannot run on them ({exc})"
            ) from None
        output = outputs[known.model.model.graph.output[0].name]
        try:
            return decode_output(np.asarray(output, np.float32), placement, size, known.decoding)
        except YoloOutputError as exc:
            raise RejectedFrame(422, "bad_tensors", f"model output unreadable: {exc}") from None

    def _device_only(
        self, message: bytes, known: _Exit, meta: TensorMeta, size: FrameSize
    ) -> list[Detection]:
        """The camera ran the whole model and decoded it: read its detections, checked."""
        tensors = self._decode(message)
        if set(tensors) != {DETECTIONS_TENSOR}:
            raise RejectedFrame(
                422,
                "bad_tensors",
                f"device-only (cut {meta.cut}) of exit {meta.exit!r} takes tensors"
                f" {[DETECTIONS_TENSOR]}, the message has {sorted(tensors)}",
            )
        try:
            return read_detections(tensors[DETECTIONS_TENSOR], size, known.decoding)
        except YoloOutputError as exc:
            raise RejectedFrame(
                422, "bad_tensors", f"tensor {DETECTIONS_TENSOR!r} is invalid: {exc}"
            ) from None

    def _decode(self, message: bytes) -> dict[str, npt.NDArray[Any]]:
        try:
            return TensorCodec.decode(message, self.max_bytes)
        except CodecError as exc:
            raise RejectedFrame(400, "bad_tensors", str(exc)) from None

    def _tensors(
        self, message: bytes, tail: _Tail, known: _Exit, meta: TensorMeta
    ) -> dict[str, npt.NDArray[Any]]:
        crossing = self._decode(message)
        where = f"cut {meta.cut} of exit {meta.exit!r}"
        if set(crossing) != set(tail.tensors):
            raise RejectedFrame(
                422,
                "bad_tensors",
                f"{where} takes tensors {sorted(tail.tensors)}, the message has {sorted(crossing)}",
            )
        for name, value in crossing.items():
            expected = known.shapes.get(name)
            if expected is not None and list(value.shape) != expected:
                raise RejectedFrame(
                    422,
                    "bad_tensors",
                    f"tensor {name!r} is {list(value.shape)}, {where} takes {expected}",
                )
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                raise RejectedFrame(422, "bad_tensors", f"tensor {name!r} has non-finite values")
        return crossing

    def _split(self, exit_name: str, cut: int) -> _Tail:
        log.info("edgent: splitting exit %s at cut %d", exit_name, cut)
        try:
            split = split_model(self.exits[exit_name].model.model, cut)
        except SplitError as exc:
            raise RejectedFrame(422, "bad_cut", str(exc)) from None
        return _Tail(EdgePart(split), split.tensors)


def _load(name: str, path: Path, config: EdgeEdgentConfig) -> _Exit:
    model = load_exit(name, path)
    try:
        decoding = config.decoding(model.labels)
        shapes = tensor_shapes(inferred(model.model))
    except YoloOutputError as exc:
        raise ModelError(f"{path}: {exc}") from None
    except Exception as exc:  # onnx shape inference raises its own error types
        raise ModelError(f"{path}: shapes cannot be inferred ({exc})") from None
    return _Exit(model, decoding, shapes)


def _placement(meta: TensorMeta, input_size: int) -> Letterbox:
    if 2 * meta.pad_x >= input_size or 2 * meta.pad_y >= input_size:
        raise RejectedFrame(
            422,
            "bad_metadata",
            f"letterbox padding ({meta.pad_x}, {meta.pad_y}) does not fit the {input_size} px"
            " model input",
        )
    return Letterbox(meta.scale, meta.pad_x, meta.pad_y)
