"""What a layer's latency is regressed on: its op type, FLOPs and tensor sizes (as in Edgent).

The same features are computed from an onnxruntime profile (shapes recorded per node) and from
an ONNX graph's inferred shapes, so a model profiled once predicts any model of the same ops.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

Shape = Sequence[int]
# Ops whose cost is dominated by multiply-accumulates over a reduction axis.
WEIGHTED_OPS = frozenset({"Conv", "QLinearConv", "ConvTranspose", "MatMul", "Gemm"})


@dataclass(frozen=True)
class LayerFeatures:
    """Independent variables of one layer; sizes are element counts, FLOPs multiply-adds x 2."""

    op_type: str
    flops: float
    input_elements: float
    output_elements: float

    def vector(self) -> list[float]:
        """Regressors in millions, with a constant for the per-kernel overhead."""
        return [1.0, self.flops / 1e6, self.input_elements / 1e6, self.output_elements / 1e6]


def elements(shape: Shape) -> int:
    return math.prod(int(d) for d in shape) if len(shape) else 1


def layer_features(
    op_type: str, inputs: Sequence[Shape], outputs: Sequence[Shape]
) -> LayerFeatures:
    """Features of a node from the shapes of its inputs (weights included) and outputs."""
    inputs_total = float(sum(elements(s) for s in inputs))
    outputs_total = float(sum(elements(s) for s in outputs))
    flops = _flops(op_type, inputs, outputs_total)
    return LayerFeatures(op_type, flops, inputs_total, outputs_total)


def _flops(op_type: str, inputs: Sequence[Shape], outputs_total: float) -> float:
    if op_type in ("Conv", "FusedConv") and len(inputs) >= 2 and len(inputs[1]) >= 2:
        # Weight [C_out, C_in/groups, k...]: each output element sums over C_in/groups x k...
        return 2.0 * outputs_total * elements(inputs[1][1:])
    if op_type == "QLinearConv" and len(inputs) >= 4 and len(inputs[3]) >= 2:
        # onnxruntime's fused int8 convolution: x, its scale and zero point, then the weight.
        return 2.0 * outputs_total * elements(inputs[3][1:])
    if op_type == "ConvTranspose" and len(inputs) >= 2 and len(inputs[1]) >= 2:
        return 2.0 * elements(inputs[0]) * elements(inputs[1][1:])
    if op_type in ("MatMul", "Gemm") and inputs and len(inputs[0]) >= 1:
        return 2.0 * outputs_total * int(inputs[0][-1])
    # Element-wise, pooling, reshaping: roughly one operation per element touched.
    return float(max(elements(inputs[0]) if inputs else 0, outputs_total))


def layers_key(layers: Sequence[LayerFeatures]) -> str:
    """A short fingerprint of a model's layers: the same model (whatever its file is called)
    gets the same key, so a profile's per-model correction finds it again."""
    text = ";".join(
        f"{f.op_type},{f.flops:.0f},{f.input_elements:.0f},{f.output_elements:.0f}" for f in layers
    )
    return hashlib.sha1(text.encode()).hexdigest()[:16]
