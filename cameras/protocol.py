"""The camera -> edge wire contract, shared by the node (client) and the edge API (server).

One HTTP request per selected frame: the JPEG is the body, this metadata rides in the
`X-Frame-Meta` header as JSON, and the camera's token in `Authorization: Bearer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from cameras.mask_config import MaskConfig
from pipelines.box_motion import BoxMotion, TrackShift
from pipelines.feedback import Query
from pipelines.types import Box, Detection

META_HEADER = "X-Frame-Meta"
# The metadata rides in one HTTP header: keep it well under servers' 16 KB header limits.
MAX_ITEMS = 64
# Text in an Edgent plan report is clipped to these (a plan adds well under 1 KB to the header).
EXIT_NAME_CHARS = 64
CUT_LABEL_CHARS = 160
REASON_CHARS = 200
CLIPPED = "..."


class WireBox(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x1: float
    y1: float
    x2: float
    y2: float

    @field_serializer("x1", "y1", "x2", "y2")
    def _tenth_of_a_pixel(self, value: float) -> float:
        # Full float precision would take 64 detections and 64 regions past the 16 KB that
        # servers allow for request headers; a tenth of a pixel is finer than any detector.
        return round(value, 1)

    @classmethod
    def of(cls, box: Box) -> WireBox:
        return cls(x1=box.x1, y1=box.y1, x2=box.x2, y2=box.y2)

    def box(self) -> Box:
        return Box(self.x1, self.y1, self.x2, self.y2)


class WireDetection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=64)
    confidence: float = Field(ge=0.0, le=1.0)
    box: WireBox
    track_id: int | None = None

    @field_serializer("confidence")
    def _four_digits(self, value: float) -> float:
        return round(value, 4)

    @classmethod
    def of(cls, detection: Detection, track_id: int | None = None) -> WireDetection:
        return cls(
            label=detection.label,
            confidence=detection.confidence,
            box=WireBox.of(detection.box),
            track_id=track_id,
        )


class FeatureScores(BaseModel):
    """The camera's cheap difference features of the frame against the last one it sent."""

    model_config = ConfigDict(extra="forbid")

    pixel: float = Field(ge=0.0, le=1.0)
    area: float = Field(ge=0.0, le=1.0)
    edge: float = Field(ge=0.0, le=1.0)
    foreground: float = Field(ge=0.0, le=1.0)


class PlannedSplit(BaseModel):
    """The (exit, partition point) an Edgent planner runs, with its predicted latency."""

    model_config = ConfigDict(extra="forbid")

    exit: str = Field(
        min_length=1, max_length=EXIT_NAME_CHARS, description="The exit (model branch) it runs."
    )
    cut: int = Field(
        ge=0, le=1_000_000, description="Partition point: layers before it run on the camera."
    )
    cut_label: str = Field(
        max_length=CUT_LABEL_CHARS,
        description="The partition in words: edge-only, device-only or `after LAYER`.",
    )
    accuracy: float = Field(
        ge=0.0, le=1.0, description="The exit's accuracy against the full model (F1)."
    )
    device_ms: float = Field(
        ge=0, allow_inf_nan=False, description="Predicted camera time of the head, ms."
    )
    transfer_ms: float = Field(
        ge=0, allow_inf_nan=False, description="Predicted uplink time of what crosses the cut, ms."
    )
    edge_ms: float = Field(
        ge=0, allow_inf_nan=False, description="Predicted edge time of the tail, ms."
    )
    transfer_bytes: int = Field(ge=0, description="Bytes crossing the cut per frame.")
    meets: bool = Field(description="Whether the predicted total meets the requirement.")
    total_ms: float = Field(
        ge=0, allow_inf_nan=False, description="device_ms + transfer_ms + edge_ms."
    )


class PlanReport(BaseModel):
    """A camera's Edgent plan in force and why: `OnlinePlanner.status()` on the wire."""

    model_config = ConfigDict(extra="forbid")

    deadline_ms: float = Field(
        gt=0, allow_inf_nan=False, description="The latency requirement planned for, ms."
    )
    bandwidth_mbps: float = Field(
        ge=0, allow_inf_nan=False, description="Uplink bandwidth planned with, Mbit/s."
    )
    bandwidth_measured: bool = Field(
        description="False while the bandwidth is the initial assumption (nothing measured yet)."
    )
    device_load: float = Field(
        ge=1.0, allow_inf_nan=False, description="Camera load stretching its compute (1: idle)."
    )
    edge_load: float = Field(
        ge=1.0, allow_inf_nan=False, description="Edge load stretching its compute (1: idle)."
    )
    switches: int = Field(ge=0, description="Plan changes since the planner started.")
    plan: PlannedSplit | None = Field(
        default=None, description="The plan in force; None before the first planning."
    )
    reason: str | None = Field(
        default=None, max_length=REASON_CHARS, description="Why this plan (the last decision)."
    )
    frames_timed: int = Field(
        default=0, ge=0, description="Frames whose latency the camera measured since it started."
    )
    frames_met: int = Field(
        default=0, ge=0, description="Of those, the frames that met `deadline_ms`."
    )
    last_ms: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="The last frame's measured head + upload + tail, ms (None: none yet).",
    )


def plan_report(status: Mapping[str, Any]) -> PlanReport:
    """`OnlinePlanner.status()` as a `PlanReport`, its text clipped to the bounds (a long ONNX
    node name in the cut label must not get every frame refused)."""
    fields = dict(status)
    if isinstance(fields.get("reason"), str):
        fields["reason"] = _clip(fields["reason"], REASON_CHARS)
    plan = fields.get("plan")
    if isinstance(plan, Mapping):
        fields["plan"] = {
            **plan,
            "exit": _clip(str(plan.get("exit", "")), EXIT_NAME_CHARS),
            "cut_label": _clip(str(plan.get("cut_label", "")), CUT_LABEL_CHARS),
        }
    return PlanReport.model_validate(fields)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(CLIPPED)] + CLIPPED


MAX_SHIFT_PX = 100_000.0


class WireShift(BaseModel):
    """How far one of the edge's tracked objects moved, in the frame's pixels."""

    model_config = ConfigDict(extra="forbid")

    track_id: int = Field(ge=0, le=2**63 - 1)
    dx: float = Field(ge=-MAX_SHIFT_PX, le=MAX_SHIFT_PX, allow_inf_nan=False)
    dy: float = Field(ge=-MAX_SHIFT_PX, le=MAX_SHIFT_PX, allow_inf_nan=False)

    @field_serializer("dx", "dy")
    def _tenth_of_a_pixel(self, value: float) -> float:
        return round(value, 1)


class WireMotion(BaseModel):
    """The camera followed the boxes of the edge's answer to frame `origin_seq` to this frame."""

    model_config = ConfigDict(extra="forbid")

    origin_seq: int = Field(ge=0, le=2**63 - 1)
    tracks: list[WireShift] = Field(default_factory=list, max_length=MAX_ITEMS)

    @classmethod
    def of(cls, motion: BoxMotion) -> WireMotion:
        shifts = [WireShift(track_id=m.track_id, dx=m.dx, dy=m.dy) for m in motion.shifts]
        return cls(origin_seq=motion.origin_seq, tracks=shifts[:MAX_ITEMS])

    def shifts(self) -> tuple[TrackShift, ...]:
        return tuple(TrackShift(t.track_id, t.dx, t.dy) for t in self.tracks)


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
    dropped_busy: int | None = Field(
        default=None,
        ge=0,
        description="Frames this camera chose since it started that never left it because its"
        " upload was still busy with an earlier one: while the count grows the edge asks for"
        " fewer (more would only be dropped too). None from nodes before it.",
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
    plan: PlanReport | None = Field(
        default=None,
        description="The camera's Edgent plan in force, when it runs a split model.",
    )
    motion: WireMotion | None = Field(
        default=None,
        description="How far the objects the edge tracked on an earlier frame moved by this one,"
        " as the camera followed them through every frame (`box_motion`).",
    )


class EdgeFeedback(BaseModel):
    """Settings the edge box asks the camera to apply from now on (None: keep yours)."""

    difference_threshold: float | None = None
    skip_share: float | None = Field(
        default=None,
        ge=0.0,
        lt=1.0,
        description="Share of changed frames to skip (never one where objects arrive): the"
        " camera's query is answered well enough with fewer.",
    )
    next_frame_s: float | None = Field(
        default=None,
        ge=0.0,
        allow_inf_nan=False,
        description="Send a frame within this long even if nothing changed: a track the edge"
        " just started needs a second look to become an event.",
    )
    budget_bytes_per_s: float | None = Field(
        default=None, description="This camera's share of the site's uplink; None: unlimited."
    )
    jpeg_quality: int | None = Field(
        default=None,
        ge=10,
        le=100,
        description="Highest JPEG quality the camera's query needs (the camera sends at most"
        " this, or its own when lower); None: the camera's own.",
    )
    query: Query | None = Field(
        default=None,
        description="The question the edge answers with this camera's frames (its"
        " filter_control.query): a camera running its own object detector sends a counts or"
        " boxes camera's frames when the answer the edge holds goes stale. None from edges"
        " before it, or without query control.",
    )
    accuracy_target: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="The accuracy the edge holds that query to: the held answer is stale below"
        " it. None from edges before it, or without query control.",
    )
    send_picture: bool = Field(
        default=False,
        description="An event has no snapshot yet (its object was seen only on frames sent as"
        " tensors): send a frame as a JPEG.",
    )
    masks: MaskConfig | None = Field(
        default=None,
        description="The motion and privacy masks the edge's settings give this camera (on top"
        " of the node's own), in every reply so that a change applies from the next frame;"
        " None from edges before masks: keep yours.",
    )


class FrameReply(BaseModel):
    """The edge's answer to one frame."""

    frame_id: int | None = Field(description="Stored frame id; None when it was a duplicate.")
    detections: list[WireDetection]
    active_tracks: int = Field(description="Objects the edge is tracking on this camera.")
    moving_tracks: int | None = Field(
        None,
        description="Those of them that move: the camera sends keepalive frames while there are"
        " any (stationary ones, a parked car, need none). None from edges before it: use"
        " active_tracks.",
    )
    stationary: list[WireBox] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Where the objects the edge tracks as stationary are (a parked car): the"
        " camera's own object detector finding one there again has found nothing new. Empty"
        " from edges before it.",
    )
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
