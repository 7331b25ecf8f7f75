"""The camera-node loop: read, filter by frame difference, encode, upload, apply feedback."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import cv2

from cameras.protocol import FrameMeta, FrameReply
from cameras.reconnect import FrameSource
from cameras.sources import CapturedFrame
from cameras.uplink import EdgeUplink, UplinkError
from pipelines.difference import FilterDecision, FrameDifferenceFilter

log = logging.getLogger(__name__)

# Refusals that retrying cannot fix (bad token, unknown camera): the node stops and says why.
FATAL_STATUSES = frozenset({401, 403, 404})


@dataclass
class NodeStats:
    """Counters of one node run; `frames_sent / frames_read` is the fraction leaving the camera."""

    frames_read: int = 0
    frames_sent: int = 0
    bytes_sent: int = 0
    upload_failures: int = 0
    detections_seen: int = 0


class CameraNode:
    def __init__(
        self,
        source: FrameSource,
        frame_filter: FrameDifferenceFilter,
        uplink: EdgeUplink,
        jpeg_quality: int = 85,
    ) -> None:
        self.source = source
        self.filter = frame_filter
        self.uplink = uplink
        self.jpeg_quality = jpeg_quality
        self.stats = NodeStats()

    def run(self, max_frames: int | None = None, stop: threading.Event | None = None) -> NodeStats:
        """Process frames until the source ends, `max_frames` were read, or `stop` is set."""
        while max_frames is None or self.stats.frames_read < max_frames:
            if stop is not None and stop.is_set():
                break
            frame = self.source.read()
            if frame is None:
                break
            self.stats.frames_read += 1
            decision = self.filter.decide(frame.image, frame.timestamp)
            if decision.send:
                self._send(frame, decision)
        log.info(
            "camera %s: read %d frames, sent %d (%d bytes)",
            self.uplink.camera_id,
            self.stats.frames_read,
            self.stats.frames_sent,
            self.stats.bytes_sent,
        )
        return self.stats

    def _send(self, frame: CapturedFrame, decision: FilterDecision) -> None:
        ok, encoded = cv2.imencode(
            ".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality]
        )
        if not ok:
            log.error("could not encode frame %d as JPEG", frame.index)
            return
        jpeg = encoded.tobytes()
        meta = FrameMeta(
            seq=frame.index,
            captured_at=frame.timestamp,
            filter_score=decision.score,
            send_reason=decision.reason.value,
        )
        try:
            reply = self.uplink.send(jpeg, meta)
        except UplinkError as exc:
            if exc.status in FATAL_STATUSES:
                raise
            self.stats.upload_failures += 1
            log.warning("frame %d not delivered: %s", frame.index, exc)
            return
        self.stats.frames_sent += 1
        self.stats.bytes_sent += len(jpeg)
        self.stats.detections_seen += len(reply.detections)
        self._apply(reply)

    def _apply(self, reply: FrameReply) -> None:
        self.filter.set_tracking(reply.active_tracks > 0)
        threshold = reply.feedback.difference_threshold
        if threshold is not None and threshold != self.filter.threshold:
            log.info("edge set difference threshold %.4f", threshold)
            self.filter.set_threshold(threshold)
