"""Cutting an ONNX model in two at a point of its execution order (onnx.utils.Extractor).

Cut `k` gives a head of nodes `[0, k)` whose outputs are the tensors crossing the cut, and a
tail of nodes `[k, n)` whose inputs are those tensors. ONNX graphs are topologically sorted, so
every `k` is a valid cut; on a chain only one tensor crosses, past a skip connection several.
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx
from onnx import helper, shape_inference
from onnx.utils import Extractor

from pipelines.edgent.layers import LayerFeatures, elements, layer_features
from pipelines.edgent.layout import Cut, ModelLayout


class SplitError(ValueError):
    """The model cannot be cut there (or has shapes this tool cannot infer)."""


@dataclass(frozen=True)
class SplitModel:
    cut: int
    tensors: tuple[str, ...]
    head: onnx.ModelProto | None
    """None for cut 0 (edge-only): nothing runs on the device."""
    tail: onnx.ModelProto | None
    """None for the last cut (device-only): nothing runs on the edge."""


def inferred(model: onnx.ModelProto) -> onnx.ModelProto:
    return shape_inference.infer_shapes(model, strict_mode=True)


def tensor_shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    """Static shapes of every tensor (inputs, initializers, intermediates, outputs)."""
    shapes: dict[str, list[int]] = {i.name: list(i.dims) for i in model.graph.initializer}
    values = [*model.graph.input, *model.graph.value_info, *model.graph.output]
    for value in values:
        dims = value.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = [d.dim_value for d in dims]
    return shapes


def integer_itemsizes(model: onnx.ModelProto) -> dict[str, int]:
    """Bytes per element of every integer tensor with a known type (sent raw by the codec)."""
    sizes = {}
    for value in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        elem_type = value.type.tensor_type.elem_type
        if elem_type == onnx.TensorProto.UNDEFINED:
            continue
        kind = helper.tensor_dtype_to_np_dtype(elem_type)
        if kind.kind in "iub":
            sizes[value.name] = kind.itemsize
    return sizes


def crossing(model: onnx.ModelProto, cut: int) -> tuple[str, ...]:
    """Tensors made before `cut` (or fed to the model) and read at or after it, in order."""
    nodes = model.graph.node
    constants = {i.name for i in model.graph.initializer}
    available = [i.name for i in model.graph.input if i.name not in constants]
    for node in nodes[:cut]:
        available.extend(o for o in node.output if o)
    if cut == len(nodes):
        return tuple(o.name for o in model.graph.output)
    needed = {name for node in nodes[cut:] for name in node.input}
    needed |= {o.name for o in model.graph.output}
    return tuple(name for name in available if name in needed)


def model_layout(model: onnx.ModelProto, name: str) -> ModelLayout:
    """Layers with their regression features and every cut with the elements crossing it."""
    model = inferred(model)
    shapes = tensor_shapes(model)
    raw = integer_itemsizes(model)
    layers: list[LayerFeatures] = []
    for node in model.graph.node:
        try:
            inputs = [shapes[i] for i in node.input if i]
            outputs = [shapes[o] for o in node.output if o]
        except KeyError as exc:
            raise SplitError(f"{node.name}: no static shape for {exc}") from None
        layers.append(layer_features(node.op_type, inputs, outputs))
    cuts = []
    for index in range(len(layers) + 1):
        tensors = crossing(model, index)
        if index == len(layers):
            cuts.append(Cut(index, tensors, 0))
            continue
        floats = sum(elements(shapes[t]) for t in tensors if t not in raw)
        raw_bytes = sum(elements(shapes[t]) * raw[t] for t in tensors if t in raw)
        cuts.append(Cut(index, tensors, floats, raw_bytes))
    names = tuple(n.name or f"{n.op_type}_{i}" for i, n in enumerate(model.graph.node))
    return ModelLayout(name, tuple(layers), names, tuple(cuts))


def graph_features(model: onnx.ModelProto) -> dict[str, LayerFeatures]:
    """Each node's features by name, from the graph's static shapes (none where the shapes
    are not static: a profile then uses the shapes it recorded)."""
    try:
        layout = model_layout(model, "")
    except (SplitError, shape_inference.InferenceError):
        return {}
    return dict(zip(layout.layer_names, layout.layers, strict=True))


def split_model(model: onnx.ModelProto, cut: int) -> SplitModel:
    """The head (device) and tail (edge) of `model` cut before node `cut`."""
    count = len(model.graph.node)
    if not 0 <= cut <= count:
        raise SplitError(f"cut {cut} is outside 0..{count}")
    model = inferred(model)
    tensors = crossing(model, cut)
    extractor = Extractor(model)
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    head = None if cut == 0 else _extract(extractor, model, inputs, list(tensors))
    tail = None if cut == count else _extract(extractor, model, list(tensors), outputs)
    return SplitModel(cut, tensors, head, tail)


def _extract(
    extractor: Extractor, model: onnx.ModelProto, inputs: list[str], outputs: list[str]
) -> onnx.ModelProto:
    part = extractor.extract_model(inputs, outputs)
    part.ir_version = model.ir_version
    del part.opset_import[:]
    part.opset_import.extend(model.opset_import)
    part.metadata_props.extend(model.metadata_props)
    return part
