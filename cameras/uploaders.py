"""How a chosen frame leaves the camera node: what the node hands over, and the uploaders.

The node encodes every chosen frame as a JPEG and hands it over with the frame itself; an
uploader decides what actually goes: `JpegUploader` posts the JPEG (the default), the Edgent
uploader (`cameras/collaborative.py`) runs the head of a model on the frame and posts the
tensors crossing the cut, or the JPEG when the plan is edge-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from cameras.edge_client import EdgeUplink
from cameras.protocol import FrameMeta, FrameReply
from pipelines.frame_difference import Image
from pipelines.types import Box


@dataclass(frozen=True)
class Outgoing:
    index: int
    timestamp: float
    jpeg: bytes = field(repr=False)
    meta: FrameMeta
    regions: list[Box]
    blobs: list[Box]
    image: Image | None = field(default=None, repr=False)
    """The frame itself (not masked to regions), for uploaders that analyse it here."""


@dataclass(frozen=True)
class Uploaded:
    reply: FrameReply
    sent_bytes: int
    """What went over the uplink: the JPEG or the tensor message."""


class FrameUploader(Protocol):
    """Uploads one chosen frame and returns the edge's reply; raises `UplinkError`. Called from
    the sender's threads, several at once when more than one upload may be in flight."""

    uplink: EdgeUplink

    def upload(self, frame: Outgoing) -> Uploaded: ...


class JpegUploader:
    """The frame's JPEG to `POST /api/v1/cameras/{id}/frames`."""

    def __init__(self, uplink: EdgeUplink) -> None:
        self.uplink = uplink

    def upload(self, frame: Outgoing) -> Uploaded:
        return Uploaded(self.uplink.send(frame.jpeg, frame.meta), len(frame.jpeg))
