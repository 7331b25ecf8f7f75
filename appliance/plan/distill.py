"""`appliance plan distill`: a light exit head on an earlier feature map, trained by distillation.

The default detector's coarse head finds none of vtest's small pedestrians. This builds the
other kind of early exit (BranchyNet's): the full exit's backbone up to a finer feature map
(26x26 at 416 px by default, after the 5th convolution), frozen, and a small head trained to
give the default detector's detections from it on footage. Features come from the backbone's
ONNX prefix (Edgent's splitter), targets from the teacher on the same frames, the head is
trained in torch (the `train` extra) and stitched back onto the prefix as one static-input ONNX
exit with the other exits' output. Then its F1 on frames it was not trained on and its ms per
frame are compared with the coarse and full exits at the same size.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import onnx
from onnx import helper

from appliance.models.darknet.convert import sha256_of, write_model
from appliance.models.errors import ModelToolError
from appliance.plan.distill_data import (
    FrameRange,
    detector,
    distill_set,
    frames_in,
    open_backbone,
)
from appliance.plan.distill_eval import ExitFigures, compare_exits
from appliance.plan.distill_export import feature_shape, finest_yolo, stitched
from appliance.plan.errors import PlanError
from appliance.progress import SILENT, Progress

log = logging.getLogger(__name__)

DEFAULT_CUT = "layer8_convolutional_leaky"
"""YOLOv3-tiny's 26x26x256 map at 416 px (stride 16), the one its fine head also reads."""
TRAIN_FRAMES = (FrameRange("vtest", 0, 600), FrameRange("bikes"))
HELD_OUT_FRAMES = FrameRange("vtest", 600)
"""vtest's last 195 frames: the same street later, people the head never saw."""


@dataclass(frozen=True)
class DistillSettings:
    reference: Path
    """The default detector: the teacher, and what every exit is scored against."""
    full_exit: Path
    """The static full exit at the light exit's size: its layers up to `cut` are the backbone."""
    cfg: Path
    """The Darknet cfg: its finest [yolo] layer's anchors and classes decode the head."""
    output: Path
    cut: str = DEFAULT_CUT
    train: tuple[FrameRange, ...] = TRAIN_FRAMES
    held_out: FrameRange = HELD_OUT_FRAMES
    hidden: int = 128
    """Channels of the head's 3x3 convolution."""
    epochs: int = 30
    batch: int = 16
    learning_rate: float = 2e-3
    seed: int = 0
    threads: int = 1
    """torch's and onnxruntime's threads (training is deterministic for a seed and count)."""
    compare: dict[str, Path] = field(default_factory=dict)
    """Other exits to score and time beside the light one (name: model)."""
    timing_runs: int = 20
    """Timed runs per exit (0: not timed)."""


@dataclass(frozen=True)
class DistillResult:
    output: Path
    train_frames: int
    teacher_boxes: int
    losses: list[float]
    features_s: float
    training_s: float
    exits: list[ExitFigures]


def torch_module() -> ModuleType:
    """The head's trainer; torch comes with the `train` extra."""
    try:
        from appliance.plan import distill_head
    except ModuleNotFoundError as exc:
        raise PlanError(f"distillation needs torch: pip install -e '.[train]' ({exc})") from None
    return distill_head


def light_name(output: Path, size: int) -> str:
    return f"light-{size}" if output.stem.endswith(f"-{size}") else output.stem


def run_distill(settings: DistillSettings, progress: Progress = SILENT) -> DistillResult:
    """Train, stitch, write and measure the light exit."""
    trainer = torch_module()
    _check_paths(settings)
    backbone = open_backbone(settings.full_exit, settings.cut, settings.threads)
    yolo = finest_yolo(settings.cfg)
    teacher = detector(settings.reference, settings.threads)
    if len(teacher.labels) != yolo.head.classes:
        raise PlanError(
            f"{settings.cfg}: its [yolo] layers score {yolo.head.classes} classes, the default"
            f" detector {len(teacher.labels)}"
        )
    started = time.perf_counter()
    with progress.stage("features and teacher boxes") as stage:
        data = distill_set(backbone, teacher, list(settings.train), stage.tick)
    features_s = time.perf_counter() - started
    channels, height, _ = feature_shape(backbone)
    shape = trainer.HeadShape(
        channels, settings.hidden, tuple(yolo.head.anchors), yolo.head.classes,
        backbone.size // height,
    )  # fmt: skip
    training = trainer.TrainSettings(
        settings.epochs, settings.batch, settings.learning_rate, settings.seed
    )
    import torch

    torch.set_num_threads(settings.threads)
    started = time.perf_counter()
    with progress.stage("training the head", settings.epochs, "epoch") as stage:
        trained = trainer.train_head(data, shape, training, lambda _e, _l: stage.tick())
    training_s = time.perf_counter() - started
    _write(stitched(backbone, trained.head, yolo, _metadata(settings, data.frames)), settings)
    name = light_name(settings.output, backbone.size)
    exits = {name: settings.output, **settings.compare}
    with progress.timed(f"scoring {len(exits)} exits on {settings.held_out}"):
        figures = compare_exits(settings.reference, exits, settings.held_out, settings.timing_runs)
    _record_held_out(settings, figures[0])
    return DistillResult(
        settings.output, data.frames, data.teacher_boxes, trained.losses, features_s,
        training_s, figures,
    )  # fmt: skip


def _check_paths(settings: DistillSettings) -> None:
    for path in (settings.reference, settings.full_exit, settings.cfg, *settings.compare.values()):
        if not path.is_file():
            raise PlanError(f"{path}: file not found")
    for frames in (*settings.train, settings.held_out):
        next(iter(frames_in(frames)), None)  # an unknown clip fails here, before any work
    if settings.hidden < 1 or settings.epochs < 1 or settings.batch < 2:
        raise PlanError("--hidden and --epochs must be at least 1, --batch at least 2")


def _metadata(settings: DistillSettings, frames: int) -> dict[str, str]:
    return {
        "description": f"YOLOv3-tiny up to {settings.cut} and a light head distilled from the"
        " default detector's detections",
        "cut": settings.cut,
        "stride": "16",
        "distilled_from_sha256": sha256_of(settings.reference),
        "prefix_from_sha256": sha256_of(settings.full_exit),
        "train_frames": ",".join(map(str, settings.train)),
        "train_frame_count": str(frames),
        "hidden": str(settings.hidden),
        "epochs": str(settings.epochs),
        "seed": str(settings.seed),
    }


def _write(model: onnx.ModelProto, settings: DistillSettings) -> None:
    try:
        write_model(model, settings.output)
    except ModelToolError as exc:
        raise PlanError(str(exc)) from None


def _record_held_out(settings: DistillSettings, light: ExitFigures) -> None:
    """The held-out F1 goes into the model: what the planner plans the light exit with."""
    model = onnx.load(str(settings.output))
    meta = {p.key: p.value for p in model.metadata_props}
    meta.update(
        held_out_f1=str(light.f1),
        held_out_frames=str(light.frames),
        held_out_video=str(settings.held_out),
    )
    del model.metadata_props[:]
    helper.set_model_props(model, meta)
    _write(model, settings)
