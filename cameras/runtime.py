"""Assemble and run a camera node from its config: source, filter, uplink, state reports."""

from __future__ import annotations

import logging
import threading
import time

from cameras.config import CameraConfig
from cameras.node import CameraNode, NodeStats
from cameras.protocol import CameraStatus
from cameras.reconnect import ReconnectingSource, SourceState, SourceStateChange, open_source
from cameras.sources import SourceError, VideoSource
from cameras.uplink import EdgeUplink
from pipelines.selection import FrameSelector

log = logging.getLogger(__name__)


def run_camera_node(
    config: CameraConfig, max_frames: int | None = None, stop: threading.Event | None = None
) -> NodeStats:
    """Run until the source ends (files), gives up (live, if configured) or `stop` is set."""
    stop = stop or threading.Event()
    uplink = EdgeUplink(
        config.edge_url, config.id, config.token.get_secret_value(), config.request_timeout_s
    )

    def report(change: SourceStateChange) -> None:
        status = CameraStatus(
            state=change.state.value,
            since=change.since,
            detail=change.detail or None,
            reconnects=change.reconnects,
        )
        uplink.report_status(status)

    try:
        source = open_source(
            config.source,
            realtime=config.realtime,
            settings=config.reconnect.settings(),
            stop=stop,
            on_state_change=report,
        )
        # Live sources report their own transitions; a file is connected while it is read.
        is_file = isinstance(source, VideoSource)
        if is_file:
            uplink.report_status(CameraStatus(state="connected", since=time.time()))
        try:
            selector = FrameSelector(
                config.filter.settings(),
                config.tiny_detector.settings(),
                config.tiny_detector.arrival_area,
            )
            node = CameraNode(
                source, selector, uplink, config.jpeg_quality, regions=config.regions.planner()
            )
            stats = node.run(max_frames=max_frames, stop=stop)
            if isinstance(source, ReconnectingSource) and source.state is SourceState.FAILED:
                raise SourceError(f"gave up on {source.name}: {source.last_error}")
            return stats
        finally:
            source.close()
            if is_file:
                detail = "end of file or frame limit reached"
                uplink.report_status(
                    CameraStatus(state="stopped", since=time.time(), detail=detail)
                )
    finally:
        uplink.close()
