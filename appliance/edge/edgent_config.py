"""The edge box's `edgent:` section: the exits whose tails it runs for camera nodes that split
their model with it (`POST /api/v1/cameras/{id}/tensors`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cameras.config_checks import require_unique
from cameras.edgent_config import EXIT_NAME, DecodingConfig


class EdgeExitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=EXIT_NAME, description="Exit name, as the camera nodes call it.")
    model_path: Path = Field(
        description="The exit's ONNX model (an Ultralytics YOLO export with a static input):"
        " the same file the camera nodes run the head of."
    )


class EdgeEdgentConfig(DecodingConfig):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        False,
        description="Accept intermediate tensors from camera nodes that split a model with the"
        " edge (Edgent) and run the rest of the model here.",
    )
    exits: list[EdgeExitConfig] = Field(
        default_factory=list, description="The exits whose tails this edge box runs."
    )
    max_message_bytes: int = Field(
        64_000_000,
        ge=1024,
        description="Largest tensor message accepted from a camera, bytes (also after zlib).",
    )
    cached_splits: int = Field(
        8,
        ge=1,
        le=256,
        description="Model tails kept ready, one per (exit, cut) recently used; a new pair is"
        " split on its first frame (up to a second).",
    )

    @field_validator("exits")
    @classmethod
    def _unique_names(cls, exits: list[EdgeExitConfig]) -> list[EdgeExitConfig]:
        require_unique((e.name for e in exits), "exit names")
        return exits

    @model_validator(mode="after")
    def _exits_when_enabled(self) -> EdgeEdgentConfig:
        if self.enabled and not self.exits:
            raise ValueError("enabled needs at least one exit")
        return self
