"""Camera settings changed at run time (thresholds, zones, masks, budget): stored, applied,
restored.

The API validates a change with `CameraSettingsConfig`, the model the YAML's cameras use, stores
it in the `camera_settings` table and applies it to the running box at once: the analyzer's
zones and rate control (query, target), the fixed threshold and the masks in every reply (the
node applies them before its next frame), the camera's uplink budget.
At start the stored settings win over the YAML's, so an edit survives a restart.
"""

from __future__ import annotations

import json
import logging
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select

from appliance.edge.config import CameraSettingsConfig, EdgeConfig
from appliance.edge.store.schema import CameraSettingsRecord
from appliance.edge.store.sessions import read_session, write_session
from cameras.config import DifferenceFilterConfig
from cameras.config_checks import describe_validation_error
from pipelines.feedback import QueryController
from pipelines.frame_difference import Image
from pipelines.masks import MaskPolygons, PrivacyMask

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
    wanted = new_controller(box.config, settings)
    current = analyzer.controller
    if wanted is None or current is None or wanted.settings != current.settings:
        analyzer.set_controller(wanted)  # an unchanged query keeps what it learnt
    box.site_uplink.set_fixed(camera_id, settings.budget_bytes_per_s)


def new_controller(config: EdgeConfig, camera: CameraSettingsConfig) -> QueryController | None:
    """The camera's rate controller: none for a fixed threshold or with control off."""
    if camera.difference_threshold is not None:
        return None
    initial = DifferenceFilterConfig().threshold
    return config.filter_control.controller(initial, camera.query, camera.accuracy_target)


def query_status(box: EdgeBox, camera_id: str) -> dict[str, Any]:
    """The camera's query, its target and the accuracy the edge estimates it holds, the
    threshold and skip share it asks for (fixed threshold or control off: no query), how
    often it asked for fewer frames because the camera dropped some it chose (`backoffs`),
    and whether the camera follows the tracked objects between its frames (`follows_boxes`)."""
    controller = box.analyzers[camera_id].controller
    fixed = box.cameras[camera_id].difference_threshold
    if controller is None:
        return {
            "query": None,
            "accuracy_target": None,
            "estimated_accuracy": None,
            "difference_threshold": fixed,
            "skip_share": 0.0,
            "backoffs": 0,
            "follows_boxes": None,
        }
    return {
        "query": controller.query.value,
        "accuracy_target": controller.settings.accuracy_target,
        "estimated_accuracy": controller.accuracy,
        "difference_threshold": controller.threshold,
        "skip_share": controller.skip,
        "backoffs": controller.backoffs,
        "follows_boxes": controller.followed,
    }


def restore_settings(box: EdgeBox) -> None:
    """At start: the YAML's budgets, then every stored change over the YAML's settings."""
    for camera_id, camera in box.cameras.items():
        box.site_uplink.set_fixed(camera_id, camera.budget_bytes_per_s)
    for camera_id, settings in stored_settings(box).items():
        apply_settings(box, camera_id, settings)
        log.info("camera %s: settings changed through the API restored", camera_id)


def paint_privacy(box: EdgeBox, camera_id: str, image: Image) -> Image:
    """The camera's privacy masks painted on a picture it sent, again on the edge: a node
    learns the edge's masks from its first reply, so its first frame left unpainted (the
    node's own masks are painted from its first frame)."""
    return _privacy_mask(box.cameras[camera_id].masks.polygons()).apply_privacy(image)


@lru_cache(maxsize=64)
def _privacy_mask(polygons: MaskPolygons) -> PrivacyMask:
    return PrivacyMask(polygons.privacy)
