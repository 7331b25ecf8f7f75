"""What each camera read versus what it sent, as the edge sees it from the frame metadata.

A frame's `seq` counts every frame its node read, so the frames read since the edge first heard
of the camera are `seq - first seq + 1` (a node restart, seq going back, starts a new run).
Streaming every frame would cost about frames read x the mean JPEG size of a whole frame; the
difference to the bytes received is what frame selection and regions saved on the uplink.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from cameras.protocol import FrameMeta

RATE_WINDOW = 50
"""Recent frames the input fps is measured over."""


@dataclass
class _Input:
    first_seq: int
    last_seq: int
    read_before: int = 0
    """Frames read in earlier runs of the node."""
    frames_sent: int = 0
    bytes_sent: int = 0
    whole_frames: int = 0
    whole_bytes: int = 0
    recent: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=RATE_WINDOW))

    def observe(self, meta: FrameMeta, nbytes: int) -> None:
        if meta.seq < self.last_seq:  # the node restarted and counts from 0 again
            self.read_before += self.last_seq - self.first_seq + 1
            self.first_seq = meta.seq
            self.recent.clear()
        self.last_seq = max(self.last_seq, meta.seq)
        self.frames_sent += 1
        self.bytes_sent += nbytes
        if not meta.regions:
            self.whole_frames += 1
            self.whole_bytes += nbytes
        self.recent.append((meta.captured_at, meta.seq))

    def snapshot(self) -> dict[str, Any]:
        read = self.read_before + self.last_seq - self.first_seq + 1
        mean_whole = self.whole_bytes / self.whole_frames if self.whole_frames else None
        all_frames = None if mean_whole is None else read * mean_whole
        return {
            "frames_read": read,
            "frames_sent": self.frames_sent,
            "sent_fraction": self.frames_sent / read if read else None,
            "input_fps": self._fps(),
            "bytes_sent": self.bytes_sent,
            "mean_whole_frame_bytes": mean_whole,
            "bytes_all_frames": all_frames,
            "bytes_saved_fraction": None if not all_frames else 1 - self.bytes_sent / all_frames,
        }

    def _fps(self) -> float | None:
        if len(self.recent) < 2:
            return None
        (t0, s0), (t1, s1) = self.recent[0], self.recent[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else None


class InputRates:
    """Per camera: frames read (from seq), frames and bytes sent, the estimate of all frames."""

    def __init__(self) -> None:
        self._cameras: dict[str, _Input] = {}
        self._lock = threading.Lock()

    def observe(self, camera_id: str, meta: FrameMeta, nbytes: int) -> None:
        with self._lock:
            state = self._cameras.setdefault(camera_id, _Input(meta.seq, meta.seq))
            state.observe(meta, nbytes)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {cid: c.snapshot() for cid, c in sorted(self._cameras.items())}
