"""Broker connection settings (used by the edge's `cloud` section and the cloud worker)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TlsConfig(_Strict):
    enabled: bool = Field(False, description="Connect with TLS (usually port 8883).")
    ca_file: Path | None = Field(
        None, description="CA certificate(s) to trust, PEM; none: the system's CAs."
    )
    verify: bool = Field(
        True, description="Check the broker's certificate and host name (false: testing only)."
    )


class BrokerConfig(_Strict):
    host: str = Field("127.0.0.1", min_length=1, description="MQTT broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description="MQTT broker TCP port.")
    tls: TlsConfig = Field(default_factory=TlsConfig, description="TLS to the broker.")
    username: str | None = Field(None, description="User name; none: connect anonymously.")
    password: SecretStr | None = Field(
        None, description="Password (use ${NAME} to read it from the environment); never logged."
    )
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keepalive interval, seconds.")
    reconnect_min_s: int = Field(
        1, ge=1, description="First wait before reconnecting after a lost connection, seconds."
    )
    reconnect_max_s: int = Field(
        60, ge=1, description="Longest wait between reconnects (the wait doubles up to this)."
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> BrokerConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be at least reconnect_min_s")
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        return self

    def address(self) -> str:
        """host:port for logs (never the credentials)."""
        scheme = "mqtts" if self.tls.enabled else "mqtt"
        return f"{scheme}://{self.host}:{self.port}"
