"""The edge's `cloud` section: what goes to the cloud, to which broker, and how fast."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from appliance.mqtt.config import BrokerConfig
from cameras.config_checks import NAME_PATTERN, TOPIC_PREFIX_PATTERN

_NAME = NAME_PATTERN
_PREFIX = TOPIC_PREFIX_PATTERN


class CloudUplinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        False, description="Publish events, per-minute counts and camera health over MQTT."
    )
    broker: BrokerConfig = Field(default_factory=BrokerConfig, description="The MQTT broker.")
    site_id: str = Field("site", pattern=_NAME, description="This site's id in topics and ids.")
    topic_prefix: str = Field(
        "appliance",
        pattern=_PREFIX,
        description="Topics are PREFIX/SITE/CAMERA/KIND, KIND being events, counts or health.",
    )
    client_id: str | None = Field(
        None, max_length=128, description="MQTT client id; default appliance-edge-SITE_ID."
    )
    max_bytes_per_minute: int = Field(
        1_000_000,
        ge=1024,
        description="Cap on bytes published in any minute; the rest waits in the outbox.",
    )
    batch_size: int = Field(
        100, ge=1, le=1000, description="Most records in one MQTT message (one topic each)."
    )
    max_message_bytes: int = Field(
        65_536, ge=1024, le=262_144, description="Most payload bytes in one MQTT message."
    )
    max_inflight: int = Field(
        10, ge=1, le=100, description="MQTT messages published and not yet acknowledged."
    )
    require_subscriber: bool = Field(
        True,
        description="A message the broker acknowledges with 'no matching subscribers' (MQTT 5)"
        " stays in the outbox and goes again later: a restarted broker that lost the cloud's"
        " shared subscription loses no record.",
    )
    event_updates_s: float = Field(
        60.0,
        gt=0,
        description="Send an open event's progress at most this often (and when it enters a"
        " zone); its start and end always go.",
    )
    thumbnails: bool = Field(
        False,
        description="Add a small JPEG of the best view to each event's end record (off: no"
        " pixels leave the site).",
    )
    thumbnail_width: int = Field(96, ge=16, le=320, description="Thumbnail width, pixels.")
    thumbnail_max_bytes: int = Field(
        4096, ge=512, le=32_768, description="Largest thumbnail JPEG; larger ones are dropped."
    )
    poll_interval_s: float = Field(
        0.5, gt=0, le=10, description="How often the publisher looks for new outbox rows."
    )
    drain_timeout_s: float = Field(
        5.0, ge=0, le=300, description="At shutdown, wait this long for the outbox to empty."
    )
    keep_sent_hours: float = Field(
        24.0, ge=0, description="Acknowledged outbox rows are deleted after this many hours."
    )

    @model_validator(mode="after")
    def _sizes_fit(self) -> CloudUplinkConfig:
        if self.max_message_bytes > self.max_bytes_per_minute:
            raise ValueError("max_message_bytes must not exceed max_bytes_per_minute")
        # A record with the largest thumbnail (base64: 4/3 of it) must fit in a message.
        if self.thumbnails and self.thumbnail_max_bytes * 4 // 3 + 2048 > self.max_message_bytes:
            raise ValueError("thumbnail_max_bytes does not fit in max_message_bytes")
        return self

    def mqtt_client_id(self) -> str:
        return self.client_id or f"appliance-edge-{self.site_id}"
