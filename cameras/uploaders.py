"""How a chosen frame leaves the camera node: what the node hands over, and the uploaders.

The node hands over every chosen frame with its JPEG; an uploader decides what actually goes:
`JpegUploader` posts the JPEG (the default), the Edgent uploader (`cameras/collaborative.py`)
runs the head of a model on the frame and posts the tensors crossing the cut, or the JPEG when
the plan is edge-only, a probe measures the uplink or the edge asks for a picture. With Edgent
the JPEG is a `Picture` encoded only when one of those needs it: a Pi-class camera spends
several milliseconds a frame encoding, for JPEGs that would mostly never leave it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from cameras.edge_client import EdgeUplink
from cameras.protocol import FrameMeta, FrameReply
from pipelines.frame_difference import Image
from pipelines.types import Box


class Picture:
    """A chosen frame's JPEG, encoded the first time it is asked for (once, from any thread)."""

    def __init__(self, encode: Callable[[], bytes], estimated_bytes: int) -> None:
        self._encode = encode
        self.estimated_bytes = estimated_bytes
        """What the budget is charged before (or without) encoding."""
        self._data: bytes | None = None
        self._lock = threading.Lock()

    def bytes(self) -> bytes:
        with self._lock:
            if self._data is None:
                self._data = self._encode()
            return self._data

    @property
    def encoded(self) -> bool:
        return self._data is not None

    @property
    def size_hint(self) -> int:
        """The JPEG's size once encoded, the estimate before."""
        return self.estimated_bytes if self._data is None else len(self._data)


@dataclass(frozen=True)
class Outgoing:
    index: int
    timestamp: float
    picture: Picture | bytes = field(repr=False)
    """The JPEG, or a `Picture` that encodes it when an uploader needs it."""
    meta: FrameMeta
    regions: list[Box]
    blobs: list[Box]
    image: Image | None = field(default=None, repr=False)
    """The frame itself (not masked to regions), for uploaders that analyse it here."""
    charged_bytes: int | None = None
    """What the uplink budget was charged at admission (None: the JPEG's size)."""

    @property
    def jpeg(self) -> bytes:
        """The frame's JPEG (encoded now if it was not)."""
        return self.picture if isinstance(self.picture, bytes) else self.picture.bytes()

    @property
    def jpeg_encoded(self) -> bool:
        return isinstance(self.picture, bytes) or self.picture.encoded

    @property
    def jpeg_size_hint(self) -> int:
        return len(self.picture) if isinstance(self.picture, bytes) else self.picture.size_hint

    @property
    def charged(self) -> int:
        return self.jpeg_size_hint if self.charged_bytes is None else self.charged_bytes


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
