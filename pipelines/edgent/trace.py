"""Per-layer latencies from an onnxruntime profile (`SessionOptions.enable_profiling`).

The trace is Chrome's JSON event format: one `Node` event `<node>_kernel_time` per node per
run, with its duration in microseconds and the shapes of its inputs and outputs.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.edgent.layers import LayerFeatures, layer_features
from pipelines.edgent.regression import LayerSample

KERNEL_SUFFIX = "_kernel_time"


@dataclass(frozen=True)
class NodeTiming:
    node: str
    features: LayerFeatures
    ms: float
    """Median over the profiled runs."""


def _shapes(entries: Sequence[Mapping[str, Sequence[int]]]) -> list[list[int]]:
    """`[{"float": [1, 3, 8, 8]}, ...]` -> `[[1, 3, 8, 8], ...]`."""
    return [list(next(iter(entry.values()))) for entry in entries if entry]


def node_timings(
    events: Iterable[Mapping[str, Any]], graph: Mapping[str, LayerFeatures] | None = None
) -> list[NodeTiming]:
    """One timing per node, in first-run order; durations are medians over runs.

    A node the model's graph names with the same op type takes the graph's features: the
    profile leaves out inputs onnxruntime pre-packed (QLinearConv's int8 weight), so its shapes
    alone would miss the convolution's FLOPs.
    """
    durations: dict[str, list[float]] = defaultdict(list)
    features: dict[str, LayerFeatures] = {}
    for event in events:
        name = str(event.get("name", ""))
        if event.get("cat") != "Node" or not name.endswith(KERNEL_SUFFIX):
            continue
        node = name[: -len(KERNEL_SUFFIX)]
        args = event.get("args", {})
        durations[node].append(float(event["dur"]) / 1000.0)
        if node not in features:
            op_type = str(args.get("op_name", ""))
            known = (graph or {}).get(node)
            if known is not None and known.op_type == op_type:
                features[node] = known
                continue
            inputs = _shapes(args.get("input_type_shape", []))
            outputs = _shapes(args.get("output_type_shape", []))
            features[node] = layer_features(op_type, inputs, outputs)
    return [NodeTiming(n, features[n], statistics.median(d)) for n, d in durations.items()]


def samples(timings: Iterable[NodeTiming]) -> list[LayerSample]:
    return [LayerSample(t.features, t.ms) for t in timings]
