"""The publisher thread: drains the outbox to the broker and marks rows sent on PUBACK only.

Rows handed to paho stay unsent in the database until the broker's PUBACK for their message
arrives (paho's on_publish with the message's mid). A lost connection leaves them with paho,
which publishes them again after it reconnected (exponential backoff); a crash leaves them
unsent in the outbox, and they go again after the restart. Either way a record may arrive
twice, never not at all: the receiver stores each record id once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from appliance.edge.store import StoreError
from appliance.edge.store.outbox import OutboxStore
from appliance.mqtt.client import (
    FAILURE_REASON,
    NO_MATCHING_SUBSCRIBERS,
    QOS,
    make_client,
    reason_value,
)

from .batches import Batch, BatchLimits, plan_batches
from .config import CloudUplinkConfig
from .limiter import ByteRateLimiter
from .stats import UplinkStats

log = logging.getLogger(__name__)

ACK_TIMEOUT_S = 60.0
"""A message connected this long without a PUBACK is published again (under a new mid)."""
PRUNE_EVERY_S = 600.0


@dataclass(frozen=True)
class _InFlight:
    batch: Batch
    published_at: float


class Publisher:
    def __init__(
        self,
        config: CloudUplinkConfig,
        outbox: OutboxStore,
        stats: UplinkStats,
        client: mqtt.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._outbox = outbox
        self._stats = stats
        self._clock, self._wall = clock, wall
        self._limits = BatchLimits(
            config.site_id, config.topic_prefix, config.batch_size, config.max_message_bytes
        )
        self._limiter = ByteRateLimiter(config.max_bytes_per_minute, clock=clock)
        self._client = client or make_client(config.broker, config.mqtt_client_id())
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._acks: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
        # Touched by the publisher thread only:
        self._inflight: dict[int, _InFlight] = {}
        self._handed: set[int] = set()
        self._retry_at = 0.0
        self._refusals = 0
        self._throttled = False
        self._next_prune = 0.0
        self._connected_at = 0.0
        self._passes = 0
        self._empty_pass = -1
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cloud-publisher", daemon=True)

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    def start(self) -> None:
        broker = self._config.broker
        log.info(
            "cloud uplink: site %s publishing to %s under %s/",
            self._config.site_id,
            broker.address(),
            self._config.topic_prefix,
        )
        self._client.connect_async(broker.host, broker.port, broker.keepalive_s, clean_start=True)
        self._client.loop_start()
        self._thread.start()

    def stop(self, drain_timeout_s: float | None = None) -> bool:
        """Wait up to the drain timeout for the outbox to empty, then disconnect. True when
        everything was acknowledged; what is left goes after the next start."""
        if self._stopping.is_set():
            return self._empty_pass > 0 and not self._inflight
        timeout = self._config.drain_timeout_s if drain_timeout_s is None else drain_timeout_s
        drained = self._wait_drained(timeout)
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._client.disconnect()
        self._client.loop_stop()
        if not drained:
            log.warning("cloud uplink stopped with unsent records; they go after the restart")
        return drained

    def _wait_drained(self, timeout: float) -> bool:
        if not self._thread.is_alive():
            return False
        asked = self._passes
        deadline = time.monotonic() + timeout
        while self._empty_pass <= asked:
            if time.monotonic() >= deadline or not self._thread.is_alive():
                return False
            self._wake.set()
            time.sleep(0.02)
        return True

    # --- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._passes += 1
            this_pass = self._passes
            if self._one_pass():
                self._empty_pass = this_pass
            self._wake.wait(self._config.poll_interval_s)
            self._wake.clear()
        self._guarded(self._settle_acks)

    def _one_pass(self) -> bool:
        """Settle acks, publish what the cap allows, tidy up; True if nothing is left."""
        settled = self._guarded(self._settle_acks)
        empty = settled and self._guarded(self._publish_pending)
        self._guarded(self._expire_inflight)
        self._guarded(self._prune)
        return empty

    def _guarded(self, step: Callable[[], Any]) -> bool:
        try:
            return bool(step())
        except StoreError as exc:
            log.warning("cloud uplink: database: %s", exc)
        except Exception:  # never let the thread die: the outbox keeps everything
            log.exception("cloud uplink: unexpected error")
        return False

    def _publish_pending(self) -> bool:
        """Publish the oldest unsent rows; True when none are pending and none in flight."""
        room = self._config.max_inflight - len(self._inflight)
        if not self._stats.connected or room <= 0 or self._clock() < self._retry_at:
            return False
        limit = room * self._config.batch_size + len(self._handed)
        rows = [r for r in self._outbox.pending(0, limit) if r.id not in self._handed]
        if not rows:
            return not self._inflight
        for batch in plan_batches(rows, self._limits)[:room]:
            if not self._limiter.allows(batch.wire_bytes):
                self._note_throttled(True)
                return False
            if not self._send(batch):
                return False
        self._note_throttled(False)
        return False

    def _send(self, batch: Batch) -> bool:
        info = self._client.publish(batch.topic, batch.payload, qos=QOS)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning("cloud uplink: publish failed: %s", mqtt.error_string(info.rc))
            return False
        self._inflight[info.mid] = _InFlight(batch, self._clock())
        self._handed.update(batch.row_ids)
        self._limiter.record(batch.wire_bytes)
        return True

    def _settle_acks(self) -> bool:
        acked: dict[int, Batch] = {}
        while True:
            try:
                mid, reason = self._acks.get_nowait()
            except queue.Empty:
                break
            flight = self._inflight.get(mid)
            if flight is None:
                continue
            if reason >= FAILURE_REASON:
                del self._inflight[mid]
                self._stats.note_refused()
                self._retry_later(flight.batch, f"the broker refused it (reason {reason:#x})")
            elif reason == NO_MATCHING_SUBSCRIBERS and self._config.require_subscriber:
                del self._inflight[mid]
                self._stats.note_unsubscribed()
                self._retry_later(flight.batch, "no subscriber took it")
            else:
                acked[mid] = flight.batch
        if acked:
            self._settle_delivered(acked)
        return True

    def _settle_delivered(self, acked: dict[int, Batch]) -> None:
        """Marks delivered rows sent and counts them; the messages leave `in_flight` only then,
        so whoever sees none in flight also sees them counted."""
        ids = [row_id for batch in acked.values() for row_id in batch.row_ids]
        try:
            self._outbox.mark_sent(ids, self._wall())
            for batch in acked.values():
                self._stats.acknowledged(
                    batch.camera_id, batch.kind, len(batch.row_ids), batch.wire_bytes
                )
            self._refusals = 0
        finally:  # unmarked rows go again: a duplicate is harmless, a loss is not
            self._handed.difference_update(ids)
            for mid in acked:
                self._inflight.pop(mid, None)

    def _retry_later(self, batch: Batch, why: str) -> None:
        """The broker answered but did not deliver: the rows stay unsent and go again after a
        backoff (a broker that restarted has no subscriptions until the workers reconnect)."""
        self._handed.difference_update(batch.row_ids)
        self._refusals += 1
        broker = self._config.broker
        delay = min(broker.reconnect_max_s, broker.reconnect_min_s * 2.0 ** (self._refusals - 1))
        self._retry_at = self._clock() + delay
        log.warning(
            "cloud uplink: a message on %s was not delivered (%s); again in %.0f s",
            batch.topic,
            why,
            delay,
        )

    def _expire_inflight(self) -> bool:
        if not self._stats.connected:
            return True
        now = self._clock()
        for mid, flight in list(self._inflight.items()):
            if now - max(flight.published_at, self._connected_at) > ACK_TIMEOUT_S:
                log.warning("cloud uplink: no PUBACK for %s; publishing again", flight.batch.topic)
                del self._inflight[mid]
                self._handed.difference_update(flight.batch.row_ids)
        return True

    def _prune(self) -> bool:
        now = self._clock()
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY_S
            removed = self._outbox.prune_sent(self._wall() - self._config.keep_sent_hours * 3600)
            if removed:
                log.info("cloud uplink: pruned %d acknowledged outbox rows", removed)
        return True

    def _note_throttled(self, throttled: bool) -> None:
        if throttled and not self._throttled:
            self._stats.note_throttled()
            log.info("cloud uplink: at %d bytes/minute, holding back", self._limiter.max_bytes)
        self._throttled = throttled

    # --- paho callbacks (paho's network thread) -------------------------------------------

    def _on_connect(
        self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _properties: Any
    ) -> None:
        if reason_value(reason) >= FAILURE_REASON:
            log.warning("cloud uplink: broker %s refused to connect: %s", self._address, reason)
            return
        self._connected_at = self._clock()
        self._stats.connection(True)
        log.info("cloud uplink: connected to %s", self._address)
        self._wake.set()

    def _on_disconnect(
        self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _properties: Any
    ) -> None:
        was_connected = self._stats.connected
        self._stats.connection(False)
        if was_connected and not self._stopping.is_set():
            log.warning("cloud uplink: lost %s (%s); reconnecting", self._address, reason)

    def _on_publish(
        self, _client: Any, _userdata: Any, mid: int, reason: Any, _properties: Any
    ) -> None:
        self._acks.put((mid, reason_value(reason)))
        self._wake.set()

    @property
    def _address(self) -> str:
        return self._config.broker.address()
