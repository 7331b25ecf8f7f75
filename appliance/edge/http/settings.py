"""`GET/PUT /api/v1/cameras/{id}/settings`: a camera's query, thresholds, zones, masks and
budget.

PUT (the admin token only) replaces the camera's settings (a field left out takes its default),
validated by the YAML's model: a bad value is answered 422 with `field.path: reason`, as a
config file error reads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from appliance.edge.box import EdgeBox
from appliance.edge.camera_config import polygons_outside
from appliance.edge.camera_settings import apply_settings, query_status, save_settings
from appliance.edge.config import CameraSettingsConfig
from appliance.edge.http.auth import shown
from appliance.edge.http.frame_checks import store_refusal
from appliance.edge.http.json_bodies import json_body
from appliance.edge.store import StoreError
from cameras.config_checks import describe_validation_error

log = logging.getLogger(__name__)


def add_camera_settings(
    app: FastAPI, box: EdgeBox, reader: Callable[..., None], admin: Callable[..., None]
) -> None:
    # Save-then-apply as one step: two PUTs at once must not leave one's settings stored and
    # the other's in force.
    changing = threading.Lock()

    @app.get("/api/v1/cameras/{camera_id}/settings", dependencies=[Depends(reader)])
    def get_settings(camera_id: str) -> dict[str, Any]:
        return settings_view(box, camera_id)

    @app.put(
        "/api/v1/cameras/{camera_id}/settings",
        dependencies=[Depends(admin)],
        openapi_extra=json_body(CameraSettingsConfig),
    )
    async def put_settings(camera_id: str, request: Request) -> dict[str, Any]:
        # The body is read only once the token passed (no Body parameter: FastAPI would parse
        # it before the dependency), and is capped by BodyLimit.
        _known(box, camera_id)
        try:
            settings = CameraSettingsConfig.model_validate_json(await request.body())
        except ValidationError as exc:
            raise HTTPException(422, describe_validation_error(exc)) from None
        outside = polygons_outside(settings, box.cameras[camera_id].max_frame_size)
        if outside is not None:
            raise HTTPException(422, outside)
        return await run_in_threadpool(_apply, camera_id, settings)

    def _apply(camera_id: str, settings: CameraSettingsConfig) -> dict[str, Any]:
        with changing:
            try:
                save_settings(box, camera_id, settings)
            except StoreError as exc:
                raise store_refusal("settings", exc) from None
            apply_settings(box, camera_id, settings)
        log.info("camera %s: settings changed through the API", camera_id)
        return settings_view(box, camera_id)


def _known(box: EdgeBox, camera_id: str) -> None:
    if box.camera(camera_id) is None:
        raise HTTPException(404, f"unknown camera {shown(camera_id)}")


def settings_view(box: EdgeBox, camera_id: str) -> dict[str, Any]:
    """The camera's settings, and the threshold and budget in force now."""
    _known(box, camera_id)
    settings = box.cameras[camera_id].settings()
    control = query_status(box, camera_id)
    return {
        "settings": settings.model_dump(mode="json"),
        "in_force": {
            **control,
            "adaptive": control["query"] is not None,
            "budget_bytes_per_s": box.site_uplink.budget(camera_id),
        },
    }
