"""INT8 variants of the default detector's exits, as onnxruntime runs them.

A QDQ model (`appliance models quantize`: DequantizeLinear -> Conv -> QuantizeLinear) is not
what onnxruntime executes: at its extended optimisation level it fuses each such pattern into
one int8 kernel (QLinearConv, QLinearLeakyRelu). Edgent's sessions run at the basic level so
that every graph node is one profiled kernel and every cut costs the sum of its layers; a QDQ
graph at that level runs float convolutions between Q/DQ pairs, slower than FP32. So the INT8
exit is saved *after* fusion: the file is onnxruntime's own optimised graph, each node of it one
kernel at the basic level, and the profile, the per-layer regressions, the layout and the
splits work on it as on any exit (a cut after a fused node sends uint8 tensors, one byte per
element, as they are).

Calibration: static, on vtest frames other than the accuracy frames (every 13th is scored).
MaxPool stays float: onnxruntime's uint8 MaxPool outside its NHWC layout (all-level only) is
several times slower than the float one, which costs a QuantizeLinear after each pool instead.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from appliance.models.quantize import QuantizeSettings, quantize
from appliance.sample_clips import resolve_video

log = logging.getLogger(__name__)

INT8_SUFFIX = "int8"
INT8_BUILD = "1"
"""Recorded in each INT8 exit (`int8_build`): a model built another way is rebuilt."""
CALIBRATION_FRAMES = 32
FLOAT_OPS = ("MaxPool",)


def int8_name(name: str) -> str:
    return f"{name}-{INT8_SUFFIX}"


def int8_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-{INT8_SUFFIX}{path.suffix}")


def int8_build(path: Path) -> str | None:
    """The build an INT8 exit records (None if the file is absent or unreadable)."""
    if not path.is_file():
        return None
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # any unreadable file is simply rebuilt
        return None
    return {p.key: p.value for p in model.metadata_props}.get("int8_build")


def build_int8_exit(source: Path, target: Path, size: int, video: str, skip_every: int) -> Path:
    """Quantise `source` (static, calibrated on `video` less every `skip_every`-th frame), fuse
    it as onnxruntime does, record every tensor's shape and write it to `target`."""
    with tempfile.TemporaryDirectory(prefix="int8-exit-") as work:
        qdq = Path(work) / "qdq.onnx"
        settings = QuantizeSettings(
            source, qdq, resolve_video(video), CALIBRATION_FRAMES, size,
            float_ops=FLOAT_OPS, skip_every=skip_every,
        )  # fmt: skip
        result = quantize(settings)
        fused = Path(work) / "fused.onnx"
        fuse(qdq, fused)
        model = with_shapes(onnx.load(str(fused)))
    onnx.helper.set_model_props(
        model,
        {
            **{p.key: p.value for p in model.metadata_props},
            "int8_build": INT8_BUILD,
            "int8_calibration": f"{result.calibration_frames} frames of {video}, "
            f"none of every {skip_every}th",
        },
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))
    log.info("built INT8 exit %s from %s", target, source)
    return target


def fuse(qdq: Path, fused: Path) -> None:
    """onnxruntime's extended-level graph (QDQ patterns fused into int8 kernels), saved."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(fused)
    options.log_severity_level = 3
    ort.InferenceSession(str(qdq), options, providers=["CPUExecutionProvider"])


def with_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """Every intermediate tensor's type and shape, from one run on a blank input.

    ONNX shape inference does not know onnxruntime's contrib ops (QLinearLeakyRelu), and the
    layout and the splits need every tensor's static shape; the input is static, so one run
    gives them all.
    """
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in model.graph.output}
    names = [t for node in model.graph.node for t in node.output if t and t not in known]
    probe.graph.output.extend(onnx.ValueInfoProto(name=name) for name in names)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(
        probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    (given,) = session.get_inputs()
    blank = np.zeros([int(d) for d in given.shape], np.float32)
    values = session.run(names, {given.name: blank})
    del model.graph.value_info[:]
    for name, value in zip(names, values, strict=True):
        array = np.asarray(value)
        kind = onnx.helper.np_dtype_to_tensor_dtype(array.dtype)
        model.graph.value_info.append(
            onnx.helper.make_tensor_value_info(name, kind, list(array.shape))
        )
    return model
