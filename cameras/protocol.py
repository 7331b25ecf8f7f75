"""The camera -> edge wire contract, shared by the node (client) and the edge API (server).

One HTTP request per selected frame: the JPEG is the body, this metadata rides in the
`X-Frame-Meta` header as JSON, and the camera's token in `Authorization: Bearer`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

META_HEADER = "X-Frame-Meta"
# The metadata rides in one HTTP header: keep it well under servers' 16 KB header limits.
MAX_ITEMS = 64


class WireBox(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x1: float
    y1: float
    x2: float
    y2: float


class WireDetection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=64)
    confidence: float = Field(ge=0.0, le=1.0)
    box: WireBox
    track_id: int | None = None


class FeatureScores(BaseModel):
    """The camera's cheap difference features of the frame against the last one it sent."""

    model_config = ConfigDict(extra="forbid")

    pixel: float = Field(ge=0.0, le=1.0)
    area: float = Field(ge=0.0, le=1.0)
    edge: float = Field(ge=0.0, le=1.0)
    foreground: float = Field(ge=0.0, le=1.0)


class FrameMeta(BaseModel):
    """What the camera node knows about a frame it sends."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(
        ge=0, le=2**63 - 1, description="Frame number at the camera, counting every frame read."
    )
    captured_at: float = Field(
        gt=0, allow_inf_nan=False, description="Capture time, UTC epoch seconds."
    )
    filter_score: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Frame-difference score that let it through."
    )
    send_reason: str = Field(default="changed", max_length=32)
    features: FeatureScores | None = Field(
        default=None, description="Difference features, when the camera runs a tiny detector."
    )
    regions: list[WireBox] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Only these parts of the JPEG are real (the rest is grey): the edge pastes"
        " them onto its last picture of the camera. Empty: the whole frame.",
    )
    demand_bytes_per_s: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="What the camera would send without a budget (recent average).",
    )
    detections: list[WireDetection] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="The camera's own (tiny) detector result, if any.",
    )


class EdgeFeedback(BaseModel):
    """Settings the edge box asks the camera to apply from now on (None: keep yours)."""

    difference_threshold: float | None = None
    budget_bytes_per_s: float | None = Field(
        default=None, description="This camera's share of the site's uplink; None: unlimited."
    )


class FrameReply(BaseModel):
    """The edge's answer to one frame."""

    frame_id: int | None = Field(description="Stored frame id; None when it was a duplicate.")
    detections: list[WireDetection]
    active_tracks: int
    feedback: EdgeFeedback = Field(default_factory=EdgeFeedback)


SourceStateName = Literal["connecting", "connected", "retrying", "failed", "stopped"]


class CameraStatus(BaseModel):
    """A camera node's report of its video source's health (sent on every change)."""

    model_config = ConfigDict(extra="forbid")

    state: SourceStateName
    since: float = Field(
        gt=0, allow_inf_nan=False, description="When the source entered this state, epoch seconds."
    )
    detail: str | None = Field(
        default=None, max_length=500, description="Last error, credentials redacted."
    )
    reconnects: int = Field(default=0, ge=0)
