"""The monitoring UI's config (`appliance ui --config ui.yaml`), read by the launcher and by the
Streamlit app itself (the file's path in APPLIANCE_UI_CONFIG)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from appliance.config_loader import is_loopback

CONFIG_ENV = "APPLIANCE_UI_CONFIG"


class UiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    edge_url: str = Field(
        "http://127.0.0.1:8080",
        description="Base URL of the edge box's HTTP API, as this host reaches it.",
    )
    browser_edge_url: str | None = Field(
        None,
        description="The edge API's URL as the viewer's browser reaches it (live view over"
        " WebRTC or MJPEG); default: edge_url.",
    )
    api_token: SecretStr | None = Field(
        None, description="The edge's api_token (use ${VAR} to take it from the environment)."
    )
    refresh_s: float = Field(5.0, ge=1.0, le=300.0, description="Seconds between refreshes.")
    host: str = Field("127.0.0.1", description="Address the UI's web server binds to.")
    port: int = Field(8501, ge=1, le=65535, description="TCP port of the UI's web server.")
    password: SecretStr | None = Field(
        None,
        min_length=8,
        description="Password the UI asks for before it shows anything (use ${VAR}); required"
        " when host serves the network, since the UI holds the edge's token for its users.",
    )

    @field_validator("edge_url", "browser_edge_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return None if url is None else url.rstrip("/")

    @model_validator(mode="after")
    def _network_needs_a_password(self) -> UiConfig:
        if self.password is None and not is_loopback(self.host):
            raise ValueError(
                f"host {self.host} serves the network: set password (the UI then asks for it)"
                " or listen on 127.0.0.1"
            )
        return self

    @property
    def viewer_edge_url(self) -> str:
        return self.browser_edge_url or self.edge_url
