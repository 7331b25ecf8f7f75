"""Pictures as a viewer gets them when `privacy.redact.viewers` is on: the redacted labels'
objects pixelated or blurred in each copy read, the stored files left as they are."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from appliance.edge.box import EdgeBox
from appliance.edge.http.auth import Role, role_of
from appliance.edge.snapshot_redaction import SnapshotRedaction
from appliance.edge.store import EventRow
from appliance.edge.store.sessions import read_session


def viewer_redacted(box: EdgeBox, role: Role) -> bool:
    """Whether a reader of this role gets redacted pictures."""
    return role is Role.VIEWER and box.config.privacy.redact.viewers


def redacted_for(box: EdgeBox, authorization: str | None) -> bool:
    """Whether the presented token's reader gets redacted pictures."""
    role = role_of(box, authorization)
    return role is not None and viewer_redacted(box, role)


def redacted_snapshot(box: EdgeBox, event: EventRow, path: Path) -> bytes | None:
    """The event's snapshot at `path`, redacted, as a JPEG; None when the file is unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return None
    redaction = SnapshotRedaction(box.config.privacy.redact, box.config.snapshots.margin)
    with read_session(box.database, f"place the snapshot of event {event.id}") as session:
        redacted = redaction.apply(np.asarray(image, np.uint8), session, event)
    quality = [cv2.IMWRITE_JPEG_QUALITY, box.config.snapshots.quality]
    ok, encoded = cv2.imencode(".jpg", redacted, quality)
    return bytes(encoded.tobytes()) if ok else None
