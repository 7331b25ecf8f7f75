"""Names that identify things in a config (zones, Edgent exits) must be unique, and a repeat is
named in the error, in both roles' config models."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from appliance.edge.config import CameraSettingsConfig
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
