"""A Darknet `.weights` file: a small header, then float32 values in the order the cfg's
convolutional layers consume them (biases, then batch-norm scales, means and variances when the
layer has batch norm, then the kernel)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from appliance.models.errors import ModelToolError

Floats = npt.NDArray[np.float32]
# major, minor, revision as int32, then `seen` (images trained on): int64 from version 0.2 on.
HEADER_INTS = 3


@dataclass(frozen=True)
class WeightsHeader:
    major: int
    minor: int
    revision: int
    seen: int


class WeightsReader:
    """Hands out the file's floats in order; every shortfall or leftover names the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelToolError(f"{path}: cannot read the weights ({exc})") from None
        self.header, offset = self._header(data)
        body = len(data) - offset
        if body % 4:
            raise ModelToolError(
                f"{path}: damaged weights file: {body} bytes after the header is not a whole"
                " number of float32 values"
            )
        self._values: Floats = np.frombuffer(data, dtype="<f4", offset=offset)
        self._position = 0

    def _header(self, data: bytes) -> tuple[WeightsHeader, int]:
        if len(data) < 4 * HEADER_INTS + 4:
            raise ModelToolError(f"{self.path}: not a Darknet weights file ({len(data)} bytes)")
        major, minor, revision = (int(v) for v in np.frombuffer(data, "<i4", HEADER_INTS))
        if not (0 <= major < 100 and 0 <= minor < 100):
            raise ModelToolError(
                f"{self.path}: not a Darknet weights file (header says version {major}.{minor})"
            )
        wide_seen = major * 10 + minor >= 2
        seen_type = "<i8" if wide_seen else "<i4"
        seen = int(np.frombuffer(data, seen_type, 1, offset=4 * HEADER_INTS)[0])
        offset = 4 * HEADER_INTS + (8 if wide_seen else 4)
        return WeightsHeader(major, minor, revision, seen), offset

    def take(self, count: int, what: str) -> Floats:
        """The next `count` floats, for `what` (named in the error if the file ends first)."""
        end = self._position + count
        if end > len(self._values):
            raise ModelToolError(
                f"{self.path}: truncated weights file: {what} needs values up to {end:,} but the"
                f" file holds {len(self._values):,} (wrong cfg, or a partial download)"
            )
        values = self._values[self._position : end]
        self._position = end
        if not np.isfinite(values).all():
            raise ModelToolError(f"{self.path}: damaged weights file: {what} has NaN or infinity")
        return values

    def finish(self) -> None:
        """Every value was used: a longer file belongs to another cfg."""
        left = len(self._values) - self._position
        if left:
            raise ModelToolError(
                f"{self.path}: {left:,} values left over after the cfg's last layer: these"
                " weights belong to a different cfg"
            )
