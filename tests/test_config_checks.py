"""Config rules beyond single fields: names that identify things (zones, Edgent exits) are unique,
and an edge box listening on the network has an API token."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from appliance.edge.config import CameraSettingsConfig, EdgeConfig
from appliance.edge.edgent_config import EdgeEdgentConfig
from cameras.edgent_config import CameraEdgentConfig

TRIANGLE = [(0, 0), (10, 0), (0, 10)]


def test_repeated_zone_names_are_named() -> None:
    zones = [{"name": n, "points": TRIANGLE} for n in ("door", "yard", "door")]
    with pytest.raises(ValidationError, match="zone names must be unique; repeated: door"):
        CameraSettingsConfig.model_validate({"zones": zones})
    assert len(CameraSettingsConfig.model_validate({"zones": zones[:2]}).zones) == 2


@pytest.mark.parametrize("model", [EdgeEdgentConfig, CameraEdgentConfig])
def test_repeated_exit_names_are_named(model: type[EdgeEdgentConfig | CameraEdgentConfig]) -> None:
    exits = [{"name": n, "model_path": f"{n}.onnx", "accuracy": 1.0} for n in ("a", "b", "a")]
    if model is EdgeEdgentConfig:
        exits = [{"name": e["name"], "model_path": e["model_path"]} for e in exits]
    with pytest.raises(ValidationError, match="exit names must be unique; repeated: a"):
        model.model_validate({"exits": exits})


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "edge.local"])
def test_an_edge_on_the_network_needs_an_api_token(host: str) -> None:
    cameras = [{"id": "door", "token": "door-token-123"}]
    with pytest.raises(ValidationError, match=f"listen.host {host} serves the network"):
        EdgeConfig.model_validate({"listen": {"host": host}, "cameras": cameras})
    guarded = {"listen": {"host": host}, "api_token": "api-token-123456", "cameras": cameras}
    assert EdgeConfig.model_validate(guarded).listen.host == host
    for loopback in ("127.0.0.1", "::1", "localhost"):
        assert EdgeConfig.model_validate({"listen": {"host": loopback}, "cameras": cameras})


def test_a_zone_outside_the_cameras_configured_frame_is_named() -> None:
    zone = {"name": "road", "points": [[0, 0], [800, 0], [800, 100]]}
    camera = {"id": "door", "token": "door-token-1", "zones": [zone]}
    with pytest.raises(ValidationError, match=r"zones\.0\.points\.1: \(800, 0\) lies outside"):
        EdgeConfig.model_validate({"cameras": [{**camera, "max_frame_size": [768, 576]}]})
    assert EdgeConfig.model_validate({"cameras": [camera]}).cameras[0].zones  # no size: any
