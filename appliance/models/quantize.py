"""`appliance models quantize`: INT8 versions of ONNX YOLO models for CPU-only (Pi-class) boxes.

With calibration footage it is static quantisation (QDQ, int8 weights per channel and int8
activations, ranges measured on letterboxed frames of real footage, preprocessed exactly as the
detector does); without, dynamic (uint8 weights, activation ranges computed per frame at run
time). Either way the box decoding after the last convolutions stays float: the output tensor
holds pixel coordinates (0-640) and class scores (0-1) side by side, and one int8 scale for both
would round every score to nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from appliance.models.errors import ModelToolError
from appliance.models.info import ModelInfo, describe_onnx
from appliance.progress import SILENT, Progress
from pipelines.detectors.letterbox import letterbox
from pipelines.detectors.onnx_yolo import DEFAULT_INPUT_SIZE, preprocess
from pipelines.detectors.yolo_settings import YoloOnnxSettings

log = logging.getLogger(__name__)

# The layers that carry the weights; decoding starts after the last of them.
WEIGHTED_OPS = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm"})
DEFAULT_CALIBRATION_FRAMES = 32


def host_cpu() -> str:
    """The kind of CPU this machine has, arm or x86: the default quantisation target."""
    machine = platform.machine().lower()
    return "arm" if machine.startswith(("arm", "aarch")) else "x86"


@dataclass(frozen=True)
class QuantizeSettings:
    source: Path
    target: Path
    calibration: Path | None = None
    frames: int = DEFAULT_CALIBRATION_FRAMES
    input_size: int | None = None
    target_cpu: str = field(default_factory=host_cpu)
    float_ops: tuple[str, ...] = ()
    """Op types kept float (with the decoding tail), e.g. MaxPool, whose uint8 kernel is
    slower than the float one outside onnxruntime's NHWC layout."""
    skip_every: int | None = None
    """Frames whose index is a multiple of this are not calibrated on (an accuracy set)."""


@dataclass(frozen=True)
class QuantizeResult:
    source: Path
    target: Path
    mode: str
    bytes_before: int
    bytes_after: int
    calibration_frames: int
    target_cpu: str
    float_nodes: list[str] = field(default_factory=list)
    info: ModelInfo | None = None


def quantize(settings: QuantizeSettings, progress: Progress = SILENT) -> QuantizeResult:
    """Write the INT8 model and check the edge's detector loads it."""
    source_info = _usable(settings.source, settings.input_size)
    q = _quantization()
    settings.target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="quantize-") as work, _quiet_onnxruntime():
        with progress.timed("preparing the model"):
            prepared = _prepare(q, settings.source, Path(work) / "prepared.onnx")
        keep_float = decode_tail(prepared) + nodes_of(prepared, settings.float_ops)
        log.info(
            "quantising %s for %s CPUs, %d nodes kept float (decoding, float_ops)",
            settings.source,
            settings.target_cpu,
            len(keep_float),
        )
        if settings.calibration is None:
            mode, frames = "dynamic", 0
            with progress.timed("quantising (dynamic)"):
                _dynamic(q, prepared, settings.target, keep_float)
        else:
            # The input size is known for a model the edge loads.
            size = source_info.input_size or DEFAULT_INPUT_SIZE
            with progress.stage("calibrating, then quantising", settings.frames) as stage:
                reader = FrameReader(
                    settings.calibration, settings.frames, size, source_info.inputs[0].name,
                    stage.tick, settings.skip_every,
                )  # fmt: skip
                _static(q, prepared, settings, reader, keep_float)
            mode, frames = "static", reader.used
    return QuantizeResult(
        source=settings.source,
        target=settings.target,
        mode=mode,
        bytes_before=os.path.getsize(settings.source),
        bytes_after=os.path.getsize(settings.target),
        calibration_frames=frames,
        target_cpu=settings.target_cpu,
        float_nodes=keep_float,
        info=_usable(settings.target, settings.input_size),
    )


@contextlib.contextmanager
def _quiet_onnxruntime() -> Iterator[None]:
    """onnxruntime's quantiser logs a line per tensor on the root logger: keep its warnings only.

    A filter on the root logger sees only records logged on it directly, not the appliance's.
    """
    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    root, only_warnings = logging.getLogger(), _AtLeast(logging.WARNING)
    root.addFilter(only_warnings)
    try:
        yield
    finally:
        root.removeFilter(only_warnings)


class _AtLeast(logging.Filter):
    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


def _prepare(q: Any, source: Path, prepared: Path) -> Path:
    """onnxruntime's recommended pre-pass (shape inference, graph optimisation), if it works."""
    try:
        q.quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    except Exception as exc:  # an optional pass: quantising the model as it is still works
        log.warning("quantisation pre-processing failed, quantising %s as is: %s", source, exc)
        return source
    return prepared


def _dynamic(q: Any, source: Path, target: Path, keep_float: list[str]) -> None:
    q.quantize_dynamic(
        str(source),
        str(target),
        weight_type=q.QuantType.QUInt8,  # onnxruntime's CPU ConvInteger takes uint8 weights
        nodes_to_exclude=keep_float,
    )


def _static(
    q: Any, source: Path, settings: QuantizeSettings, reader: FrameReader, keep_float: list[str]
) -> None:
    """Quantise with activation ranges measured on the reader's calibration frames."""
    # onnxruntime's CPU guidance: int8 activations suit ARM cores, uint8 ones x86 cores.
    activations = q.QuantType.QUInt8 if settings.target_cpu == "x86" else q.QuantType.QInt8
    q.quantize_static(
        str(source),
        str(settings.target),
        reader,
        quant_format=q.QuantFormat.QDQ,
        per_channel=True,
        activation_type=activations,
        weight_type=q.QuantType.QInt8,
        nodes_to_exclude=keep_float,
        calibrate_method=q.CalibrationMethod.MinMax,
        # 7-bit weights: x86 cores without VNNI multiply uint8 by int8 in 16-bit sums that
        # saturate with full-range weights (seen on AVX2-only AMD EPYC: confident classes
        # vanished); one bit of weight precision is the cheaper loss.
        reduce_range=True,
    )


def _usable(path: Path, input_size: int | None) -> ModelInfo:
    info = describe_onnx(YoloOnnxSettings(model_path=str(path), input_size=input_size))
    if info.problem:
        raise ModelToolError(info.problem)
    if info.inputs[0].type != "tensor(float)":
        raise ModelToolError(
            f"{path}: quantise a float32 model, this one takes {info.inputs[0].type}"
        )
    return info


def _quantization() -> Any:
    """onnxruntime's quantisation tools (they import the onnx package, decode_tail uses it)."""
    try:
        from onnxruntime import quantization
    except ImportError as exc:  # onnxruntime's quantisation tools need the onnx package
        raise ModelToolError(
            f"quantising needs the onnx package: pip install -e '.[quantize]' ({exc})"
        ) from None
    return quantization


def decode_tail(path: Path) -> list[str]:
    """Names of the nodes between the graph's outputs and the last weighted layers."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    producers = {tensor: node for node in graph.node for tensor in node.output}
    tail: list[str] = []
    seen: set[int] = set()
    pending = [output.name for output in graph.output]
    while pending:
        node = producers.get(pending.pop())
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if node.op_type in WEIGHTED_OPS:
            continue
        if node.name:
            tail.append(node.name)
        pending.extend(node.input)
    return sorted(tail)


def nodes_of(path: Path, op_types: tuple[str, ...]) -> list[str]:
    """Names of the nodes of these op types."""
    import onnx

    if not op_types:
        return []
    graph = onnx.load(str(path), load_external_data=False).graph
    return sorted(node.name for node in graph.node if node.op_type in op_types and node.name)


class FrameReader:
    """An onnxruntime CalibrationDataReader (it needs only get_next): frames spread over a video,
    letterboxed and preprocessed as the detector does."""

    def __init__(
        self,
        video: Path,
        count: int,
        input_size: int,
        input_name: str,
        frame_read: Callable[[], None] | None = None,
        skip_every: int | None = None,
    ) -> None:
        self.used = 0
        self._name = input_name
        self._frames = self._blobs(video, count, input_size, skip_every)
        self._frame_read = frame_read

    def get_next(self) -> dict[str, npt.NDArray[Any]] | None:
        blob = next(self._frames, None)
        if blob is None:
            return None
        self.used += 1
        if self._frame_read is not None:
            self._frame_read()
        return {self._name: blob}

    @staticmethod
    def _blobs(
        video: Path, count: int, input_size: int, skip_every: int | None
    ) -> Iterator[npt.NDArray[Any]]:
        for frame in spread_frames(video, count, skip_every):
            image, _ = letterbox(frame, input_size)
            yield preprocess(image, np.float32)


def spread_frames(
    video: Path, count: int, skip_every: int | None = None
) -> Iterator[npt.NDArray[np.uint8]]:
    """Every k-th frame, so `count` frames cover the whole clip (read in order: no seeking);
    one whose index is a multiple of `skip_every` gives way to the next frame that is not."""
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise ModelToolError(f"{video}: cannot open the calibration video")
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    step = max(1, total // count) if total > 0 else 1
    index = kept = 0
    due = False
    try:
        while kept < count:
            ok, frame = capture.read()
            if not ok:
                break
            due = due or index % step == 0
            if due and not (skip_every and index % skip_every == 0):
                due = False
                kept += 1
                yield np.asarray(frame, dtype=np.uint8)
            index += 1
    finally:
        capture.release()
    if kept == 0:
        raise ModelToolError(f"{video}: no frames could be read for calibration")
