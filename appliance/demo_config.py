"""`appliance demo`'s configuration: the clip, the camera node's settings and the edge's."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from appliance.edge.config import DetectorConfig, TrackerConfig
from appliance.edge.outbox.config import CloudUplinkConfig
from cameras.config import DifferenceFilterConfig, RegionConfig, TinyDetectorConfig
from cameras.config_checks import NAME_PATTERN
from cameras.jpeg import (
    DEFAULT_JPEG_CHROMA,
    DEFAULT_JPEG_QUALITY,
    JPEG_CHROMA_DESCRIPTION,
    JpegChroma,
)


class DemoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    video: str = Field(
        "vtest", description="Sample clip name (vtest, bikes) or a path to a video file."
    )
    frames: int | None = Field(
        None, ge=1, description="Stop after this many frames (default: all)."
    )
    data_dir: Path = Field(
        Path("data/demo"), description="Each run stores its database in a new folder under this."
    )
    camera_id: str = Field("demo", pattern=NAME_PATTERN, description="Camera id.")
    jpeg_quality: int = Field(
        DEFAULT_JPEG_QUALITY, ge=10, le=100, description="JPEG quality of frames sent."
    )
    jpeg_chroma: JpegChroma = Field(DEFAULT_JPEG_CHROMA, description=JPEG_CHROMA_DESCRIPTION)
    filter: DifferenceFilterConfig = Field(
        default_factory=DifferenceFilterConfig, description="Camera-side frame-difference filter."
    )
    tiny_detector: TinyDetectorConfig = Field(
        default_factory=TinyDetectorConfig, description="Camera-side tiny detector."
    )
    regions: RegionConfig = Field(
        default_factory=RegionConfig, description="Changed regions instead of whole frames."
    )
    detector: DetectorConfig = Field(default_factory=DetectorConfig, description="Full detector.")
    tracker: TrackerConfig = Field(default_factory=TrackerConfig, description="Tracker settings.")
    cloud: CloudUplinkConfig = Field(
        default_factory=CloudUplinkConfig, description="The edge's cloud uplink (off by default)."
    )
