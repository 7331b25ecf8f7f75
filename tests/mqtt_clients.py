"""Plain MQTT clients for the tests: a subscriber that collects what arrives, and a publisher
of arbitrary (also malformed) payloads."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from appliance.mqtt.client import connect_properties
from tests.server_process import HOST, wait_for


@dataclass
class Collector:
    """Subscribes (QoS 1, persistent session) and keeps every (topic, payload) received."""

    port: int
    topic: str
    client_id: str = "test-collector"
    received: list[tuple[str, bytes]] = field(default_factory=list)
    subscribed: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5
        )
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message

    def start(self) -> Collector:
        self.client.connect_async(
            HOST, self.port, 30, clean_start=False, properties=connect_properties(3600)
        )
        self.client.loop_start()
        wait_for(self.subscribed.is_set, 15, f"subscription to {self.topic}")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [payload for _, payload in self.received]

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe(self.topic, qos=1)

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append((message.topic, bytes(message.payload)))


def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    """Publish each (topic, payload) at QoS 1 and wait for every PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(HOST, port, 30)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=15)
            assert info.is_published(), "the broker did not acknowledge a test message"
    finally:
        client.disconnect()
        client.loop_stop()
