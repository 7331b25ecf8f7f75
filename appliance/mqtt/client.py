"""A paho-mqtt 2 client (callback API version 2, MQTT 5) set up from a BrokerConfig."""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .config import BrokerConfig

QOS = 1
# MQTT 5 reason codes from 0x80 up are failures (a PUBACK with one did not take the message).
FAILURE_REASON = 0x80
# PUBACK 0x10: the broker took the message but nobody subscribes to its topic (so it is gone).
NO_MATCHING_SUBSCRIBERS = 0x10


def make_client(broker: BrokerConfig, client_id: str) -> mqtt.Client:
    """A client with credentials, TLS and exponential reconnect backoff; not connected yet."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if broker.username is not None:
        password = broker.password.get_secret_value() if broker.password else None
        client.username_pw_set(broker.username, password)
    if broker.tls.enabled:
        client.tls_set(
            ca_certs=str(broker.tls.ca_file) if broker.tls.ca_file else None,
            cert_reqs=ssl.CERT_REQUIRED if broker.tls.verify else ssl.CERT_NONE,
        )
        client.tls_insecure_set(not broker.tls.verify)
    client.reconnect_delay_set(broker.reconnect_min_s, broker.reconnect_max_s)
    return client


def connect_properties(session_expiry_s: int) -> Properties:
    """CONNECT properties keeping the session (subscriptions, queued messages) that long."""
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = session_expiry_s
    return properties


def reason_value(reason: object) -> int:
    """The numeric value of a paho ReasonCode (or of a plain int)."""
    value = getattr(reason, "value", reason)
    return value if isinstance(value, int) else 0


def publish_packet_bytes(topic: str, payload: bytes) -> int:
    """Bytes of the MQTT 5 PUBLISH packet (QoS 1, no properties) carrying ``payload``."""
    remaining = 2 + len(topic.encode("utf-8")) + 2 + 1 + len(payload)
    return 1 + _varint_length(remaining) + remaining


def _varint_length(value: int) -> int:
    length = 1
    while value >= 128:
        value //= 128
        length += 1
    return length
