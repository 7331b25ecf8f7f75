"""The camera-node loop: read, filter by frame difference, fit the uplink budget, upload,
and apply the edge's feedback."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import partial

from cameras.edge_client import EdgeUplink, UplinkError
from cameras.frame_sender import Delivery, FrameSender, Outgoing
from cameras.jpeg import (
    DEFAULT_JPEG_CHROMA,
    DEFAULT_JPEG_QUALITY,
    JpegChroma,
    JpegEncodeError,
    encode_jpeg,
)
from cameras.node_masks import NodeMasks
from cameras.protocol import (
    MAX_ITEMS,
    FeatureScores,
    FrameMeta,
    FrameReply,
    WireBox,
    WireDetection,
    WireMotion,
)
from cameras.reconnect import FrameSource
from cameras.sources import CapturedFrame
from cameras.uploaders import Picture
from pipelines.box_motion import BoxFollower
from pipelines.budget import RateMeter, UplinkBudget
from pipelines.feedback import EdgeReply
from pipelines.frame_difference import Image
from pipelines.region_uploads import RegionPlanner, mask_outside
from pipelines.selection import FrameSelector, Selection
from pipelines.types import Box

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
    skipped_for_budget: int = 0
    shed_by_edge: int = 0
    """Frames the edge dropped unanalysed because it was saturated."""
    dropped_busy: int = 0
    """Frames chosen while every upload was busy and replaced by a newer one (live sources)."""
    max_lag_s: float = 0.0
    """Furthest the node fell behind its source (read time minus capture time): a node that
    keeps up with a live camera stays near 0."""
    jpegs_encoded: int = 0
    """JPEGs made: one per frame sent, or with Edgent only those that went as JPEGs."""
    detector_runs: int = 0
    detector_s: float = 0.0
    """The camera's own object detector (kind yolo-onnx): frames it ran on, and its time."""
    follow_s: float = 0.0
    """Time spent following the edge's tracked boxes through the frames (`box_motion`)."""
    sent_by_reason: dict[str, int] = field(default_factory=dict)
    """Frames the edge received, by why the selector chose each (`SendReason` values)."""

    def reasons_ranked(self) -> dict[str, int]:
        """`sent_by_reason`, the most frequent reason first."""
        return dict(sorted(self.sent_by_reason.items(), key=lambda item: -item[1]))


class CameraNode:
    def __init__(
        self,
        source: FrameSource,
        selector: FrameSelector,
        uplink: EdgeUplink,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
        budget: UplinkBudget | None = None,
        regions: RegionPlanner | None = None,
        sender: FrameSender | None = None,
        jpeg_chroma: JpegChroma = DEFAULT_JPEG_CHROMA,
        lazy_jpeg: bool = False,
        masks: NodeMasks | None = None,
        follower: BoxFollower | None = None,
    ) -> None:
        """``lazy_jpeg``: encode a chosen frame only if its uploader sends it as a JPEG (Edgent
        sends most as tensors); the budget is charged an estimate until then. ``masks``: the
        node's own motion and privacy masks (the edge's replies add theirs). ``follower``:
        follows the edge's tracked boxes through every frame (None: the edge guesses)."""
        self.follower = follower
        self.masks = masks or NodeMasks(selector)
        self.lazy_jpeg = lazy_jpeg
        self._encoded_bytes: int | None = None
        self._encodes = threading.Lock()
        self.source = source
        self.selector = selector
        self.uplink = uplink
        self.jpeg_quality = jpeg_quality
        self._query_quality: int | None = None
        """The most the edge's query control asks for (None: the configured quality)."""
        self.jpeg_chroma: JpegChroma = jpeg_chroma
        self.budget = budget or UplinkBudget()
        self.regions = regions
        self.sender = sender or FrameSender(uplink, in_flight=1, block=True)
        self.demand = RateMeter()
        self._last_jpeg_bytes = 0
        self.stats = NodeStats()

    def run(self, max_frames: int | None = None, stop: threading.Event | None = None) -> NodeStats:
        """Process frames until the source ends, `max_frames` were read, or `stop` is set."""
        try:
            while max_frames is None or self.stats.frames_read < max_frames:
                if stop is not None and stop.is_set():
                    break
                captured = self.source.read()
                if captured is None:
                    break
                # Painted before anything else sees it: no masked pixel reaches the filter, a
                # JPEG, a region, a tensor or a picture the edge asks for.
                frame = self.masks.paint(captured)
                self.stats.frames_read += 1
                self.stats.max_lag_s = max(self.stats.max_lag_s, time.time() - frame.timestamp)
                self._settle(self.sender.drain())
                selection = self.selector.decide(frame.image, frame.timestamp)
                if self.follower is not None:  # before the frame's metadata says where to
                    started = time.perf_counter()
                    self.follower.frame(frame.index, frame.image, selection.decision.send)
                    self.stats.follow_s += time.perf_counter() - started
                if selection.decision.send:
                    self._offer(frame, selection)
        finally:
            last = self.sender.close()
            self.stats.detector_runs = self.selector.detector_runs
            self.stats.detector_s = self.selector.detector_s
        self._settle(last)
        log.info(
            "camera %s: read %d frames, sent %d (%s; %d bytes), %d held back by the budget,"
            " %d replaced while the uplink was busy, %d shed by the edge",
            self.uplink.camera_id,
            self.stats.frames_read,
            self.stats.frames_sent,
            ", ".join(f"{r} {n}" for r, n in self.stats.reasons_ranked().items()) or "none",
            self.stats.bytes_sent,
            self.stats.skipped_for_budget,
            self.stats.dropped_busy,
            self.stats.shed_by_edge,
        )
        return self.stats

    def _offer(self, frame: CapturedFrame, selection: Selection) -> None:
        """Send a frame the selector chose if the budget allows, at the quality it allows."""
        admission = self.budget.admit(selection.utility, frame.timestamp)
        if not admission.send:
            # Still counted as demand, so the edge sees what this camera would send.
            self.demand.add(self._last_jpeg_bytes, frame.timestamp)
            self.stats.skipped_for_budget += 1
            return
        # The edge may ask for less than the configured quality (its query needs no more).
        wanted = min(self.jpeg_quality, self._query_quality or self.jpeg_quality)
        quality = max(10, round(wanted * admission.quality_scale))
        features = selection.features
        # Regions go around what moved and what the object detector (if any) found.
        moving = [b.box for b in features.blobs] if features else []
        blobs = [d.box for d in selection.objects or []] + moving
        regions = self._regions(frame, blobs, features.foreground if features else 1.0)
        image = mask_outside(frame.image, regions) if regions else frame.image
        picture = self._picture(image, frame.index, quality)
        if picture is None:
            return
        size = len(picture) if isinstance(picture, bytes) else picture.estimated_bytes
        self._last_jpeg_bytes = size
        self.demand.add(size, frame.timestamp)
        if not self.budget.spend(size, frame.timestamp):
            self.stats.skipped_for_budget += 1
            return
        self.selector.commit_last(frame.index)
        if self.regions is not None:
            # Counted as sent now; a frame that does not arrive makes the next one whole.
            self.regions.sent(regions, blobs, frame.timestamp)
        meta = self._meta(frame, selection, regions)
        outgoing = Outgoing(
            frame.index, frame.timestamp, picture, meta, regions, blobs, frame.image, size
        )
        self.sender.offer(outgoing)

    def _picture(self, image: Image, index: int, quality: int) -> Picture | bytes | None:
        """The frame's JPEG now, or (lazy) a `Picture` that makes it if an uploader needs it."""
        if not self.lazy_jpeg:
            return self._encode(image, index, quality)
        # Estimated from the last JPEG made, or at 1.6 bits a pixel before any.
        estimate = self._encoded_bytes or image.shape[0] * image.shape[1] // 5
        return Picture(partial(self._encode_or_fail, image, index, quality), estimate)

    def _encode_or_fail(self, image: Image, index: int, quality: int) -> bytes:
        jpeg = self._encode(image, index, quality)
        if jpeg is None:
            raise UplinkError(f"frame {index}: could not be encoded as a JPEG")
        return jpeg

    def _regions(self, frame: CapturedFrame, blobs: list[Box], foreground: float) -> list[Box]:
        if self.regions is None:
            return []
        height, width = frame.image.shape[:2]
        return self.regions.plan(blobs, foreground, width, height, frame.timestamp)

    def _encode(self, image: Image, index: int, quality: int) -> bytes | None:
        try:
            jpeg = bytes(encode_jpeg(image, quality, self.jpeg_chroma).tobytes())
        except JpegEncodeError as exc:
            log.error("frame %d: %s", index, exc)
            return None
        with self._encodes:  # lazy pictures are encoded on the sender's threads
            self.stats.jpegs_encoded += 1
            self._encoded_bytes = len(jpeg)
        return jpeg

    def _settle(self, deliveries: list[Delivery]) -> None:
        """Account for frames whose upload finished, and apply the edge's feedback."""
        for delivery in deliveries:
            if delivery.reply is not None:
                self.stats.frames_sent += 1
                reason = delivery.frame.meta.send_reason
                self.stats.sent_by_reason[reason] = self.stats.sent_by_reason.get(reason, 0) + 1
                self.stats.bytes_sent += delivery.bytes_sent
                # The budget was charged the JPEG's size before the upload; what went may differ.
                self.budget.settle(delivery.frame.charged, delivery.bytes_sent)
                self.stats.detections_seen += len(delivery.reply.detections)
                self.selector.frame_arrived(delivery.frame.index)
                self._apply(delivery.reply)
                self._follow(delivery.frame.index, delivery.reply)
                continue
            if self.regions is not None:
                # The edge's picture lacks this frame: paste no regions onto it until renewed.
                self.regions.force_full()
            # Nor does its answer hold this frame's: compare with the last frame it has.
            self.selector.frame_lost(delivery.frame.index)
            if delivery.error is None:
                self.stats.dropped_busy += 1
            else:
                self._failed(delivery.frame.index, delivery.error)

    def _failed(self, index: int, exc: UplinkError) -> None:
        if exc.status in FATAL_STATUSES:
            raise exc
        if exc.shed is not None:
            self.stats.shed_by_edge += 1
            log.debug("frame %d shed by the edge: %s", index, exc.shed)
            return
        self.stats.upload_failures += 1
        log.warning("frame %d not delivered: %s", index, exc)

    def _meta(self, frame: CapturedFrame, selection: Selection, regions: list[Box]) -> FrameMeta:
        features = selection.features
        return FrameMeta(
            seq=frame.index,
            captured_at=frame.timestamp,
            filter_score=selection.decision.score,
            send_reason=selection.decision.reason.value,
            features=None
            if features is None
            else FeatureScores(
                pixel=features.pixel,
                area=features.area,
                edge=features.edge,
                foreground=features.foreground,
            ),
            detections=[WireDetection.of(d) for d in selection.found()[:MAX_ITEMS]],
            regions=[WireBox.of(r) for r in regions],
            demand_bytes_per_s=self.demand.rate(frame.timestamp),
            dropped_busy=self.stats.dropped_busy,
            motion=self._motion(),
        )

    def _motion(self) -> WireMotion | None:
        motion = None if self.follower is None else self.follower.motion()
        return None if motion is None else WireMotion.of(motion)

    def _follow(self, index: int, reply: FrameReply) -> None:
        """Follow the objects the edge tracks on frame `index` from there."""
        if self.follower is None:
            return
        started = time.perf_counter()
        tracked = [(d.track_id, d.box.box()) for d in reply.detections if d.track_id is not None]
        self.follower.answered(index, tracked)
        self.stats.follow_s += time.perf_counter() - started

    def _apply(self, reply: FrameReply) -> None:
        moving = reply.active_tracks if reply.moving_tracks is None else reply.moving_tracks
        feedback = reply.feedback
        if feedback.budget_bytes_per_s != self.budget.bytes_per_s:
            log.info("edge set uplink budget %s bytes/s", feedback.budget_bytes_per_s)
            self.budget.set_rate(feedback.budget_bytes_per_s)
        if feedback.jpeg_quality != self._query_quality:
            log.info("edge asks for JPEG quality at most %s", feedback.jpeg_quality)
            self._query_quality = feedback.jpeg_quality
        threshold = feedback.difference_threshold
        if threshold is not None and threshold != self.selector.threshold:
            log.debug("edge set difference threshold %.4f", threshold)
        if feedback.query is not None and feedback.query is not self.selector.query:
            log.info("edge asks for answers to the %s query", feedback.query.value)
        still = tuple(b.box() for b in reply.stationary)
        advice = EdgeReply(
            moving_tracks=moving,
            threshold=threshold,
            skip=feedback.skip_share,
            next_frame_s=feedback.next_frame_s,
            stationary=still,
            query=feedback.query,
            target=feedback.accuracy_target,
        )
        self.selector.follow(advice)
        if self.masks.follow(feedback.masks) and self.regions is not None:
            # Regions pasted onto the edge's last picture would leave its unpainted pixels.
            self.regions.force_full()
