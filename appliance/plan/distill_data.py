"""What a distilled exit head learns from: frozen backbone features and the teacher's boxes.

The backbone prefix is the full exit's model cut at one of its tensors (Edgent's splitter,
`split_model`): its head part runs in onnxruntime, so the features are exactly what the light
exit's backbone computes. The teacher is the default detector run as the edge runs it
(`YoloOnnxDetector` on the original frame); its boxes are moved into the exit's square
letterboxed input, where the light head predicts them. No torch here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort

from appliance.plan.errors import PlanError
from appliance.sample_clips import resolve_video
from pipelines.detectors.letterbox import Letterbox, letterbox
from pipelines.detectors.onnx_yolo import YoloOnnxDetector, preprocess
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from pipelines.edgent.split import SplitError, crossing, split_model
from pipelines.types import Detection

Frame = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class FrameRange:
    """Frames `start` to `end` (exclusive; None: to the clip's end) of a clip, every `step`."""

    video: str
    start: int = 0
    end: int | None = None
    step: int = 1

    def __str__(self) -> str:
        end = "" if self.end is None else str(self.end)
        return f"{self.video}:{self.start}:{end}" + (f":{self.step}" if self.step > 1 else "")


def parse_range(text: str) -> FrameRange:
    """`CLIP`, `CLIP:START:END` or `CLIP:START:END:STEP` (END may be empty: to the end)."""
    video, *numbers = text.split(":")
    if not video or len(numbers) not in (0, 2, 3):
        raise PlanError(f"frames {text!r}: expected CLIP or CLIP:START:END[:STEP]")
    try:
        start = int(numbers[0]) if numbers else 0
        end = int(numbers[1]) if numbers and numbers[1] else None
        step = int(numbers[2]) if len(numbers) == 3 else 1
    except ValueError:
        raise PlanError(f"frames {text!r}: START, END and STEP must be whole numbers") from None
    if start < 0 or step < 1 or (end is not None and end <= start):
        raise PlanError(f"frames {text!r}: need 0 <= START < END and STEP >= 1")
    return FrameRange(video, start, end, step)


def frames_in(frames: FrameRange) -> Iterator[Frame]:
    """The range's frames, read in order (a clip shorter than END simply ends)."""
    capture = cv2.VideoCapture(str(resolve_video(frames.video)))
    if not capture.isOpened():
        raise PlanError(f"{frames.video}: cannot open the clip")
    try:
        index = 0
        while frames.end is None or index < frames.end:
            ok, frame = capture.read()
            if not ok:
                return
            if index >= frames.start and (index - frames.start) % frames.step == 0:
                yield np.asarray(frame, dtype=np.uint8)
            index += 1
    finally:
        capture.release()


def detector(path: Path, threads: int | None = None) -> YoloOnnxDetector:
    return YoloOnnxDetector(YoloOnnxSettings(model_path=str(path), threads=threads))


def session_options(threads: int | None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return options


def cut_before(model: onnx.ModelProto, tensor: str) -> int:
    """The cut just after the node making `tensor`, which must be the only tensor crossing it."""
    for index, node in enumerate(model.graph.node):
        if tensor in node.output:
            cut = index + 1
            crossed = crossing(model, cut)
            if crossed != (tensor,):
                raise PlanError(f"cut at {tensor}: {len(crossed)} tensors cross there, not one")
            return cut
    known = ", ".join(
        n.output[0] for n in model.graph.node if n.op_type in ("LeakyRelu", "MaxPool")
    )
    raise PlanError(f"no tensor {tensor!r} in the model (feature maps: {known})")


@dataclass(frozen=True)
class Backbone:
    """The full exit's layers up to the cut, run by onnxruntime."""

    prefix: onnx.ModelProto
    tensor: str
    size: int
    session: ort.InferenceSession

    def features(self, image: Frame) -> npt.NDArray[np.float32]:
        """`[C, H, W]` features of one letterboxed image."""
        blob = preprocess(image, np.float32)
        (out,) = self.session.run([self.tensor], {"images": blob})
        return np.asarray(out[0], dtype=np.float32)


def open_backbone(full_exit: Path, tensor: str, threads: int | None = None) -> Backbone:
    model = onnx.load(str(full_exit))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    size = dims[2].dim_value
    if not size:
        raise PlanError(f"{full_exit}: a static-input exit is needed (its input is dynamic)")
    try:
        prefix = split_model(model, cut_before(model, tensor)).head
    except SplitError as exc:
        raise PlanError(f"{full_exit}: {exc}") from None
    assert prefix is not None  # cut_before is never cut 0
    options = session_options(threads)
    session = ort.InferenceSession(prefix.SerializeToString(), options, ["CPUExecutionProvider"])
    return Backbone(prefix, tensor, size, session)


@dataclass(frozen=True)
class DistillSet:
    """Features and teacher boxes of the same frames."""

    features: npt.NDArray[np.float16]
    """`[N, C, H, W]` (float16 to halve the memory of a few thousand frames)."""
    boxes: list[npt.NDArray[np.float32]]
    """Per frame `[M, 5]`: class id, centre x, centre y, width, height in input pixels."""

    @property
    def frames(self) -> int:
        return len(self.boxes)

    @property
    def teacher_boxes(self) -> int:
        return sum(len(b) for b in self.boxes)


def input_boxes(
    found: list[Detection], placement: Letterbox, labels: tuple[str, ...]
) -> npt.NDArray[np.float32]:
    """The teacher's detections (frame pixels) as rows of the exit's input pixels."""
    rows = []
    for d in found:
        b = d.box
        x1, y1 = b.x1 * placement.scale + placement.pad_x, b.y1 * placement.scale + placement.pad_y
        x2, y2 = b.x2 * placement.scale + placement.pad_x, b.y2 * placement.scale + placement.pad_y
        rows.append([labels.index(d.label), (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])
    return np.array(rows, np.float32).reshape(-1, 5)


def distill_set(
    backbone: Backbone,
    teacher: YoloOnnxDetector,
    ranges: list[FrameRange],
    tick: Callable[[], None] | None = None,
) -> DistillSet:
    """Features of every frame of `ranges` and the teacher's boxes on them."""
    features: list[npt.NDArray[np.float16]] = []
    boxes: list[npt.NDArray[np.float32]] = []
    for frames in ranges:
        for frame in frames_in(frames):
            image, placement = letterbox(frame, backbone.size)
            features.append(backbone.features(image).astype(np.float16))
            boxes.append(input_boxes(teacher.detect(frame), placement, teacher.labels))
            if tick is not None:
                tick()
    if not boxes:
        raise PlanError(f"no frames in {', '.join(map(str, ranges))}")
    return DistillSet(np.stack(features), boxes)
