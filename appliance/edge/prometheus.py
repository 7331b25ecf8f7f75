"""The edge box's counters as Prometheus metrics (served at /metrics, see http/metrics.py).

A collector reads the counters the box already keeps (EdgeStats, the input rates, the store's
camera states, the scheduler, the cloud outbox) at scrape time, so /metrics and /api/v1/stats
can never disagree. Each box gets its own registry: several boxes in one process do not clash.

Per camera (label `camera`): frames the node read and the frames it sent that the box received
(also by the camera's reason for sending each, `reason`), analysed, found duplicate or shed
(`reason`), how they were answered (`exit`), detector
seconds, the capture-to-stored latency histogram and the source state the node reports.
"""

from __future__ import annotations

import logging
import math
import typing
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from appliance.edge.box import EdgeBox
from appliance.edge.stats import CameraCounts
from appliance.edge.store import StoreError
from cameras.protocol import SourceStateName

log = logging.getLogger(__name__)

SOURCE_STATES: tuple[str, ...] = typing.get_args(SourceStateName)
_CAMERA = ["camera"]


def metrics_registry(box: EdgeBox) -> CollectorRegistry:
    """A registry of its own holding the box's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EdgeCollector(box))
    return registry


class EdgeCollector(Collector):
    """Builds every family from the box's live counters on each scrape."""

    def __init__(self, box: EdgeBox) -> None:
        self.box = box

    def collect(self) -> Iterator[Metric]:
        counts, rejected = self.box.stats.counts(known=self.box.cameras)
        yield _frames_read(counts, self.box.inputs.snapshot())
        yield from _camera_counters(counts)
        yield _latency(counts)
        yield from _source_states(self.box, list(counts))
        yield _labelled_counter(
            "appliance_uploads_rejected", "Camera uploads refused, by reason.", "reason", rejected
        )
        yield from _scheduler(self.box.scheduler.snapshot())
        yield from _database(self.box.store.database_bytes())
        if self.box.cloud is not None:
            yield from _outbox(self.box.cloud.snapshot())


_CAMERA_COUNTERS: tuple[tuple[str, str, str], ...] = (
    # (metric name, CameraCounts field, help)
    (
        "frames_received",
        "frames_received",
        "Frames (and Edgent tensors) the node sent that the box accepted.",
    ),
    ("received_bytes", "bytes_received", "Bytes of the accepted uploads."),
    ("frames_analysed", "frames_analysed", "Frames analysed and stored."),
    ("frames_duplicate", "frames_duplicate", "Frames the box had stored before (a retry)."),
    ("detector_seconds", "detector_seconds", "Seconds the detector ran on the camera's frames."),
)


def _frames_read(counts: dict[str, CameraCounts], inputs: dict[str, dict[str, Any]]) -> Metric:
    family = CounterMetricFamily(
        "appliance_camera_frames_read",
        "Frames the camera node read from its source (from the frames' seq); received over"
        " read is the share the node sent.",
        labels=_CAMERA,
    )
    for camera in counts:
        family.add_metric([camera], inputs.get(camera, {}).get("frames_read", 0))
    return family


def _camera_counters(counts: dict[str, CameraCounts]) -> Iterator[Metric]:
    for name, attribute, doc in _CAMERA_COUNTERS:
        family = CounterMetricFamily(f"appliance_camera_{name}", doc, labels=_CAMERA)
        for camera, camera_counts in counts.items():
            family.add_metric([camera], getattr(camera_counts, attribute))
        yield family
    shed = CounterMetricFamily(
        "appliance_camera_frames_shed",
        "Frames the scheduler shed (superseded, overload, expired, shutdown).",
        labels=[*_CAMERA, "reason"],
    )
    exits = CounterMetricFamily(
        "appliance_camera_exits",
        "Analysed frames by the cascade exit that answered them.",
        labels=[*_CAMERA, "exit"],
    )
    sent = CounterMetricFamily(
        "appliance_camera_frames_received_by_reason",
        "Frames received, by the camera's reason for sending each (first, changed, arrival,"
        " moved, keepalive, stale, ...).",
        labels=[*_CAMERA, "reason"],
    )
    for camera, camera_counts in counts.items():
        for reason, value in sorted(camera_counts.received_by_reason.items()):
            sent.add_metric([camera, reason], value)
        for reason, value in sorted(camera_counts.dropped.items()):
            shed.add_metric([camera, reason], value)
        for exit_name, value in camera_counts.exits.items():
            exits.add_metric([camera, exit_name], value)
    yield sent
    yield shed
    yield exits


def _latency(counts: dict[str, CameraCounts]) -> Metric:
    family = HistogramMetricFamily(
        "appliance_camera_latency_seconds",
        "Seconds from a frame's capture to its stored analysis (0 for frames stamped ahead of"
        " the box's clock).",
        labels=_CAMERA,
    )
    for camera, camera_counts in counts.items():
        buckets = [(_bound(le), n) for le, n in camera_counts.latency]
        family.add_metric([camera], buckets, camera_counts.latency_sum_s)
    return family


def _bound(le: float) -> str:
    """A bucket's upper bound as the exposition format writes it."""
    return "+Inf" if math.isinf(le) else repr(le)


def _source_states(box: EdgeBox, cameras: list[str]) -> Iterator[Metric]:
    try:
        reported = {row.id: row.state for row in box.store.camera_stats()}
    except StoreError as exc:
        log.warning("metrics: cannot read the cameras' source states: %s", exc)
        return
    family = GaugeMetricFamily(
        "appliance_camera_source_state",
        "1 for the state the camera node last reported for its video source, else 0 (all 0:"
        " no report yet).",
        labels=[*_CAMERA, "state"],
    )
    for camera in cameras:
        for state in SOURCE_STATES:
            family.add_metric([camera, state], 1.0 if reported.get(camera) == state else 0.0)
    yield family


def _labelled_counter(name: str, doc: str, label: str, values: dict[str, int]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _scheduler(snapshot: dict[str, int]) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "appliance_scheduler_queue_depth", "Frames waiting for a worker.", snapshot["queue_depth"]
    )
    yield GaugeMetricFamily(
        "appliance_scheduler_running", "Frames being analysed now.", snapshot["running"]
    )
    yield GaugeMetricFamily("appliance_scheduler_workers", "Analysis workers.", snapshot["workers"])


def _database(size: int | None) -> Iterator[Metric]:
    if size is not None:
        yield GaugeMetricFamily(
            "appliance_store_database_bytes",
            "The store's database on disk (SQLite with its write-ahead log, or PostgreSQL's).",
            size,
        )


def _outbox(cloud: dict[str, Any]) -> Iterator[Metric]:
    """The cloud outbox (only when the cloud uplink is on)."""
    if cloud["pending"] is not None:  # None: the store could not count it (logged)
        yield GaugeMetricFamily(
            "appliance_outbox_pending_messages",
            "Outbox messages not yet acknowledged by the broker (the outbox's depth).",
            cloud["pending"],
        )
    yield GaugeMetricFamily(
        "appliance_outbox_in_flight_messages",
        "Outbox messages published and awaiting the broker's acknowledgement.",
        cloud["in_flight"],
    )
    yield GaugeMetricFamily(
        "appliance_outbox_broker_connected",
        "1 while the uplink is connected to the MQTT broker.",
        1.0 if cloud["connected"] else 0.0,
    )
    yield CounterMetricFamily(
        "appliance_outbox_sent_messages",
        "Messages the broker acknowledged.",
        cloud["messages_sent"],
    )
    yield CounterMetricFamily(
        "appliance_outbox_sent_bytes", "Bytes of the acknowledged messages.", cloud["bytes_sent"]
    )
