"""Collaborative inference: the head of a split model on the camera node, the tail on the edge.

The device half runs the head and encodes the crossing tensors into one message; the edge half
decodes it and runs the tail. Cut 0 (edge-only) sends the input itself; the last cut
(device-only) runs everything on the device and its message holds the outputs (the camera node
decodes them instead and sends only the detections: `cameras/device_only.py`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx

from pipelines.edgent.codec import TensorCodec
from pipelines.edgent.sessions import open_session, session_options
from pipelines.edgent.split import SplitModel, split_model

Tensors = dict[str, npt.NDArray[Any]]
FLOAT_TYPES: dict[str, type[np.floating[Any]]] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
}


@dataclass(frozen=True)
class Timed:
    message: bytes
    ms: float


class DevicePart:
    """The camera node's half: input feeds in, an encoded message of crossing tensors out."""

    def __init__(self, split: SplitModel, codec: TensorCodec, threads: int | None = None) -> None:
        self.codec = codec
        self.tensors = split.tensors
        head = split.head
        self._session = None if head is None else _session(head, threads)

    def compute(self, feeds: Mapping[str, npt.NDArray[Any]]) -> Tensors:
        """The tensors crossing the cut (the model's outputs when the device runs it all)."""
        if self._session is None:
            return {name: np.asarray(feeds[name]) for name in self.tensors}
        names = [o.name for o in self._session.get_outputs()]
        return dict(zip(names, self._session.run(names, dict(feeds)), strict=True))

    def run(self, feeds: Mapping[str, npt.NDArray[Any]]) -> Timed:
        start = time.perf_counter()
        crossing = self.compute(feeds)
        message = self.codec.encode({name: crossing[name] for name in self.tensors})
        return Timed(message, (time.perf_counter() - start) * 1000.0)


class EdgePart:
    """The edge box's half: a message in, the model's outputs out."""

    def __init__(self, split: SplitModel, threads: int | None = None) -> None:
        tail = split.tail
        self._session = None if tail is None else _session(tail, threads)

    def run(self, message: bytes) -> tuple[Tensors, float]:
        start = time.perf_counter()
        outputs = self.finish(TensorCodec.decode(message))
        return outputs, (time.perf_counter() - start) * 1000.0

    def finish(self, crossing: Mapping[str, npt.NDArray[Any]]) -> Tensors:
        """The model's outputs from the decoded crossing tensors (passed through when the
        device ran it all); float tensors are cast to the element type the tail takes."""
        if self._session is None:
            return dict(crossing)
        feeds = {i.name: _as_input(crossing[i.name], i.type) for i in self._session.get_inputs()}
        names = [o.name for o in self._session.get_outputs()]
        return dict(zip(names, self._session.run(names, feeds), strict=True))


def _as_input(value: npt.NDArray[Any], kind: str) -> npt.NDArray[Any]:
    if value.dtype.kind != "f" or kind not in FLOAT_TYPES:
        return value
    return value.astype(FLOAT_TYPES[kind], copy=False)


def _session(model: onnx.ModelProto, threads: int | None) -> Any:
    return open_session(model.SerializeToString(), session_options(threads=threads))


def collaborative(
    model: onnx.ModelProto, cut: int, codec: TensorCodec, threads: int | None = None
) -> tuple[DevicePart, EdgePart]:
    split = split_model(model, cut)
    return DevicePart(split, codec, threads), EdgePart(split, threads)


def run_split(
    model: onnx.ModelProto, cut: int, feeds: Mapping[str, npt.NDArray[Any]], codec: TensorCodec
) -> Tensors:
    """The outputs of `model` computed as head, message, tail (tests and one-off checks)."""
    device, edge = collaborative(model, cut, codec)
    outputs, _ = edge.run(device.run(feeds).message)
    return outputs
