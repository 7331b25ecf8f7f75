"""The cloud worker: a shared MQTT subscription into the fleet database.

Messages are acknowledged (manual PUBACK) only after their records are committed or the message
was recorded as rejected, so a worker that dies mid-way gets them again on reconnect (its
session is persistent), and so does another worker of the group once the session expires.
Several workers in one group split the stream; a record that arrives twice is stored once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from appliance.edge.store import StoreError
from appliance.mqtt.client import FAILURE_REASON, QOS, connect_properties, make_client

from .config import CloudWorkerConfig
from .ingest import CloudIngest

log = logging.getLogger(__name__)

RETRY_MAX_S = 30.0


@dataclass
class WorkerStats:
    client_id: str
    messages: int = 0
    records_stored: int = 0
    duplicates: int = 0
    rejected: int = 0


class CloudWorker:
    def __init__(
        self, config: CloudWorkerConfig, ingest: CloudIngest, client: mqtt.Client | None = None
    ) -> None:
        self._config = config
        self._ingest = ingest
        self.stats = WorkerStats(config.mqtt_client_id())
        self._client = client or make_client(config.broker, self.stats.client_id)
        self._client.manual_ack_set(True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def run(self, stop: threading.Event) -> WorkerStats:
        """Consume until ``stop`` is set."""
        broker = self._config.broker
        log.info(
            "cloud worker %s: %s on %s", self.stats.client_id, self._config.subscription(),
            broker.address(),
        )  # fmt: skip
        self._client.connect_async(
            broker.host,
            broker.port,
            broker.keepalive_s,
            clean_start=False,
            properties=connect_properties(self._config.session_expiry_s),
        )
        self._client.loop_start()
        try:
            stop.wait()
        finally:
            self._stop.set()
            self._client.disconnect()
            self._client.loop_stop()
        log.info("cloud worker stopped: %s", self.stats)
        return self.stats

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if getattr(reason, "value", 0) >= FAILURE_REASON:
            log.warning("cloud worker: broker refused to connect: %s", reason)
            return
        client.subscribe(self._config.subscription(), qos=QOS)
        log.info("cloud worker: connected to %s", self._config.broker.address())

    def _on_subscribe(
        self, _client: Any, _userdata: Any, _mid: int, reasons: list[Any], _props: Any
    ) -> None:
        if any(getattr(r, "value", 0) >= FAILURE_REASON for r in reasons):
            log.error("cloud worker: broker refused %s: %s", self._config.subscription(), reasons)
        else:
            log.info("cloud worker: subscribed to %s", self._config.subscription())

    def _on_disconnect(
        self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if not self._stop.is_set():
            log.warning("cloud worker: lost the broker (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._handle(message.topic, bytes(message.payload)):
            client.ack(message.mid, message.qos)

    def _handle(self, topic: str, payload: bytes) -> bool:
        """Store or reject the message; while the database fails, keep trying (this holds the
        stream back) until it works or the worker stops. True when it may be acknowledged."""
        delay = 1.0
        while not self._stop.is_set():
            try:
                result = self._ingest.handle(topic, payload)
            except StoreError as exc:
                log.error("cloud worker: %s; retrying in %.0f s", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            log.debug(
                "message on %s: %d records stored, %d already there",
                topic,
                result.stored,
                result.duplicates,
            )
            with self._lock:
                self.stats.messages += 1
                self.stats.records_stored += result.stored
                self.stats.duplicates += result.duplicates
                self.stats.rejected += result.rejected is not None
            return True
        return False
