"""The user's edge YAML for a benchmark that starts its own `appliance edge` process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

BENCH_CAMERA = {"id": "cam0", "token": "bench-token-0"}
"""Stands in for the cameras while checking: the benchmark sets its own."""


def edge_yaml(path: Path | None) -> dict[str, Any]:
    """The settings in `path` (none: {}), checked first, so that a bad file is named in one
    line here rather than by an edge process that will not start. The benchmark sets the
    cameras, address and store itself, over these."""
    if path is None:
        return {}
    from appliance.config_loader import load_config
    from appliance.edge.config import EdgeConfig

    load_config(path, EdgeConfig, missing={"cameras": [BENCH_CAMERA]})
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return loaded
