"""Edge-box and demo configuration: YAML files validated by pydantic models.

Every field carries its description once; validation errors quote the field path and reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from appliance.config_loader import is_loopback
from appliance.edge.access_config import AccessConfig, ListenConfig
from appliance.edge.camera_config import CameraSettingsConfig as CameraSettingsConfig
from appliance.edge.camera_config import EdgeCameraConfig as EdgeCameraConfig
from appliance.edge.edgent_config import EdgeEdgentConfig
from appliance.edge.filter_control import FilterControlConfig
from appliance.edge.outbox.config import CloudUplinkConfig
from appliance.edge.privacy_config import PrivacyConfig
from appliance.edge.retention import RetentionConfig
from cameras.config_checks import StrictConfig
from cameras.detector_config import DEFAULT_MODEL_PATH, YoloOnnxConfig
from pipelines.cascade import CascadeSettings, EarlyExitCascade
from pipelines.cascade_regions import ChangeSettings
from pipelines.detectors import Detector
from pipelines.detectors.hog import HogSettings
from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST
from pipelines.result_cache import ResultCache, ResultCacheSettings
from pipelines.tracker import TrackerSettings


class HogConfig(StrictConfig):
    win_stride: int = Field(8, ge=1, le=64, description="Step of the detection window, pixels.")
    padding: int = Field(8, ge=0, le=64, description="Padding around the window, pixels.")
    scale: float = Field(1.05, gt=1.0, le=2.0, description="Scale step of the image pyramid.")
    min_confidence: float = Field(
        0.5, ge=0.0, le=1.0, description="Drop detections below this confidence (0-1)."
    )
    nms_iou: float = Field(
        0.45, gt=0.0, le=1.0, description="Overlap above which the weaker of two boxes is dropped."
    )
    max_width: int = Field(
        0, ge=0, description="Shrink wider frames to this width before detecting (0: never)."
    )

    def settings(self) -> HogSettings:
        return HogSettings(**self.model_dump())


class DetectorConfig(StrictConfig):
    kind: Literal["hog", "yolo-onnx"] = Field(
        "yolo-onnx",
        description="Detector backend: a YOLO model in ONNX run by onnxruntime (default: Darknet's"
        " COCO YOLOv3-tiny, fetched and converted at set-up) or OpenCV's HOG people detector"
        " (built in). A yolo-onnx model file that does not exist falls back to HOG, announced"
        " in the log, /api/v1/stats and the UI.",
    )
    labels: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LABELS_OF_INTEREST),
        min_length=1,
        description="Labels of interest: the model's other classes are dropped before tracking,"
        " events and counts (COCO spellings such as motorbike/motorcycle both match; a model"
        " with none of these keeps all its classes). yolo_onnx.classes, if set, wins.",
    )
    hog: HogConfig = Field(default_factory=HogConfig, description="HOG people detector settings.")
    yolo_onnx: YoloOnnxConfig = Field(
        default_factory=lambda: YoloOnnxConfig(model_path=DEFAULT_MODEL_PATH),
        description="ONNX YOLO detector settings (default model: "
        + DEFAULT_MODEL_PATH
        + ", made by `appliance models pull yolov3-tiny`).",
    )

    def reported_from(self) -> float:
        """The confidence from which the detector reports an object (below it: weak)."""
        return (
            self.yolo_onnx.min_confidence if self.kind == "yolo-onnx" else self.hog.min_confidence
        )

    @model_validator(mode="after")
    def _model_for_onnx(self) -> DetectorConfig:
        if self.kind == "yolo-onnx" and self.yolo_onnx.model_path is None:
            raise ValueError("kind yolo-onnx needs yolo_onnx.model_path")
        return self


class TrackerConfig(StrictConfig):
    iou_threshold: float = Field(
        0.1,
        gt=0.0,
        le=1.0,
        description="Least overlap between a track (predicted to the frame's time) and a"
        " detection to match; low, since frames arrive sparse.",
    )
    min_hits: int = Field(
        2, ge=1, le=100, description="Matches before a track becomes an event (hides flicker)."
    )
    confirm_s: float = Field(
        0.2,
        ge=0.0,
        le=60.0,
        description="Seconds the matches must span before a track becomes an event (the same"
        " wait at any analysed frame rate).",
    )
    max_age_s: float = Field(
        2.0, gt=0.0, description="Seconds without a match after which a track's event ends."
    )
    report_misses: int | None = Field(
        1,
        ge=0,
        description="Stop showing a track missed on more analysed frames in a row than this"
        " (its event stays open until max_age_s); none: show it until it ends.",
    )
    stationary_after_s: float | None = Field(
        3.0,
        ge=0.0,
        description="Seconds an object must stay put (box overlap >= stationary_iou) to count as"
        " stationary, like a parked car: its event stays open without keepalive frames, since"
        " the camera sends a frame whenever its pixels change, and it ends once analysed frames"
        " miss it for max_age_s; none: every object is moving until it ends.",
    )
    stationary_iou: float = Field(
        0.6, gt=0.0, le=1.0, description="Least overlap with where it settled to stay put."
    )
    new_track_gate: float | None = Field(
        1.0,
        gt=0.0,
        le=10.0,
        description="A track seen once also takes a leftover detection of its label and size"
        " whose centre is within this many box widths (on sparse frames a walker moves about a"
        " width); none: overlap only.",
    )
    appearance_gate: float | None = Field(
        None,
        gt=0.0,
        le=10.0,
        description="A track left unmatched (lost, or seen once) also takes a leftover detection"
        " of its label and size within this many box widths that looks alike (colour histogram"
        " of the box's centre, computed from the analysed frame; 1.5 was measured); none: no"
        " descriptors. Off by default: it also joins look-alike people walking together.",
    )
    appearance_similarity: float = Field(
        0.95,
        ge=0.0,
        le=1.0,
        description="Least likeness (0-1) for appearance_gate; most people are 0.8-0.9 alike.",
    )
    weak_confidence: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="A yolo-onnx detector also runs down to this confidence; its detections"
        " under its own min_confidence only continue a track already there (ByteTrack's second"
        " association: the person seen at 0.6, then at 0.2, is still there), so a flickering"
        " object is confirmed sooner and stays one event. They are never stored, shown or"
        " counted. ByteTrack runs at 0.1. None (the default): the detector's threshold only;"
        " measured on the sample clips it helps some and costs others (docs/benchmarks.md).",
    )
    weak_iou: float = Field(
        0.3,
        gt=0.0,
        le=1.0,
        description="Least overlap of a track (predicted to the frame's time) and a weak"
        " detection for it to continue the track.",
    )

    def settings(self) -> TrackerSettings:
        return TrackerSettings(
            iou_threshold=self.iou_threshold,
            min_hits=self.min_hits,
            confirm_s=self.confirm_s,
            max_age_s=self.max_age_s,
            report_misses=self.report_misses,
            stationary_after_s=self.stationary_after_s,
            stationary_iou=self.stationary_iou,
            new_track_gate=self.new_track_gate,
            appearance_gate=self.appearance_gate,
            appearance_similarity=self.appearance_similarity,
            weak_iou=self.weak_iou,
        )


class ResultCacheConfig(StrictConfig):
    enabled: bool = Field(
        True, description="Answer near-duplicate frames from the camera's last analysis."
    )
    max_pixel_difference: int = Field(
        12,
        ge=0,
        le=255,
        description="Largest grey-level change of any pixel (at 160x120) still counted as the"
        " same frame.",
    )
    ttl_s: float = Field(5.0, gt=0, description="Never reuse a result older than this.")

    def cache(self) -> ResultCache | None:
        if not self.enabled:
            return None
        return ResultCache(
            ResultCacheSettings(max_pixel_difference=self.max_pixel_difference, ttl_s=self.ttl_s)
        )


class EarlyExitConfig(StrictConfig):
    regions: bool = Field(
        True,
        description="Regions exit: look again only where the frame changed since the last"
        " analysed frame and keep the detections elsewhere (detectors that support regions: hog,"
        " and yolo-onnx models whose input height and width are dynamic, as the converted"
        " Darknet ones are; others always run the full exit).",
    )
    max_region_area: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Changed regions covering more of the frame: run the full exit.",
    )
    max_changed: float = Field(
        0.3,
        gt=0,
        le=1,
        description="More of the picture changed than this (light, camera moved): full exit.",
    )
    full_interval_s: float = Field(
        2.0,
        gt=0,
        description="Run the full exit at least this often per camera, so an object that appears"
        " without being seen to move is found within this time.",
    )
    motion_threshold: int = Field(
        16,
        ge=1,
        le=255,
        description="Grey-level change (at 192x144, blurred) that counts as motion.",
    )
    region_margin: float = Field(
        0.5, ge=0, description="Grow each changed blob by this fraction of its size on every side."
    )

    def settings(self) -> CascadeSettings:
        return CascadeSettings(
            regions=self.regions,
            max_region_area=self.max_region_area,
            full_interval_s=self.full_interval_s,
            max_changed=self.max_changed,
            change=ChangeSettings(threshold=self.motion_threshold, margin=self.region_margin),
        )


class SchedulerConfig(StrictConfig):
    workers: int | None = Field(
        None, ge=1, description="Frames analysed at once; none: one per CPU core."
    )
    max_queue: int = Field(
        64,
        ge=1,
        description="Frames that may wait at most (fewer when the workers could not start them"
        " within deadline_s at the current analysis time); beyond, the least useful is dropped.",
    )
    deadline_s: float = Field(
        1.0,
        gt=0,
        description="A frame not taken up by a worker within this time after it arrived is"
        " dropped (a fresher frame of its camera says more).",
    )
    quiet_s: float = Field(
        2.0,
        ge=0,
        description="A camera silent this long is quiet: its next frame goes before busy ones.",
    )


class SnapshotConfig(StrictConfig):
    enabled: bool = Field(True, description="Save a JPEG crop of each event's best detection.")
    quality: int = Field(90, ge=10, le=100, description="JPEG quality of snapshots.")
    margin: float = Field(
        0.15, ge=0.0, le=2.0, description="Context around the box, as a fraction."
    )


class EdgeConfig(StrictConfig):
    listen: ListenConfig = Field(default_factory=ListenConfig, description="HTTP API address.")
    data_dir: Path = Field(Path("data"), description="Directory for the database and snapshots.")
    database_url: SecretStr | None = Field(
        None, description="SQLAlchemy URL; default SQLite (WAL) file in data_dir."
    )
    api_token: SecretStr | None = Field(
        None,
        description="Admin token: reads the API (stats, events, settings, live view) and changes"
        " camera settings; none: open, and then only on a loopback listen.host.",
    )
    access: AccessConfig = Field(
        default_factory=AccessConfig,
        description="Read-only viewers, browser origins and live-view tickets.",
    )
    max_frame_bytes: int = Field(
        8_000_000, ge=1024, description="Largest JPEG accepted from a camera, bytes."
    )
    max_clock_ahead_s: float = Field(
        3600.0,
        gt=0,
        description="Refuse frames stamped further ahead of the edge's clock (a wrong camera clock"
        " would otherwise lock out its later frames).",
    )
    uplink_capacity_mbps: float | None = Field(
        None,
        gt=0,
        description="Camera-to-edge capacity of the site, Mbit/s, split among cameras by utility"
        " (objects they show) and demand; none: no budgets.",
    )
    detector: DetectorConfig = Field(default_factory=DetectorConfig, description="Full detector.")
    tracker: TrackerConfig = Field(default_factory=TrackerConfig, description="Tracker settings.")
    snapshots: SnapshotConfig = Field(
        default_factory=SnapshotConfig, description="Event snapshots."
    )
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig, description="What is kept, and for how long."
    )
    filter_control: FilterControlConfig = Field(
        default_factory=FilterControlConfig,
        description="Per-camera query control: difference threshold and skip share.",
    )
    result_cache: ResultCacheConfig = Field(
        default_factory=ResultCacheConfig, description="Reuse of results for repeated frames."
    )
    scheduler: SchedulerConfig = Field(
        default_factory=SchedulerConfig, description="Analysis workers, priorities, shedding."
    )
    early_exit: EarlyExitConfig = Field(
        default_factory=EarlyExitConfig, description="Early-exit detection cascade."
    )
    cloud: CloudUplinkConfig = Field(
        default_factory=CloudUplinkConfig, description="Metadata to the cloud over MQTT."
    )
    privacy: PrivacyConfig = Field(
        default_factory=PrivacyConfig,
        description="People redacted in the pictures that leave the box (cloud, viewers).",
    )
    edgent: EdgeEdgentConfig = Field(
        default_factory=EdgeEdgentConfig, description="Tails of models split with camera nodes."
    )
    cameras: list[EdgeCameraConfig] = Field(
        min_length=1, description="Cameras allowed to send frames."
    )

    @field_validator("cameras")
    @classmethod
    def _unique_camera_ids(cls, cameras: list[EdgeCameraConfig]) -> list[EdgeCameraConfig]:
        ids = [c.id for c in cameras]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"camera ids must be unique; repeated: {', '.join(duplicates)}")
        return cameras

    @model_validator(mode="after")
    def _network_needs_a_token(self) -> EdgeConfig:
        # Reachable from the LAN, an open API would hand events, snapshots and live video to
        # any device there (and to any web page a browser there opens).
        if self.api_token is None and not is_loopback(self.listen.host):
            raise ValueError(
                f"listen.host {self.listen.host} serves the network: set api_token (readers and"
                " the UI then present it) or listen on 127.0.0.1"
            )
        if self.access.viewer_token is not None and self.api_token is None:
            raise ValueError("access.viewer_token needs an api_token (without one, all may write)")
        return self

    def cascade(self, detector: Detector) -> EarlyExitCascade:
        """One camera's early-exit cascade as the edge box runs it (benchmarks build theirs
        here too, so they measure the cascade that ships)."""
        return EarlyExitCascade(detector, self.result_cache.cache(), self.early_exit.settings())
