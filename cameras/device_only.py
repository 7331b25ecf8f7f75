"""Edgent's device-only end on the camera node: the whole model runs here, its output is decoded
here, and only the detections go to the edge box (a few dozen bytes each).

Sending the model's raw output instead (`[1, 84, 8400]` for a 640 px YOLOv8n: 1.4 MB as float16)
would make device-only the worst choice at exactly the low bandwidths the planner picks it for,
since it plans device-only as sending only the result (`pipelines/edgent/layout.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.detectors.letterbox import Letterbox
from pipelines.detectors.yolo_decode import (
    DETECTIONS_TENSOR,
    FrameSize,
    YoloDecoding,
    YoloOutputError,
    decode_output,
    detections_tensor,
)
from pipelines.detectors.yolo_settings import ModelError
from pipelines.edgent.codec import TensorCodec
from pipelines.edgent.exits import ExitModel


@dataclass(frozen=True)
class DeviceOnly:
    decodings: Mapping[str, YoloDecoding]
    """Per exit: how its output is read (the camera's `edgent` decoding settings)."""
    codec: TensorCodec = field(default_factory=lambda: TensorCodec("float32"))
    """float32 whatever the encoding of the crossing tensors: the detections are tiny, and
    float16 would move boxes by up to a pixel and round scores across thresholds."""

    def message(
        self,
        model: ExitModel,
        outputs: Mapping[str, npt.NDArray[Any]],
        placement: Letterbox,
        frame: FrameSize,
    ) -> bytes:
        """The codec message holding only the detections of the model's `outputs`."""
        output = np.asarray(outputs[model.model.graph.output[0].name], dtype=np.float32)
        found = decode_output(output, placement, frame, self.decodings[model.name])
        return self.codec.encode({DETECTIONS_TENSOR: detections_tensor(found, model.labels)})

    @classmethod
    def for_exits(
        cls, exits: Mapping[str, ExitModel], decoding: Callable[[tuple[str, ...]], YoloDecoding]
    ) -> DeviceOnly:
        """Every exit read with one `decoding(labels)` factory (the config's); `ModelError`
        names the model whose labels do not fit the settings (a class it does not have)."""
        decodings = {}
        for name, model in exits.items():
            try:
                decodings[name] = decoding(model.labels)
            except YoloOutputError as exc:
                raise ModelError(f"{model.path}: {exc}") from None
        return cls(decodings)
