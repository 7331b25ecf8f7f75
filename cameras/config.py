"""Camera-node configuration (YAML `camera:` section), validated by pydantic."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from cameras.config_checks import NAME_PATTERN
from cameras.detector_config import YoloOnnxConfig
from cameras.edgent_config import CameraEdgentConfig
from cameras.jpeg import (
    DEFAULT_JPEG_CHROMA,
    DEFAULT_JPEG_QUALITY,
    JPEG_CHROMA_DESCRIPTION,
    JpegChroma,
)
from cameras.mask_config import MaskConfig
from cameras.reconnect import ReconnectSettings
from cameras.sources import SourceKind, classify_source
from pipelines.box_motion import BoxFollower, BoxMotionSettings
from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST
from pipelines.frame_difference import DifferenceSettings
from pipelines.motion import MotionSettings
from pipelines.region_uploads import RegionPlanner, RegionSettings


class DifferenceFilterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    width: int = Field(
        160, ge=8, le=1920, description="Width of the grey image frames are compared at."
    )
    height: int = Field(
        120, ge=8, le=1080, description="Height of the grey image frames are compared at."
    )
    blur_kernel: int = Field(
        5, ge=1, le=31, description="Gaussian blur size (odd) that hides sensor noise."
    )
    pixel_delta: int = Field(
        20, ge=1, le=255, description="Grey-level change for a pixel to count as changed."
    )
    threshold: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="Fraction of changed pixels that makes a frame worth sending.",
    )
    max_interval_s: float = Field(
        2.0,
        ge=0.0,
        description="While the edge tracks objects here, send a frame at least this often"
        " even if nothing changed, so their events end on time (0: never).",
    )

    @field_validator("blur_kernel")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError("must be an odd number")
        return value

    def settings(self) -> DifferenceSettings:
        return DifferenceSettings(**self.model_dump())


class TinyDetectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["motion", "yolo-onnx", "none"] = Field(
        "motion",
        description="What decides whether a changed frame shows anything of interest: the"
        " built-in motion-blob detector on the small grey image, a YOLO model exported to ONNX"
        " run on the frames the difference filter passes (`yolo_onnx`; motion blobs still mark"
        " arrivals and regions), or none (every changed frame counts as interesting).",
    )
    yolo_onnx: YoloOnnxConfig = Field(
        default_factory=YoloOnnxConfig,
        description="The ONNX model for kind yolo-onnx: the edge's model at a small input_size"
        " (224 or 256) suits a Pi; `appliance bench tiny` measures the choices.",
    )
    labels: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LABELS_OF_INTEREST),
        min_length=1,
        description="Labels of interest for kind yolo-onnx: a changed frame where the model"
        " finds none of these is dropped (as the edge's detector.labels; yolo_onnx.classes, if"
        " set, wins).",
    )
    threshold: int = Field(
        14, ge=1, le=255, description="Grey levels off the background that count as foreground."
    )
    min_area: float = Field(
        0.0015, gt=0, lt=1, description="Smallest blob of interest, fraction of the image."
    )
    learning_rate: float = Field(
        0.02, gt=0, le=1, description="How fast the background follows the scene, per frame."
    )
    arrival_area: float = Field(
        0.003,
        ge=0,
        le=1,
        description="While the edge tracks objects, send a frame when this fraction of the"
        " image turned foreground or back since the last frame sent, however few pixels"
        " changed.",
    )
    shadow_share: float | None = Field(
        0.95,
        gt=0,
        le=1,
        description="While the edge tracks nothing that moves, a blob with at least this share"
        " of its pixels the background evenly dimmed (to 0.4-0.95 of its brightness: a"
        " shadow, a cloud's edge) is no arrival; null: every blob is (for a scene where people"
        " in mid-grey cross a lighter floor).",
    )

    answer_keepalive_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Counts and boxes queries (the edge's filter_control.query), kind yolo-onnx:"
        " the model runs on every frame and a frame goes when its detections make the answer"
        " the edge holds (the count or boxes of the last frame sent) fall below the query's"
        " target, changes of the picture alone send nothing; and a frame after this long even"
        " when the answer holds, so that the edge's picture and tracks stay fresh. The same for"
        " counts on motion blobs (count_agreement).",
    )

    count_agreement: float | None = Field(
        0.8,
        gt=0,
        le=1,
        description="Counts query (the edge's filter_control.query), motion blobs: a frame goes"
        " when the number of moving blobs (the median of the last 3 frames) agrees less than"
        " this with the last frame sent's (as count accuracy: 1 - difference / the larger),"
        " changes of the picture alone send nothing; and a frame after answer_keepalive_s."
        " null: the difference filter and the edge's skip share decide, as for events.",
    )

    @model_validator(mode="after")
    def _model_for_onnx(self) -> TinyDetectorConfig:
        if self.kind == "yolo-onnx" and self.yolo_onnx.model_path is None:
            raise ValueError("kind yolo-onnx needs yolo_onnx.model_path")
        return self

    def settings(self) -> MotionSettings | None:
        if self.kind == "none":
            return None
        return MotionSettings(
            threshold=self.threshold,
            min_area=self.min_area,
            learning_rate=self.learning_rate,
            shadow_share=self.shadow_share,
        )


class RegionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        True,
        description="Send only the regions around objects (now and in the last frame sent),"
        " the rest flat grey; the edge pastes them onto its last picture. Needs the tiny"
        " detector.",
    )
    margin: float = Field(0.25, ge=0, le=2, description="Grow each object by this fraction.")
    max_area: float = Field(
        0.6, gt=0, le=1, description="Regions covering more of the frame: send the whole frame."
    )
    full_frame_interval_s: float = Field(
        10.0, gt=0, description="Send a whole frame at least this often."
    )
    max_foreground: float = Field(
        0.25,
        gt=0,
        le=1,
        description="Send the whole frame when more of the image than this differs from the"
        " background (camera moved, light switched).",
    )

    def settings(self) -> RegionSettings:
        return RegionSettings(
            self.margin, self.max_area, self.full_frame_interval_s, self.max_foreground
        )

    def planner(self) -> RegionPlanner | None:
        return RegionPlanner(self.settings()) if self.enabled else None


class BoxMotionConfig(BaseModel):
    """Following the edge's tracked boxes through every frame (`pipelines.box_motion`)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        True,
        description="Follow the objects the edge tracks through every frame read (sparse optical"
        " flow) and send with each frame how far each moved, so that the edge's tracker finds"
        " them on sparse frames instead of guessing by velocity. Not with edgent.",
    )
    scale: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Follow at this share of the frame's size (smaller: cheaper, coarser).",
    )

    def follower(self) -> BoxFollower | None:
        return BoxFollower(BoxMotionSettings(scale=self.scale)) if self.enabled else None


class ReconnectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    initial_backoff_s: float = Field(
        0.5, gt=0, le=60, description="First wait before reopening a dropped stream or USB camera."
    )
    max_backoff_s: float = Field(
        30.0, gt=0, le=3600, description="Longest wait between attempts (the wait doubles)."
    )
    give_up_after_s: float | None = Field(
        None, gt=0, description="Stop (state failed) after this long without a frame; none: never."
    )
    stall_after_s: float = Field(
        4.0, gt=0, description="A read blocked this long counts as a dropped stream."
    )

    def settings(self) -> ReconnectSettings:
        return ReconnectSettings(jitter=0.2, **self.model_dump())


class CameraConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=NAME_PATTERN, description="Camera id, as configured on the edge box.")
    source: str = Field(
        min_length=1,
        description="Video file, RTSP/HTTP URL (credentials allowed, never logged) or USB index.",
    )
    edge_url: str = Field(
        "http://127.0.0.1:8080",
        pattern=r"^https?://",
        description="Base URL of the edge box API.",
    )
    token: SecretStr = Field(description="This camera's token, as configured on the edge box.")
    jpeg_quality: int = Field(
        DEFAULT_JPEG_QUALITY, ge=10, le=100, description="JPEG quality of frames sent."
    )
    jpeg_chroma: JpegChroma = Field(DEFAULT_JPEG_CHROMA, description=JPEG_CHROMA_DESCRIPTION)
    realtime: bool = Field(
        False, description="Pace a video file at its own frame rate (live sources always are)."
    )
    loop: bool = Field(
        False,
        description="Start a video file again from its beginning at its end, frame numbers and"
        " clip time counting on (a demo camera that never runs out); files only.",
    )
    request_timeout_s: float = Field(10.0, gt=0, description="Timeout of one upload to the edge.")
    uplink_in_flight: int = Field(
        1,
        ge=1,
        le=8,
        description="Frames on their way to the edge at once (live sources; a file replay sends"
        " one at a time). A frame chosen while all are busy waits in one slot, the newest"
        " replacing it. More than 1 lets the edge pick the newest of several, at the cost of"
        " uploads it then drops.",
    )
    filter: DifferenceFilterConfig = Field(
        default_factory=DifferenceFilterConfig, description="Frame-difference input filter."
    )
    tiny_detector: TinyDetectorConfig = Field(
        default_factory=TinyDetectorConfig,
        description="Cheap detector that drops frames with nothing of interest and ranks the rest.",
    )
    regions: RegionConfig = Field(
        default_factory=RegionConfig, description="Changed regions instead of whole frames."
    )
    box_motion: BoxMotionConfig = Field(
        default_factory=BoxMotionConfig,
        description="Where the edge's tracked objects went between the frames sent.",
    )
    reconnect: ReconnectConfig = Field(
        default_factory=ReconnectConfig, description="Reopening live sources that drop."
    )
    edgent: CameraEdgentConfig = Field(
        default_factory=CameraEdgentConfig,
        description="Split models with the edge box (Edgent) instead of sending JPEGs.",
    )
    masks: MaskConfig = Field(
        default_factory=MaskConfig,
        description="Motion and privacy masks of this camera, polygons in frame pixels; the"
        " edge's settings (cameras[].masks, PUT .../settings) add theirs from its first reply.",
    )

    @model_validator(mode="after")
    def _only_files_loop(self) -> CameraConfig:
        if self.loop and classify_source(self.source) is not SourceKind.FILE:
            raise ValueError("loop: only a video file can loop, not a stream or USB camera")
        return self
