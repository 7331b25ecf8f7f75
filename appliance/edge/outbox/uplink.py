"""The edge's cloud uplink assembled: the outbox writer (a store hook) and the publisher."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from appliance.edge.snapshot_redaction import SnapshotRedaction
from appliance.edge.store import Database, Store, StoreError
from appliance.edge.store.outbox import OutboxStore

from .config import CloudUplinkConfig
from .publisher import Publisher
from .stats import UplinkStats
from .writer import OutboxWriter

log = logging.getLogger(__name__)


class CloudUplink:
    """``writer`` goes to the Store as its hook; ``start()`` after the store is ready."""

    def __init__(
        self,
        config: CloudUplinkConfig,
        database: Database,
        cameras: Sequence[str],
        data_dir: Path,
        client: mqtt.Client | None = None,
        redaction: SnapshotRedaction | None = None,
    ) -> None:
        """``redaction``: what the thumbnails have redacted (None: nothing)."""
        self.config = config
        self.writer = OutboxWriter(
            config, snapshot_path=lambda relative: data_dir / relative, redaction=redaction
        )
        self.outbox = OutboxStore(database)
        self.stats = UplinkStats(list(cameras), config.broker.address())
        self.publisher = Publisher(config, self.outbox, self.stats, client)

    def start(self) -> None:
        self.publisher.start()

    def snapshot(self) -> dict[str, Any]:
        try:
            pending: int | None = self.outbox.totals().pending
        except StoreError as exc:
            log.warning("cloud uplink: cannot count the outbox: %s", exc)
            pending = None
        return self.stats.snapshot(pending, self.publisher.in_flight)

    def close(self, store: Store, drain_timeout_s: float | None = None) -> bool:
        """Write the last counts, give the publisher the drain timeout, disconnect."""
        try:
            store.close_hook()
        except StoreError as exc:
            log.warning("cloud uplink: last counts not written: %s", exc)
        return self.publisher.stop(drain_timeout_s)
