"""Assemble and run a camera node from its config: source, selector, uplink, state reports."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from cameras.config import CameraConfig
from cameras.edge_client import EdgeUplink
from cameras.frame_sender import FrameSender
from cameras.heartbeat import BeatingSource, Heartbeat, open_beating_source
from cameras.node import CameraNode, NodeStats
from cameras.node_masks import NodeMasks
from cameras.protocol import CameraStatus, SourceStateName
from cameras.reconnect import (
    FrameSource,
    ReconnectingSource,
    SourceState,
    SourceStateChange,
    open_source,
)
from cameras.sources import SourceError, VideoSource
from cameras.uploaders import FrameUploader, JpegUploader
from pipelines.selection import FrameSelector


def run_camera_node(
    config: CameraConfig,
    max_frames: int | None = None,
    stop: threading.Event | None = None,
    heartbeat: Heartbeat | None = None,
) -> NodeStats:
    """Run until the source ends (files), gives up (live, if configured) or `stop` is set.

    `heartbeat` is called on every sign of progress (see cameras/heartbeat.py)."""
    stop = stop or threading.Event()
    uplink = EdgeUplink(
        config.edge_url, config.id, config.token.get_secret_value(), config.request_timeout_s
    )
    try:
        # A bad model stops the node before its source opens.
        uploader = build_uploader(config, uplink)
        selector = build_selector(config)
        source = _open(config, stop, _reporter(uplink), heartbeat)
        try:
            return _run(config, source, uploader, selector, max_frames, stop, heartbeat)
        finally:
            source.close()
    finally:
        uplink.close()


def build_uploader(config: CameraConfig, uplink: EdgeUplink) -> FrameUploader:
    """JPEGs, or with `edgent.enabled` the frames analysed together with the edge box."""
    if not config.edgent.enabled:
        return JpegUploader(uplink)
    from pipelines.detectors.yolo_settings import ModelError

    try:  # the onnx package is an extra: `pip install -e '.[plan]'`
        from cameras.collaborative import collaborative_uploader
    except ImportError as exc:
        raise ModelError(
            f"edgent needs the onnx package: pip install -e '.[plan]' ({exc})"
        ) from None
    return collaborative_uploader(config.edgent, uplink)


def build_selector(config: CameraConfig) -> FrameSelector:
    """The difference filter and the tiny detector (`ModelError` for a bad ONNX model)."""
    tiny = config.tiny_detector
    detector = None
    if tiny.kind == "yolo-onnx":
        # Imported here: a node on motion blobs runs without onnxruntime (the camera extra).
        from pipelines.detectors.onnx_yolo import YoloOnnxDetector

        settings = replace(tiny.yolo_onnx.settings(), interest=tuple(tiny.labels))
        detector = YoloOnnxDetector(settings)
    return FrameSelector(
        config.filter.settings(),
        tiny.settings(),
        tiny.arrival_area,
        detector,
        tiny.answer_keepalive_s,
        tiny.count_agreement,
    )


def _run(
    config: CameraConfig,
    source: FrameSource,
    uploader: FrameUploader,
    selector: FrameSelector,
    max_frames: int | None,
    stop: threading.Event,
    heartbeat: Heartbeat | None = None,
) -> NodeStats:
    # Live sources report their own transitions; a file is connected while it is read.
    is_file = isinstance(source, VideoSource)
    # A live camera does not wait for the edge: frames chosen while it is busy are replaced.
    # A file replayed as fast as possible sends every chosen frame, one at a time (a second in
    # flight could be superseded by a third at the edge before it started), and reads on once
    # the edge answered it: its feedback applies from the next frame, as on a live camera.
    live = config.realtime or not is_file
    uplink = uploader.uplink
    in_flight = config.uplink_in_flight if live else 1
    sender = FrameSender(uplink, in_flight, block=not live, uploader=uploader)
    node = CameraNode(
        source if heartbeat is None else BeatingSource(source, heartbeat),
        selector,
        uplink,
        config.jpeg_quality,
        # Tensor frames leave the edge no picture to paste regions onto: whole frames only.
        regions=None if config.edgent.enabled else config.regions.planner(),
        sender=sender,
        jpeg_chroma=config.jpeg_chroma,
        lazy_jpeg=config.edgent.enabled,  # most frames leave as tensors, never as JPEGs
        masks=NodeMasks(selector, config.masks),
        # Tensor frames: the edge's tracker gets no shifts from a split model's camera yet.
        follower=None if config.edgent.enabled else config.box_motion.follower(),
    )
    if is_file:
        _report(uplink, "connected")
    stats = node.run(max_frames=max_frames, stop=stop)
    if is_file:
        _report(uplink, "stopped", "end of file or frame limit reached")
    if isinstance(source, ReconnectingSource) and source.state is SourceState.FAILED:
        raise SourceError(f"gave up on {source.name}: {source.last_error}")
    return stats


def _open(
    config: CameraConfig,
    stop: threading.Event,
    report: Callable[[SourceStateChange], None],
    heartbeat: Heartbeat | None,
) -> FrameSource:
    settings = config.reconnect.settings()
    if heartbeat is None:
        return open_source(
            config.source,
            config.realtime,
            settings,
            stop=stop,
            on_state_change=report,
            loop=config.loop,
        )
    return open_beating_source(
        config.source,
        heartbeat,
        config.realtime,
        settings,
        stop=stop,
        on_state_change=report,
        loop=config.loop,
    )


def _reporter(uplink: EdgeUplink) -> Callable[[SourceStateChange], None]:
    def report(change: SourceStateChange) -> None:
        status = CameraStatus(
            state=change.state.value,
            since=change.since,
            detail=change.detail or None,
            reconnects=change.reconnects,
        )
        uplink.report_status(status)

    return report


def _report(uplink: EdgeUplink, state: SourceStateName, detail: str | None = None) -> None:
    uplink.report_status(CameraStatus(state=state, since=time.time(), detail=detail))
