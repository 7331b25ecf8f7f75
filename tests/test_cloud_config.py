"""The cloud settings: the example worker config and the edge section in docs/cloud.md load;
bad values stop with one line that names the field; passwords never show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from appliance.cloud.config import CloudWorkerConfig
from appliance.config_loader import ConfigError, load_config
from appliance.edge.config import EdgeConfig
from appliance.edge.outbox.config import CloudUplinkConfig

ROOT = Path(__file__).resolve().parent.parent


def test_example_worker_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_DATABASE_URL", "postgresql+psycopg://cloud:pw@db/fleet")
    config = load_config(ROOT / "configs" / "cloud.yaml", CloudWorkerConfig)
    assert config.subscription() == "$share/appliance-cloud/appliance/+/+/+"
    assert "pw" not in repr(config)


def test_edge_example_in_docs_validates() -> None:
    text = (ROOT / "docs" / "cloud.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# edge.yaml.*?)```", text, re.S)
    assert block is not None, "docs/cloud.md lost its edge.yaml example"
    config = EdgeConfig.model_validate(yaml.safe_load(block.group(1)))
    assert config.cloud.enabled and not config.cloud.thumbnails
    assert config.cloud.broker.password is not None
    assert "never-shown" not in repr(config)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"broker": {"port": 0}}, "cloud.broker.port: Input should be greater than or equal to 1"),
        ({"broker": {"password": "x"}}, "cloud.broker: a password needs a username"),
        ({"site_id": "a/b"}, "cloud.site_id: String should match pattern"),
        ({"topic_prefix": "a/#"}, "cloud.topic_prefix: String should match pattern"),
        ({"qos": 2}, "cloud.qos: unknown setting"),
        (
            {"max_bytes_per_minute": 2000, "max_message_bytes": 4096},
            "cloud: max_message_bytes must not exceed max_bytes_per_minute",
        ),
        (
            {"thumbnails": True, "thumbnail_max_bytes": 32768, "max_message_bytes": 16384},
            "cloud: thumbnail_max_bytes does not fit in max_message_bytes",
        ),
    ],
)
def test_bad_cloud_section_is_one_clear_line(
    tmp_path: Path, section: dict[str, object], message: str
) -> None:
    path = tmp_path / "edge.yaml"
    config = {"cameras": [{"id": "c1", "token": "secret-token-1"}], "cloud": section}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, EdgeConfig)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_cloud_is_off_and_pixel_free_by_default() -> None:
    config = CloudUplinkConfig()
    assert not config.enabled and not config.thumbnails
    assert config.mqtt_client_id() == "appliance-edge-site"
