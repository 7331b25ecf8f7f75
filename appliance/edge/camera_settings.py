"""Camera settings changed at run time (thresholds, zones, budget): stored, applied, restored.

The API validates a change with `CameraSettingsConfig`, the model the YAML's cameras use, stores
it in the `camera_settings` table and applies it to the running box at once: the analyzer's
zones and threshold control, the fixed threshold in every reply, the camera's uplink budget.
At start the stored settings win over the YAML's, so an edit survives a restart.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import select

from appliance.edge.config import CameraSettingsConfig, EdgeConfig
from appliance.edge.store.schema import CameraSettingsRecord
from appliance.edge.store.sessions import read_session, write_session
from cameras.config import DifferenceFilterConfig
from cameras.config_checks import describe_validation_error
from pipelines.feedback import ThresholdController

if TYPE_CHECKING:
    from appliance.edge.box import EdgeBox

log = logging.getLogger(__name__)


def stored_settings(box: EdgeBox) -> dict[str, CameraSettingsConfig]:
    """Settings saved through the API, by camera id (cameras no longer configured skipped)."""
    with read_session(box.database, "read camera settings") as session:
        records = list(session.scalars(select(CameraSettingsRecord)))
    found = {}
    for record in records:
        if record.camera_id not in box.cameras:
            continue
        try:
            found[record.camera_id] = CameraSettingsConfig.model_validate_json(record.settings)
        except ValidationError as exc:
            reason = describe_validation_error(exc)
            log.warning("camera %s: stored settings ignored (%s)", record.camera_id, reason)
    return found


def save_settings(box: EdgeBox, camera_id: str, settings: CameraSettingsConfig) -> None:
    payload = json.dumps(settings.model_dump(mode="json"), sort_keys=True)
    record = CameraSettingsRecord(camera_id=camera_id, settings=payload, updated_at=time.time())
    with write_session(box.database, f"save settings of camera {camera_id}") as session:
        session.merge(record)


def apply_settings(box: EdgeBox, camera_id: str, settings: CameraSettingsConfig) -> None:
    """Make `settings` the camera's settings in the running box, from its next frame on."""
    camera = box.cameras[camera_id]
    box.cameras[camera_id] = camera.model_copy(update=dict(settings))
    analyzer = box.analyzers[camera_id]
    analyzer.set_zones([z.zone() for z in settings.zones])
    if settings.difference_threshold is not None:
        analyzer.set_controller(None)
    elif analyzer.controller is None:
        analyzer.set_controller(new_controller(box.config))
    box.site_uplink.set_fixed(camera_id, settings.budget_bytes_per_s)


def new_controller(config: EdgeConfig) -> ThresholdController | None:
    if not config.filter_control.enabled:
        return None
    return ThresholdController(config.filter_control.settings(DifferenceFilterConfig().threshold))


def restore_settings(box: EdgeBox) -> None:
    """At start: the YAML's budgets, then every stored change over the YAML's settings."""
    for camera_id, camera in box.cameras.items():
        box.site_uplink.set_fixed(camera_id, camera.budget_bytes_per_s)
    for camera_id, settings in stored_settings(box).items():
        apply_settings(box, camera_id, settings)
        log.info("camera %s: settings changed through the API restored", camera_id)
