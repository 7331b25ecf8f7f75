"""The camera node's `edgent:` section: analyse chosen frames together with the edge box, the
head of a model here and its tail there, at the exit and partition point Edgent's planner picks
for the bandwidth measured now."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cameras.config_checks import NAME_PATTERN, require_unique
from pipelines.detectors.yolo_decode import YoloDecoding
from pipelines.edgent.codec import Encoding

EXIT_NAME = NAME_PATTERN
MAX_DETECTIONS = 10_000
ZLIB_LEVEL = 1
"""zlib's fastest level: the point of compressing is a slow uplink, not the last percent."""


class CameraExitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=EXIT_NAME, description="Exit name, as the edge box calls it.")
    model_path: Path = Field(
        description="The exit's ONNX model (an Ultralytics YOLO export with a static input), the"
        " same file the edge box runs the tail of."
    )
    accuracy: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="The exit's accuracy (0-1): the planner prefers the most accurate exit in"
        " time; none: its F1 from `accuracy_file`.",
    )


class CodecConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    encoding: Encoding = Field(
        "float16",
        description="How intermediate tensors travel: float32 (exact), float16 (half the bytes,"
        " boxes within ~0.5 px) or int8 (a quarter, within a few px).",
    )
    compress: bool = Field(
        False,
        description="zlib on top (saves ~10% of float16 bytes for CPU time: pays only on"
        " uplinks below ~1 Mbit/s).",
    )

    @property
    def level(self) -> int:
        return ZLIB_LEVEL if self.compress else 0


class PinnedPlanConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exit: str = Field(pattern=EXIT_NAME, description="Always run this exit.")
    cut: int = Field(
        ge=0,
        description="Always cut its model here: 0 edge-only (the JPEG goes), the model's node"
        " count device-only, anything between splits it.",
    )


class DecodingConfig(BaseModel):
    """How a YOLO model's output becomes detections: on the edge box for every split frame, on
    the camera node at the device-only end (it decodes and sends only the detections). The two
    roles should agree."""

    model_config = ConfigDict(extra="forbid")

    min_confidence: float = Field(
        0.25, ge=0.0, le=1.0, description="Drop detections below this confidence (0-1)."
    )
    nms_iou: float = Field(0.45, gt=0.0, le=1.0, description="Overlap suppressed per class.")
    max_detections: int = Field(
        300,
        ge=1,
        le=MAX_DETECTIONS,
        description="Most detections per frame (the edge refuses a device-only frame with more).",
    )
    classes: list[str] | None = Field(
        None, description="Keep only these labels (default: all; must be among the model's)."
    )

    def decoding(self, labels: tuple[str, ...]) -> YoloDecoding:
        """How to read the output of a model with these labels."""
        classes = tuple(self.classes) if self.classes else None
        return YoloDecoding(labels, self.min_confidence, self.nms_iou, self.max_detections, classes)


class CameraEdgentConfig(DecodingConfig):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        False,
        description="Analyse chosen frames with the edge box: the head of a model here, its tail"
        " on the edge (needs the onnx package, `pip install -e '.[plan]'`, and the edge's"
        " `edgent` section). Regions are not sent while on.",
    )
    exits: list[CameraExitConfig] = Field(
        default_factory=list, description="The exits (models) the planner chooses among."
    )
    edge_detector_exit: str | None = Field(
        None,
        pattern=EXIT_NAME,
        description="The exit that is the edge box's own detector: frames planned edge-only go"
        " as JPEGs, which that detector analyses, so only this exit is planned edge-only; none:"
        " any exit may be (its edge-only accuracy and time are then the exit's, not the"
        " detector's).",
    )
    accuracy_file: Path | None = Field(
        None,
        description="Exit accuracies measured on this camera's footage against the full model"
        " (`appliance plan accuracy --output`), for exits without an `accuracy`.",
    )
    device_profile: Path | None = Field(
        None,
        description="This camera's DeviceProfile JSON (`appliance plan profile --device cam1`).",
    )
    edge_profile: Path | None = Field(
        None, description="The edge box's DeviceProfile JSON (`appliance plan profile`)."
    )
    deadline_ms: float = Field(
        300.0,
        gt=0,
        description="Latency requirement of one frame (camera head + upload + edge tail), ms.",
    )
    codec: CodecConfig = Field(
        default_factory=CodecConfig, description="Encoding of the tensors that cross the cut."
    )
    pin: PinnedPlanConfig | None = Field(
        None,
        description="Run this exit and cut always instead of planning (measurements, tests);"
        " the profiles are then optional.",
    )
    cached_splits: int = Field(
        4, ge=1, le=64, description="Model heads kept ready, one per (exit, cut) recently used."
    )
    picture_interval_s: float | None = Field(
        2.0,
        gt=0,
        description="When the edge asks for a picture (an event whose object was seen only on"
        " tensors has no snapshot), the next frame goes as its JPEG, at most one per this many"
        " seconds; none: never (such events get no snapshot).",
    )
    threads: int | None = Field(
        None, ge=1, le=64, description="onnxruntime threads for the head; none: its default."
    )

    @field_validator("exits")
    @classmethod
    def _unique_names(cls, exits: list[CameraExitConfig]) -> list[CameraExitConfig]:
        require_unique((e.name for e in exits), "exit names")
        return exits

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> CameraEdgentConfig:
        if not self.enabled:
            return self
        if not self.exits:
            raise ValueError("enabled needs at least one exit")
        names = {e.name for e in self.exits}
        if self.pin is not None and self.pin.exit not in names:
            raise ValueError(f"pin.exit {self.pin.exit!r} is not one of the exits")
        detector = self.edge_detector_exit
        if detector is not None and detector not in names:
            raise ValueError(f"edge_detector_exit {detector!r} is not one of the exits")
        unknown = [e.name for e in self.exits if e.accuracy is None]
        if self.pin is None and unknown and self.accuracy_file is None:
            raise ValueError(f"exits {unknown} need an accuracy or edgent.accuracy_file")
        if self.pin is None and (self.device_profile is None or self.edge_profile is None):
            raise ValueError("enabled needs device_profile and edge_profile (or a pin)")
        return self
