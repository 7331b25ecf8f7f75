"""Configs the appliance writes for its child processes (benchmarks, the demo) carry camera
tokens, the API token and the database URL: only their owner may read them, and they load
back as written."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.config_loader import load_config, write_config
from appliance.edge.config import EdgeConfig

TOKEN = "child-s3cr3t-token-value"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask under which plain writes are readable by everyone."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def content() -> dict[str, object]:
    return {
        "database_url": "postgresql+psycopg://appliance:db-s3cr3t@127.0.0.1/appliance",
        "cameras": [{"id": "cam0", "token": TOKEN}],
    }


def test_a_child_config_is_readable_by_its_owner_only(tmp_path: Path, open_umask: None) -> None:
    path = write_config(tmp_path / "edge.yaml", content())
    assert mode(path) == 0o600
    config = load_config(path, EdgeConfig)
    assert config.cameras[0].token.get_secret_value() == TOKEN


def test_rewriting_a_readable_file_makes_it_private(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("cameras: []\n")
    assert mode(path) == 0o644
    write_config(path, content())
    assert mode(path) == 0o600
    assert TOKEN in path.read_text()
