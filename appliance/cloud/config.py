"""`appliance cloud --config cloud.yaml`: the broker, the database, the shared subscription."""

from __future__ import annotations

import socket

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from appliance.mqtt.config import BrokerConfig
from cameras.config_checks import NAME_PATTERN, TOPIC_PREFIX_PATTERN

_NAME = NAME_PATTERN
_PREFIX = TOPIC_PREFIX_PATTERN


class CloudWorkerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    broker: BrokerConfig = Field(default_factory=BrokerConfig, description="The MQTT broker.")
    database_url: SecretStr = Field(
        description="SQLAlchemy URL of the fleet database (PostgreSQL; SQLite for trials);"
        " use ${NAME} for the password. Never logged."
    )
    topic_prefix: str = Field("appliance", pattern=_PREFIX, description="The edges' topic_prefix.")
    group: str = Field(
        "appliance-cloud",
        pattern=_NAME,
        description="Shared-subscription group: workers in one group split the messages.",
    )
    client_id: str | None = Field(
        None,
        max_length=128,
        description="MQTT client id, unique per worker and stable across its restarts (the"
        " broker keeps its queued messages); default GROUP-HOSTNAME.",
    )
    session_expiry_s: int = Field(
        86_400,
        ge=0,
        description="How long the broker keeps a stopped worker's session and queued messages.",
    )
    max_message_bytes: int = Field(
        262_144, ge=1024, description="Larger messages are rejected (recorded, not stored)."
    )

    def mqtt_client_id(self) -> str:
        return self.client_id or f"{self.group}-{socket.gethostname()}"[:128]

    def subscription(self) -> str:
        """The MQTT 5 shared subscription: every site, camera and kind under the prefix."""
        return f"$share/{self.group}/{self.topic_prefix}/+/+/+"
