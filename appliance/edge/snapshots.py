"""Event snapshots: JPEG crops of an event's best detection, stored under the data directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from pipelines.types import Box


@dataclass(frozen=True)
class StagedSnapshot:
    relative: str
    """The path the event row names, relative to the data directory."""
    temporary: Path
    target: Path

    def publish(self) -> None:
        self.temporary.replace(self.target)

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)


class SnapshotWriter:
    def __init__(self, data_dir: Path, quality: int = 90, margin: float = 0.15) -> None:
        self.data_dir = data_dir
        self.quality = quality
        self.margin = margin

    def crop(self, image: npt.NDArray[np.uint8], box: Box) -> bytes | None:
        """JPEG of `box` plus some context around it; None if the box is empty."""
        height, width = image.shape[:2]
        dx, dy = box.width * self.margin, box.height * self.margin
        grown = Box(box.x1 - dx, box.y1 - dy, box.x2 + dx, box.y2 + dy).clipped(width, height)
        x1, y1, x2, y2 = (round(v) for v in (grown.x1, grown.y1, grown.x2, grown.y2))
        if x2 <= x1 or y2 <= y1:
            return None
        ok, encoded = cv2.imencode(
            ".jpg", image[y1:y2, x1:x2], [cv2.IMWRITE_JPEG_QUALITY, self.quality]
        )
        return encoded.tobytes() if ok else None

    def stage(self, camera_id: str, event_id: str, jpeg: bytes) -> StagedSnapshot:
        """Write the snapshot beside its place, to be published once its event row is committed
        (or discarded if the commit fails: no file without its row)."""
        relative = Path("snapshots") / camera_id / f"{event_id}.jpg"
        target = self.data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(jpeg)
        return StagedSnapshot(relative.as_posix(), temporary, target)

    def path(self, relative: str) -> Path:
        return self.data_dir / relative
