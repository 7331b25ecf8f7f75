"""The edge box assembled from its config: store, detector, one analyzer per camera."""

from __future__ import annotations

import hmac
import logging
import os
import threading
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt

from appliance.edge.analysis import AnalysisResult, CameraAnalyzer
from appliance.edge.camera_plans import CameraPlans
from appliance.edge.camera_settings import new_controller, restore_settings
from appliance.edge.config import EdgeCameraConfig, EdgeConfig, SchedulerConfig
from appliance.edge.detector import build_edge_detector
from appliance.edge.edgent_config import EdgeEdgentConfig
from appliance.edge.input_rates import InputRates
from appliance.edge.outbox.uplink import CloudUplink
from appliance.edge.retention import RetentionJob
from appliance.edge.scheduler import FrameScheduler, SchedulerSettings
from appliance.edge.site_uplink import SiteUplink
from appliance.edge.snapshot_redaction import SnapshotRedaction
from appliance.edge.snapshots import SnapshotWriter
from appliance.edge.stats import EdgeStats
from appliance.edge.store import CameraRow, Database, Store, open_database, sqlite_url
from appliance.edge.store.retention import StoreRetention
from pipelines.detectors.yolo_settings import ModelError

if TYPE_CHECKING:
    from appliance.edge.edgent_tails import EdgeTails

log = logging.getLogger(__name__)


def build_tails(config: EdgeEdgentConfig) -> EdgeTails | None:
    """The tails of split models camera nodes run with this edge (none unless enabled)."""
    if not config.enabled:
        return None
    try:  # the onnx package is an extra: `pip install -e '.[plan]'`
        from appliance.edge.edgent_tails import EdgeTails
    except ImportError as exc:
        raise ModelError(
            f"edgent needs the onnx package: pip install -e '.[plan]' ({exc})"
        ) from None
    return EdgeTails(config)


def _cloud_uplink(
    config: EdgeConfig, database: Database, client: mqtt.Client | None
) -> CloudUplink | None:
    if not config.cloud.enabled:
        return None
    cameras = [c.id for c in config.cameras]
    redact = config.privacy.redact
    redaction = SnapshotRedaction(redact, config.snapshots.margin) if redact.cloud else None
    return CloudUplink(config.cloud, database, cameras, config.data_dir, client, redaction)


class EdgeBox:
    """Everything one running edge box owns; `close()` ends open events and the database."""

    def __init__(self, config: EdgeConfig, mqtt_client: mqtt.Client | None = None) -> None:
        """``mqtt_client``: the cloud uplink's client instead of one made from the config."""
        self.config = config
        # Models first: a bad model file stops the box before any database is created.
        edge_detector = build_edge_detector(
            config.detector, config.data_dir, config.tracker.weak_confidence
        )
        self.detector = edge_detector
        """What the box detects with (and why, if it fell back to HOG), and its batching."""
        detectors = {c.id: edge_detector.make() for c in config.cameras}
        self.tails = build_tails(config.edgent)
        """Edgent: tails of the exits camera nodes split with this box (None when off)."""
        url = config.database_url.get_secret_value() if config.database_url else None
        self.database: Database = open_database(url or sqlite_url(config.data_dir))
        self.cloud = _cloud_uplink(config, self.database, mqtt_client)
        self.store = Store(self.database, hook=self.cloud.writer if self.cloud else None)
        self.store.ensure_cameras([CameraRow(c.id, c.name or c.id) for c in config.cameras])
        self.stats = EdgeStats()
        self.inputs = InputRates()
        self.plans = CameraPlans()
        """The Edgent plan each camera that runs a split model reported last."""
        self.stopping = threading.Event()
        """Set when the server begins to shut down: endless responses (live views) end."""
        self.scheduler: FrameScheduler[AnalysisResult] = FrameScheduler(
            scheduler_settings(config.scheduler), on_drop=self.stats.dropped
        )
        self.snapshots = (
            SnapshotWriter(config.data_dir, config.snapshots.quality, config.snapshots.margin)
            if config.snapshots.enabled
            else None
        )
        self.cameras = {c.id: c for c in config.cameras}
        self.site_uplink = SiteUplink(config.uplink_capacity_mbps, self.cameras)
        self.analyzers = {
            c.id: CameraAnalyzer(
                c.id,
                config.cascade(detectors[c.id]),
                self.store,
                config.tracker.settings(),
                self.snapshots,
                new_controller(config, c),
                [z.zone() for z in c.zones],
                edge_detector.reported_from,
            )
            for c in config.cameras
        }
        restore_settings(self)  # changes made through the API win over the YAML
        self.retention = RetentionJob(
            config.retention, StoreRetention(self.database), config.data_dir
        )
        self.retention.start()
        if self.cloud is not None:
            self.cloud.start()
        log.info("edge box ready: %d cameras, database %s", len(self.cameras), self.database.url)

    def camera(self, camera_id: str) -> EdgeCameraConfig | None:
        return self.cameras.get(camera_id)

    @staticmethod
    def token_matches(expected: str, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(
            expected.encode("utf-8"), presented.encode("utf-8")
        )

    def close(self) -> None:
        self.retention.close()
        self.scheduler.close()
        ended = sum(analyzer.close() for analyzer in self.analyzers.values())
        log.info("edge box stopping: ended %d open events", ended)
        if self.cloud is not None:
            self.cloud.close(self.store)
        self.database.dispose()


def scheduler_settings(config: SchedulerConfig) -> SchedulerSettings:
    """The scheduler's settings from its config section (no workers given: one per core)."""
    workers = config.workers or os.cpu_count() or 1
    return SchedulerSettings(workers, config.max_queue, config.deadline_s, config.quiet_s)
