"""What every page gets: the UI config (read once per process) and an edge client."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from appliance.config_loader import load_config
from ui.client import EdgeClient
from ui.config import CONFIG_ENV, UiConfig


@dataclass(frozen=True)
class Context:
    config: UiConfig
    client: EdgeClient


@st.cache_resource
def _config(path: str | None) -> UiConfig:
    return UiConfig() if path is None else load_config(Path(path), UiConfig)


def context() -> Context:
    """The UI config named by APPLIANCE_UI_CONFIG (set by `appliance ui`), else defaults."""
    config = _config(os.environ.get(CONFIG_ENV))
    token = config.api_token.get_secret_value() if config.api_token else None
    return Context(config, EdgeClient(config.edge_url, token))
