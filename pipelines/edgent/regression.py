"""Per-op-type linear regressions of layer latency, fitted on one device's profile (Edgent).

Each op type seen often enough gets its own least-squares fit on `LayerFeatures.vector()`; op
types seen rarely fall back to one fit over all layers. `scale` turns profiled kernel time into
the wall time of a real run (the profiler adds overhead); `overhead_ms` is the fixed cost of one
session run (inputs, outputs, scheduling) that no layer accounts for. A model that was itself
profiled also carries its own correction (`model_factors`): the op-type fits are shared by every
model, and miss one model's wall time by a few percent (an INT8 model's by 3-7%), which a plan
meeting its requirement with 10% to spare cannot afford.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from pipelines.edgent.layers import LayerFeatures, layers_key

# Each regressor needs this many samples; an op type seen less uses fewer regressors.
MIN_SAMPLES_PER_COEFFICIENT = 2
FEATURE_COUNT = 4
FALLBACK = "*"
MIN_LAYER_MS = 1e-3  # the profiler's resolution: 1 us


@dataclass(frozen=True)
class LayerSample:
    features: LayerFeatures
    ms: float


@dataclass(frozen=True)
class OpFit:
    coefficients: tuple[float, ...]
    samples: int
    floor_ms: float
    """The smallest time observed: no layer of this type is predicted faster."""

    def predict(self, features: LayerFeatures) -> float:
        value = sum(c * x for c, x in zip(self.coefficients, features.vector(), strict=True))
        return max(value, self.floor_ms)


@dataclass(frozen=True)
class DeviceProfile:
    """One device role's latency model; saved as JSON (`to_dict`, `from_dict`)."""

    device: str
    fits: Mapping[str, OpFit]
    scale: float = 1.0
    overhead_ms: float = 0.0
    meta: Mapping[str, Any] = field(default_factory=dict)
    per_layer_ms: float = 0.0
    """Added to every layer: with `scale`, maps profiled kernel time to wall time."""
    model_factors: Mapping[str, float] = field(default_factory=dict)
    """Measured / predicted run time of each model profiled here, by `layers_key`."""

    def layer_ms(self, features: LayerFeatures) -> float:
        fit = self.fits.get(features.op_type) or self.fits[FALLBACK]
        return max(fit.predict(features) * self.scale + self.per_layer_ms, 0.0)

    def factor(self, layers: Sequence[LayerFeatures]) -> float:
        """The correction for a model profiled here (1.0 for one never profiled)."""
        return self.model_factors.get(layers_key(layers), 1.0) if self.model_factors else 1.0

    def slowed(self, factor: float, device: str) -> DeviceProfile:
        """This device `factor` times slower at everything: layers, per-layer and per-run costs
        (a CPU that is slower is slower at its fixed costs too)."""
        return replace(
            self,
            device=device,
            scale=self.scale * factor,
            per_layer_ms=self.per_layer_ms * factor,
            overhead_ms=self.overhead_ms * factor,
        )

    def model_ms(self, layers: Iterable[LayerFeatures]) -> float:
        """A run of these layers as one session: their predicted times plus the run's overhead."""
        return self.overhead_ms + sum(self.layer_ms(f) for f in layers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "scale": self.scale,
            "per_layer_ms": self.per_layer_ms,
            "overhead_ms": self.overhead_ms,
            "meta": dict(self.meta),
            "model_factors": dict(self.model_factors),
            "fits": {
                op: {"coefficients": list(f.coefficients), "samples": f.samples,
                     "floor_ms": f.floor_ms}
                for op, f in sorted(self.fits.items())
            },
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviceProfile:
        fits = {
            op: OpFit(tuple(float(c) for c in f["coefficients"]), int(f["samples"]),
                      float(f["floor_ms"]))
            for op, f in data["fits"].items()
        }  # fmt: skip
        if FALLBACK not in fits:
            raise ValueError("profile has no fallback fit ('*')")
        return cls(
            device=str(data["device"]),
            fits=fits,
            scale=float(data.get("scale", 1.0)),
            overhead_ms=float(data.get("overhead_ms", 0.0)),
            meta=dict(data.get("meta", {})),
            per_layer_ms=float(data.get("per_layer_ms", 0.0)),
            model_factors={
                str(k): float(v) for k, v in dict(data.get("model_factors", {})).items()
            },
        )


def fit_op(samples: Sequence[LayerSample]) -> OpFit:
    """Least squares of relative error on the features that vary; a constant if none does.

    Relative, not absolute: a model's hundred small layers matter as much as its few big ones,
    and plain least squares would fit the big ones and overpredict the small ones.
    """
    x = np.array([s.features.vector() for s in samples], dtype=np.float64)
    y = np.array([s.ms for s in samples], dtype=np.float64)
    varying = [0] + [j for j in range(1, FEATURE_COUNT) if np.ptp(x[:, j]) > 0]
    usable = max(1, len(samples) // MIN_SAMPLES_PER_COEFFICIENT)
    columns = varying[:usable]
    weights = 1.0 / np.maximum(y, MIN_LAYER_MS)
    solution, *_ = np.linalg.lstsq(x[:, columns] * weights[:, None], y * weights, rcond=None)
    coefficients = [0.0] * FEATURE_COUNT
    for column, value in zip(columns, solution, strict=True):
        coefficients[column] = float(value)
    return OpFit(tuple(coefficients), len(samples), float(y.min()))


def fit_profile(
    device: str,
    samples: Sequence[LayerSample],
    *,
    scale: float = 1.0,
    overhead_ms: float = 0.0,
    min_samples: int = 1,
    meta: Mapping[str, Any] | None = None,
) -> DeviceProfile:
    if not samples:
        raise ValueError("no layer samples to fit")
    by_op: dict[str, list[LayerSample]] = defaultdict(list)
    for sample in samples:
        by_op[sample.features.op_type].append(sample)
    fits = {op: fit_op(group) for op, group in by_op.items() if len(group) >= min_samples}
    fits[FALLBACK] = fit_op(samples)
    return DeviceProfile(device, fits, scale, overhead_ms, dict(meta or {}))
