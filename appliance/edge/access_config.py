"""Who may reach the edge API and how: its address and connection limits, read-only viewers,
the browser origins allowed to call it, and how long a live-view ticket lives."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from cameras.config_checks import StrictConfig


class ListenConfig(StrictConfig):
    host: str = Field("127.0.0.1", description="Address the edge API binds to.")
    port: int = Field(8080, ge=1, le=65535, description="TCP port of the edge API.")
    max_connections: int = Field(
        512,
        ge=8,
        le=65_536,
        description="Open connections served at once; more are closed as soon as accepted, so"
        " a flood of idle sockets cannot use up the process's file descriptors.",
    )
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Seconds a new connection may take to send its request line and headers"
        " before it is closed (half-open and slow clients would otherwise hold a slot forever).",
    )


class AccessConfig(StrictConfig):
    viewer_token: SecretStr | None = Field(
        None,
        min_length=8,
        description="Read-only token: stats, events, snapshots, settings and the live view, but"
        " no changes (api_token reads and changes).",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Web origins whose pages may call the API from a browser, as"
        " scheme://host:port (the UI's address, for its live view).",
    )
    viewer_ticket_s: float = Field(
        300.0,
        ge=10,
        le=86_400,
        description="Lifetime of a live-view ticket, seconds; a stream opened with a ticket"
        " ends when the ticket does.",
    )

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            parts = urlsplit(origin)
            if origin == "*" or parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"{origin!r} is not an origin such as http://192.168.1.20:8501")
            if parts.path not in ("", "/") or parts.query or parts.fragment:
                raise ValueError(f"{origin!r}: an origin has no path")
        return [o.rstrip("/") for o in origins]
