"""Who may call the edge API: camera nodes by their camera's token, readers (UIs, tools) by the
API token, and a browser's live view by a short-lived viewer ticket (see live_view.py)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Header, HTTPException

from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeCameraConfig
from appliance.edge.http.frame_checks import RejectedFrame


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header (None: no such header)."""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def shown(camera_id: str) -> str:
    """A camera id as error messages quote it: never more than 64 characters of what came."""
    return repr(camera_id if len(camera_id) <= 64 else camera_id[:64] + "...")


def authenticate_camera(
    box: EdgeBox, camera_id: str, authorization: str | None
) -> EdgeCameraConfig:
    camera = box.camera(camera_id)
    if camera is None:
        raise RejectedFrame(404, "unknown_camera", f"unknown camera {shown(camera_id)}")
    if not box.token_matches(camera.token.get_secret_value(), bearer(authorization)):
        raise RejectedFrame(401, "unauthorised", "missing or wrong camera token")
    return camera


def reader_check(box: EdgeBox) -> Callable[[str | None], None]:
    """A FastAPI dependency: the API token, when the edge config sets one."""

    def check(authorization: str | None = Header(None)) -> None:
        token = box.config.api_token
        if token is not None and not box.token_matches(
            token.get_secret_value(), bearer(authorization)
        ):
            raise HTTPException(401, "missing or wrong API token")

    return check
