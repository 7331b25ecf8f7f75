"""The edge's query control config: what users ask of the cameras and how hard to steer them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from pipelines.feedback import DEFAULT_TARGETS, Query, QueryController, QueryControlSettings

JpegQuality = Annotated[int, Field(ge=10, le=100)]
# Measured (docs/benchmarks.md, "Camera JPEG settings" and "Demo on vtest.avi"): the default
# detector finds on quality 70 what it finds on 80 within 0.01 F1 on vtest and 0.03 on bikes,
# for a fifth fewer bytes; events do not need the last of it, exact boxes may. Counts did not
# either while they sent every 10th changed frame; now that a frame goes only when the count
# moves (`pipelines.blob_counts`), each is held for longer: at 80, count accuracy 0.001-0.011
# higher on every clip and draw, for 15-18% more of few bytes.
QUERY_JPEG_QUALITY: dict[Query, int | None] = {
    Query.EVENTS: 70,
    Query.COUNTS: None,
    Query.BOXES: None,
}


class FilterControlConfig(BaseModel):
    """How the edge steers each camera's frames toward its query (`pipelines/feedback.py`)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        True,
        description="Steer each camera's difference threshold and skip share toward the fewest"
        " frames that answer its query at accuracy_target (cameras with a fixed"
        " difference_threshold keep theirs and skip nothing).",
    )
    query: Query = Field(
        Query.EVENTS,
        description="What users ask of the cameras (each camera may name its own): events (who"
        " came, when, where), counts (how many, over time) or boxes (exact boxes on every"
        " frame, live overlays).",
    )
    accuracy_target: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="Accuracy of the query's answers to hold, as the edge estimates it between"
        " frames (events: boxes followed at IoU 0.3; counts: count accuracy; boxes: F1 at IoU"
        " 0.5); none: the query's default (events and counts 0.9, boxes 0.93).",
    )
    minimum: float = Field(0.002, gt=0.0, le=1.0, description="Lowest threshold it may set.")
    maximum: float = Field(0.05, gt=0.0, le=1.0, description="Highest threshold it may set.")
    max_skip: float = Field(
        0.9,
        ge=0.0,
        lt=1.0,
        description="Largest share of changed frames a camera may be told to skip (frames where"
        " objects arrive are never skipped).",
    )
    max_gap_s: float = Field(
        0.3,
        gt=0.0,
        description="Events query: skip no more than leaves this long between frames while the"
        " scene changes (sparser, the tracker loses people walking).",
    )
    max_gap_followed_s: float = Field(
        0.45,
        gt=0.0,
        description="The same for a camera that follows the tracked objects through every"
        " frame and says where they went (camera box_motion, on by default): the tracker"
        " finds them across sparser frames.",
    )

    jpeg_quality: dict[Query, JpegQuality | None] = Field(
        default_factory=lambda: dict(QUERY_JPEG_QUALITY),
        description="Highest JPEG quality the edge asks of a camera, per query (null or left"
        " out: the camera's own jpeg_quality): events are answered as well from quality 70 as"
        " from the cameras' default 80, for a fifth fewer bytes.",
    )

    def quality_for(self, query: Query) -> int | None:
        """The JPEG quality to ask of a camera answering `query` (None: its own)."""
        return self.jpeg_quality.get(query)

    def settings(
        self, initial: float, query: Query | None = None, target: float | None = None
    ) -> QueryControlSettings:
        """The controller's settings; `query` and `target`: a camera's own, over these."""
        chosen = query or self.query
        return QueryControlSettings(
            query=chosen,
            accuracy_target=target or self.accuracy_target or DEFAULT_TARGETS[chosen],
            initial=min(max(initial, self.minimum), self.maximum),
            minimum=self.minimum,
            maximum=self.maximum,
            max_skip=self.max_skip,
            max_gap_s=self.max_gap_s,
            max_gap_followed_s=self.max_gap_followed_s,
        )

    def controller(
        self, initial: float, query: Query | None = None, target: float | None = None
    ) -> QueryController | None:
        return QueryController(self.settings(initial, query, target)) if self.enabled else None
