"""A camera as the edge box knows it: its id and token, and the settings that can change at run
time (query, thresholds, zones, masks, budget) through the API as well as the YAML."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator

from cameras.config_checks import NAME_PATTERN, StrictConfig, require_unique
from cameras.mask_config import (
    MaskConfig,
    PolygonPoints,
    masks_outside,
    outside_the_frame,
    point_outside,
)
from pipelines.feedback import Query
from pipelines.zones import Zone

FrameSide = Annotated[int, Field(ge=32, le=8192)]
"""A frame's width or height in pixels, within what the edge accepts."""


class ZoneConfig(StrictConfig):
    name: str = Field(pattern=NAME_PATTERN, description="Zone name used in events.")
    points: PolygonPoints = Field(
        description="Polygon corners [x, y] in frame pixels (3 to 64, each 0 to 16384); an"
        " object is in the zone when the bottom centre of its box is inside.",
    )

    def zone(self) -> Zone:
        return Zone(self.name, tuple(self.points))


class CameraSettingsConfig(StrictConfig):
    """A camera's settings the UI may change at run time (`PUT .../settings`): the API
    validates them with this model, so they obey the same rules as in the YAML."""

    difference_threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Difference threshold the edge asks this camera to use; none: adaptive"
        " (filter_control).",
    )
    query: Query | None = Field(
        None, description="What users ask of this camera; none: filter_control.query."
    )
    accuracy_target: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="Accuracy of this camera's query to hold; none: filter_control's.",
    )
    zones: list[ZoneConfig] = Field(
        default_factory=list,
        max_length=32,
        description="Named areas events record when objects enter them (at most 32).",
    )
    budget_bytes_per_s: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="Fixed uplink budget of this camera, bytes/s, taken off what the other"
        " cameras share; none: its share of uplink_capacity_mbps (or unlimited).",
    )
    masks: MaskConfig = Field(
        default_factory=MaskConfig,
        description="Motion and privacy masks the edge sends this camera's node in every reply;"
        " the node applies them, live, on top of those in its own YAML (camera.masks).",
    )

    @field_validator("zones")
    @classmethod
    def _unique_zone_names(cls, zones: list[ZoneConfig]) -> list[ZoneConfig]:
        require_unique((z.name for z in zones), "zone names")
        return zones


def zones_outside(zones: list[ZoneConfig], frame: tuple[int, int] | None) -> str | None:
    """Where a zone leaves a camera's frame of `frame` [width, height] pixels (None: every
    point is inside, or the frame size is not configured)."""
    if frame is None:
        return None
    found = point_outside([zone.points for zone in zones], frame)
    if found is None:
        return None
    i, j, x, y = found
    return outside_the_frame(f"zones.{i}.points.{j}", (x, y), frame)


def polygons_outside(settings: CameraSettingsConfig, frame: tuple[int, int] | None) -> str | None:
    """Where a zone or a mask leaves a camera's frame (see `zones_outside`)."""
    return zones_outside(settings.zones, frame) or masks_outside(settings.masks, frame)


class EdgeCameraConfig(CameraSettingsConfig):
    id: str = Field(pattern=NAME_PATTERN, description="Camera id used in the API.")
    name: str = Field("", max_length=200, description="Human-readable camera name.")
    token: SecretStr = Field(min_length=8, description="Secret the camera node authenticates with.")
    max_frame_size: tuple[FrameSide, FrameSide] | None = Field(
        None,
        description="Largest frame [width, height] this camera sends; a larger one (by its JPEG"
        " header) is refused before it is decoded, and zones and masks must lie inside it; none:"
        " the box's limits only (8192 a side, 8K UHD in all).",
    )

    @model_validator(mode="after")
    def _polygons_inside_the_frame(self) -> EdgeCameraConfig:
        outside = polygons_outside(self, self.max_frame_size)
        if outside is not None:
            raise ValueError(outside)
        return self

    def settings(self) -> CameraSettingsConfig:
        """The run-time changeable part of this camera's config."""
        return CameraSettingsConfig.model_validate(
            self.model_dump(include=set(CameraSettingsConfig.model_fields))
        )
