"""An event's snapshot redacted on its way out (cloud thumbnails, viewers' reads): where the
objects of the redacted labels lie on it, found from the stored frame it was cropped from.

A snapshot is a crop of the event's best box plus a margin (appliance/edge/snapshots.py), so the
frame it came from is the one where the event's track had exactly that box; the crop's place on
that frame follows from the box, the margin and the frame's size, and every stored detection of
a redacted label on that frame is moved into the crop's pixels. A snapshot whose size does not
match that crop (an event first seen on frames without a picture, cropped from a later one) is
redacted whole. Once retention removed the frame (frames go sooner than snapshots), only the
event's own box is known: it alone is redacted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.edge.privacy_config import RedactConfig
from appliance.edge.store import EventRow
from appliance.edge.store.schema import Detection, Frame
from pipelines.redaction import redact, redact_all
from pipelines.types import Box

Image = npt.NDArray[np.uint8]
Region = tuple[int, int, int, int]

_UNBOUNDED = 1 << 30
"""A frame size that clips nothing (the frame is gone, its size unknown)."""


@dataclass(frozen=True)
class SnapshotRedaction:
    config: RedactConfig
    margin: float
    """The snapshots' margin around the box (snapshots.margin)."""

    def apply(self, image: Image, session: Session, event: EventRow) -> Image:
        """A redacted copy of `image`, the event's snapshot (the stored file is not changed)."""
        height, width = image.shape[:2]
        boxes = self.boxes(session, event, (width, height))
        if boxes is None:
            return redact_all(image, self.config.settings())
        return redact(image, boxes, self.config.settings())

    def boxes(self, session: Session, event: EventRow, size: tuple[int, int]) -> list[Box] | None:
        """The redacted objects' boxes in pixels of the event's snapshot of `size`; None when the
        snapshot cannot be placed on its frame."""
        best = Box(event.best_x1, event.best_y1, event.best_x2, event.best_y2)
        frame = _best_frame(session, event)
        if frame is None:
            x1, y1, x2, y2 = crop_region(best, self.margin, (_UNBOUNDED, _UNBOUNDED))
            if size[0] > x2 - x1 or size[1] > y2 - y1:
                return None
            own = [best] if self.config.redacts(event.label) else []
            return _moved(own, (x1, y1))
        frame_id, frame_size = frame
        x1, y1, x2, y2 = crop_region(best, self.margin, frame_size)
        if (x2 - x1, y2 - y1) != size:
            return None
        stmt = select(Detection.label, Detection.x1, Detection.y1, Detection.x2, Detection.y2)
        rows = session.execute(stmt.where(Detection.frame_id == frame_id)).all()
        found = [Box(a, b, c, d) for label, a, b, c, d in rows if self.config.redacts(label)]
        crop = Box(float(x1), float(y1), float(x2), float(y2))
        return _moved([b for b in found if b.intersects(crop)], (x1, y1))


def crop_region(box: Box, margin: float, frame: tuple[int, int]) -> Region:
    """Where SnapshotWriter.crop cuts `box` out of a frame of `frame` (width, height) pixels."""
    width, height = frame
    dx, dy = box.width * margin, box.height * margin
    grown = Box(box.x1 - dx, box.y1 - dy, box.x2 + dx, box.y2 + dy).clipped(width, height)
    x1, y1, x2, y2 = (round(v) for v in (grown.x1, grown.y1, grown.x2, grown.y2))
    return x1, y1, x2, y2


def _best_frame(session: Session, event: EventRow) -> tuple[int, tuple[int, int]] | None:
    """(frame id, (width, height)) of the newest stored frame where the event's track had its
    best box; None when retention removed it."""
    stmt = (
        select(Frame.id, Frame.width, Frame.height)
        .join(Detection, Detection.frame_id == Frame.id)
        .where(
            Frame.camera_id == event.camera_id,
            Frame.captured_at >= event.started_at,
            Frame.captured_at <= event.last_seen_at,
            Detection.track_id == event.track_id,
            Detection.x1 == event.best_x1,
            Detection.y1 == event.best_y1,
            Detection.x2 == event.best_x2,
            Detection.y2 == event.best_y2,
        )
        .order_by(Frame.captured_at.desc())
        .limit(1)
    )
    row = session.execute(stmt).first()
    return None if row is None else (row[0], (row[1], row[2]))


def _moved(boxes: list[Box], origin: tuple[int, int]) -> list[Box]:
    ox, oy = origin
    return [Box(b.x1 - ox, b.y1 - oy, b.x2 - ox, b.y2 - oy) for b in boxes]
