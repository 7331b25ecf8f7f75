"""The JSON the edge publishes and the cloud accepts: one contract, validated on both sides.

A message is one MQTT publish on ``<prefix>/<site>/<camera>/<kind>`` carrying records of that
kind. Every record has an ``id`` that is stable across redeliveries (site/camera/what/...), so
the receiver stores each record once however often it arrives. Metadata only: no frames.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from cameras.config_checks import NAME_PATTERN

SCHEMA_VERSION: Literal[1] = 1
KINDS = ("events", "counts", "health")
Kind = Literal["events", "counts", "health"]
MAX_RECORDS = 1000
MAX_THUMBNAIL_CHARS = 65_536

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventRecord(_Wire):
    id: RecordId
    type: Literal["start", "update", "end"]
    event: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    label: Label
    track: int
    started_at: float
    last_seen_at: float
    ended_at: float | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    box: tuple[int, int, int, int]
    """Best view of the object: x1, y1, x2, y2 in frame pixels."""
    hits: int = Field(ge=0)
    zones: list[Name] = Field(default_factory=list, max_length=100)
    thumbnail: str | None = Field(None, max_length=MAX_THUMBNAIL_CHARS)
    """Base64 JPEG of the best view, only when the edge config allows thumbnails."""


class CountRecord(_Wire):
    id: RecordId
    minute: float
    """Start of the minute, epoch seconds."""
    frames: int = Field(ge=0)
    """Frames analysed in that minute."""
    detections: int = Field(ge=0)
    max: int = Field(ge=0)
    """Most objects in one frame."""
    labels: dict[Label, int] = Field(default_factory=dict, max_length=100)
    """Detections per label."""


class HealthRecord(_Wire):
    id: RecordId
    state: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    since: float
    detail: Annotated[str, StringConstraints(max_length=500)] | None = None


class _Envelope(_Wire):
    schema_: Literal[1] = Field(SCHEMA_VERSION, alias="schema")
    site: Name
    camera: Name


class EventsMessage(_Envelope):
    kind: Literal["events"]
    records: list[EventRecord] = Field(min_length=1, max_length=MAX_RECORDS)


class CountsMessage(_Envelope):
    kind: Literal["counts"]
    records: list[CountRecord] = Field(min_length=1, max_length=MAX_RECORDS)


class HealthMessage(_Envelope):
    kind: Literal["health"]
    records: list[HealthRecord] = Field(min_length=1, max_length=MAX_RECORDS)


Message = Annotated[EventsMessage | CountsMessage | HealthMessage, Field(discriminator="kind")]
MESSAGE = TypeAdapter(Message)
Record = EventRecord | CountRecord | HealthRecord


def topic(prefix: str, site: str, camera: str, kind: str) -> str:
    return f"{prefix}/{site}/{camera}/{kind}"


def encode_record(record: Record) -> str:
    """Compact JSON of one record; fields left at their defaults (no zones, no thumbnail, not
    ended) are omitted."""
    return record.model_dump_json(exclude_defaults=True)


def envelope(site: str, camera: str, kind: str, records: Sequence[str]) -> bytes:
    """The message carrying already-encoded records (no re-encoding of each record)."""
    head = json.dumps(
        {"schema": SCHEMA_VERSION, "site": site, "camera": camera, "kind": kind},
        separators=(",", ":"),
    )
    return f'{head[:-1]},"records":[{",".join(records)}]}}'.encode()


def envelope_overhead(site: str, camera: str, kind: str) -> int:
    return len(envelope(site, camera, kind, []))
