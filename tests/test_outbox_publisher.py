"""The edge's publisher against a real Mosquitto broker: records leave the outbox only once the
broker acknowledged them to a subscriber, wait while the broker is away, keep to the byte cap,
and are counted per camera."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.edge.outbox.config import CloudUplinkConfig
from appliance.edge.outbox.uplink import CloudUplink
from appliance.edge.server import free_port
from appliance.edge.store import CameraRow, Database, Store, open_database, sqlite_url
from appliance.mqtt.config import BrokerConfig
from appliance.mqtt.wire import MESSAGE
from tests.mosquitto_server import MosquittoServer
from tests.mqtt_clients import Collector
from tests.server_process import wait_for
from tests.test_store import event, frame

T0 = 1_700_000_040.0
PREFIX = "test"
WAIT_S = 30


def uplink_config(port: int, **overrides: object) -> CloudUplinkConfig:
    settings = {
        "enabled": True,
        "site_id": "s1",
        "topic_prefix": PREFIX,
        "broker": BrokerConfig(port=port, reconnect_min_s=1, reconnect_max_s=1),
        "poll_interval_s": 0.05,
        "drain_timeout_s": 5,
        **overrides,
    }
    return CloudUplinkConfig.model_validate(settings)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = open_database(sqlite_url(tmp_path / "edge"))
    yield db
    db.dispose()


def start_uplink(
    database: Database, config: CloudUplinkConfig, tmp_path: Path
) -> tuple[CloudUplink, Store]:
    uplink = CloudUplink(config, database, ["cam1", "cam2"], tmp_path)
    store = Store(database, hook=uplink.writer)
    store.ensure_cameras([CameraRow("cam1", "one"), CameraRow("cam2", "two")])
    uplink.start()
    return uplink, store


def queue_events(store: Store, count: int, camera: str = "cam1", first: int = 0) -> None:
    for n in range(first, first + count):
        row = dataclasses.replace(event(f"{n:032x}", camera, start=T0 + n), track_id=n)
        store.record_analysis(frame(camera, seq=n, at=T0 + n * 0.01), [], [row])


def received_ids(collector: Collector) -> list[str]:
    return [r.id for p in collector.payloads() for r in MESSAGE.validate_json(p).records]


def test_records_wait_for_the_broker_and_a_subscriber_then_go_once(
    database: Database, tmp_path: Path
) -> None:
    port = free_port()  # no broker there yet
    uplink, store = start_uplink(database, uplink_config(port), tmp_path)
    broker = MosquittoServer(port)
    collector = Collector(port, f"{PREFIX}/#")
    try:
        queue_events(store, 5)
        assert uplink.outbox.totals().pending == 5
        assert uplink.snapshot()["connected"] is False
        broker.start()
        wait_for(lambda: uplink.stats.connected, WAIT_S, "the publisher to connect")
        # Connected, but nobody subscribes yet: the broker answers "no matching subscribers",
        # and the records stay in the outbox.
        wait_for(lambda: uplink.stats.unsubscribed > 0, WAIT_S, "an undelivered message")
        assert uplink.outbox.totals().pending == 5
        collector.start()
        wait_for(lambda: uplink.outbox.totals().pending == 0, WAIT_S, "the outbox to drain")
        queue_events(store, 3, "cam2", first=5)
        wait_for(lambda: len(received_ids(collector)) == 8, WAIT_S, "all 8 records")
        assert sorted(received_ids(collector)) == sorted(set(received_ids(collector)))
        assert {t.split("/")[2] for t, _ in collector.received} == {"cam1", "cam2"}
        # Stopping: each camera's minute so far goes too (2 count records); the outbox empties.
        assert uplink.close(store, drain_timeout_s=WAIT_S)
        wait_for(lambda: len(received_ids(collector)) == 10, WAIT_S, "the 2 count records")
    finally:
        uplink.close(store, drain_timeout_s=0)
        collector.stop()
        broker.close()
    stats = uplink.snapshot()
    assert stats["records_sent"] == 10 and stats["pending"] == 0
    assert stats["cameras"]["cam2"]["records_sent"] == 4
    assert stats["bytes_sent"] == sum(c["bytes_sent"] for c in stats["cameras"].values()) > 0
    assert stats["bytes_per_camera_hour"] > 0


def test_the_byte_cap_holds_records_back(
    database: Database, tmp_path: Path, mosquitto: MosquittoServer
) -> None:
    assert mosquitto.port is not None
    collector = Collector(mosquitto.port, f"{PREFIX}/#").start()
    config = uplink_config(
        mosquitto.port, max_bytes_per_minute=2048, max_message_bytes=1024, batch_size=2
    )
    uplink, store = start_uplink(database, config, tmp_path)
    try:
        queue_events(store, 20)
        wait_for(lambda: uplink.stats.throttled > 0, WAIT_S, "the cap to hold messages back")
        wait_for(lambda: uplink.publisher.in_flight == 0, WAIT_S, "acknowledgements")
        # Within this minute: at most the cap (a message alone may exceed what is left).
        assert 0 < uplink.stats.bytes_sent <= 2048
        assert uplink.outbox.totals().pending > 0
    finally:
        uplink.close(store, drain_timeout_s=0)
        collector.stop()
    assert len(received_ids(collector)) == uplink.stats.records_sent
