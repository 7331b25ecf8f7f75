"""Video sources read through OpenCV: files, RTSP/HTTP streams and USB cameras."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

# Without these, OpenCV's FFmpeg backend blocks 30 s or more on a dead stream.
STREAM_TIMEOUT_MS = 5000
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s]*@")


class SourceError(Exception):
    """A source that cannot be opened or read; the message is safe to log."""


class SourceKind(str, Enum):
    FILE = "file"
    STREAM = "stream"
    USB = "usb"


def redact_url(url: str) -> str:
    """Hide `user:password@` in URLs: secrets never reach logs or error messages."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", url)


def classify_source(spec: str) -> SourceKind:
    if spec.isdigit():
        return SourceKind.USB
    if "://" in spec:
        return SourceKind.STREAM
    return SourceKind.FILE


@dataclass(frozen=True)
class CapturedFrame:
    index: int
    """Frame number since the source was opened, counting every frame read."""
    timestamp: float
    """Capture time, UTC epoch seconds (for files: start time plus position in the clip)."""
    image: npt.NDArray[np.uint8]


class VideoSource:
    """Reads frames in order; files can be paced at their own frame rate and looped."""

    def __init__(self, spec: str, realtime: bool = False, loop: bool = False) -> None:
        """`loop`: a file starts again from its beginning at its end (frame numbers and clip
        time keep counting); other sources ignore it."""
        self.spec = spec
        self.kind = classify_source(spec)
        self.realtime = realtime or self.kind is not SourceKind.FILE
        self.loop = loop and self.kind is SourceKind.FILE
        self.loops = 0
        """How many times a looped file started again."""
        self.name = redact_url(spec)
        self._capture = self._open()
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0) or 25.0
        self._index = 0
        self._started = time.time()

    def _open(self) -> cv2.VideoCapture:
        if self.kind is SourceKind.FILE and not Path(self.spec).is_file():
            raise SourceError(f"video file not found: {self.spec}")
        if self.kind is SourceKind.USB:
            capture = cv2.VideoCapture(int(self.spec))
        elif self.kind is SourceKind.STREAM:
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS,
            ]  # fmt: skip
            capture = cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG, params)
        else:
            capture = cv2.VideoCapture(self.spec)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open video source {self.name}")
        log.info("opened %s source %s", self.kind.value, self.name)
        return capture

    def read(self) -> CapturedFrame | None:
        """Next frame, or None at the end of a file or when a stream stops delivering."""
        image = self._read_image()
        if image is None and self.loop and self._index > 0:
            image = self._rewind()
        if image is None:
            return None
        timestamp = self._timestamp()
        frame = CapturedFrame(self._index, timestamp, image)
        self._index += 1
        if self.kind is SourceKind.FILE and self.realtime:
            delay = timestamp - time.time()
            if delay > 0:
                time.sleep(delay)
        return frame

    def _read_image(self) -> npt.NDArray[np.uint8] | None:
        ok, image = self._capture.read()
        if not ok or image is None:
            return None
        return np.asarray(image, dtype=np.uint8)

    def _rewind(self) -> npt.NDArray[np.uint8] | None:
        # Reopened rather than seeked: seeking to frame 0 is not exact for every codec.
        self._capture.release()
        self._capture = self._open()
        self.loops += 1
        log.debug("looping %s (%d)", self.name, self.loops)
        return self._read_image()

    def _timestamp(self) -> float:
        if self.kind is not SourceKind.FILE:
            return time.time()
        # Clip time, not read time: replaying faster than real time must not squeeze the timeline.
        return self._started + self._index / self.fps

    def close(self) -> None:
        self._capture.release()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
