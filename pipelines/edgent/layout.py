"""A model as the planner sees it: its layers in execution order and the points it can be cut.

Cut `k` runs layers `[0, k)` on the camera node and `[k, n)` on the edge box; the tensors that
cross it are those made before `k` (or the model's inputs) and read at or after `k`. Cut 0 is
edge-only (the input crosses), cut `n` is device-only (only the result crosses, a few hundred
bytes of detections). Built from an ONNX file by `pipelines.edgent.split.model_layout`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.edgent.layers import LayerFeatures

# What device-only sends: the detections of one frame, not the raw output tensor.
RESULT_BYTES = 512


@dataclass(frozen=True)
class Cut:
    index: int
    tensors: tuple[str, ...]
    elements: int
    """Float elements crossing the cut (0 at the device-only end: only detections go)."""
    raw_bytes: int = 0
    """Bytes of integer tensors crossing it (an INT8 exit's uint8 activations): the codec
    sends them as they are, whatever its encoding."""


@dataclass(frozen=True)
class ModelLayout:
    name: str
    layers: tuple[LayerFeatures, ...]
    layer_names: tuple[str, ...]
    cuts: tuple[Cut, ...]

    def head(self, cut: int) -> Sequence[LayerFeatures]:
        return self.layers[:cut]

    def tail(self, cut: int) -> Sequence[LayerFeatures]:
        return self.layers[cut:]

    def cut_label(self, cut: int) -> str:
        if cut == 0:
            return "edge-only"
        if cut == len(self.layers):
            return "device-only"
        return f"after {self.layer_names[cut - 1]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "layers": [
                {"name": n, "op": f.op_type, "flops": f.flops, "in": f.input_elements,
                 "out": f.output_elements}
                for n, f in zip(self.layer_names, self.layers, strict=True)
            ],
            "cuts": [{"index": c.index, "tensors": list(c.tensors), "elements": c.elements,
                      "raw_bytes": c.raw_bytes}
                     for c in self.cuts],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelLayout:
        layers = tuple(
            LayerFeatures(str(d["op"]), float(d["flops"]), float(d["in"]), float(d["out"]))
            for d in data["layers"]
        )
        cuts = tuple(
            Cut(
                int(c["index"]), tuple(c["tensors"]), int(c["elements"]), int(c.get("raw_bytes", 0))
            )
            for c in data["cuts"]
        )
        names = tuple(str(d["name"]) for d in data["layers"])
        return cls(str(data["name"]), layers, names, cuts)
