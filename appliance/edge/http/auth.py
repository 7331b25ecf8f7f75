"""Who may call the edge API: camera nodes by their camera's token, readers (UIs, tools) by the
viewer or the admin (API) token, changes by the admin token only, and a browser's live view by a
short-lived viewer ticket (see live_view.py).

A camera id that does not exist is refused exactly as a wrong token is, so no one without a
token learns which camera ids the box has.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from fastapi import Header, HTTPException

from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeCameraConfig
from appliance.edge.http.frame_checks import RejectedFrame

WRONG_CAMERA_TOKEN = "missing or wrong camera token"


class Role(Enum):
    VIEWER = "viewer"
    ADMIN = "admin"


@dataclass(frozen=True)
class ViewerGrant:
    """What let a viewer in: a token (no end) or a ticket that ends at `expires_at`."""

    expires_at: float | None = None
    redacted: bool = False
    """The viewer gets pictures with people redacted (privacy.redact.viewers)."""

    def seconds_left(self, limit_s: float) -> float:
        """How long a stream of this viewer may run, at most `limit_s`."""
        if self.expires_at is None:
            return limit_s
        return max(0.0, min(limit_s, self.expires_at - time.time()))


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
        # Counted apart in the stats for the operator; answered as a wrong token.
        raise RejectedFrame(401, "unknown_camera", WRONG_CAMERA_TOKEN)
    if not box.token_matches(camera.token.get_secret_value(), bearer(authorization)):
        raise RejectedFrame(401, "unauthorised", WRONG_CAMERA_TOKEN)
    return camera


def role_of(box: EdgeBox, authorization: str | None) -> Role | None:
    """What the presented token allows: everything on a box with no api_token (loopback only),
    reading with the viewer token, everything with the api_token; None: nothing."""
    admin = box.config.api_token
    if admin is None:
        return Role.ADMIN
    presented = bearer(authorization)
    if box.token_matches(admin.get_secret_value(), presented):
        return Role.ADMIN
    viewer = box.config.access.viewer_token
    if viewer is not None and box.token_matches(viewer.get_secret_value(), presented):
        return Role.VIEWER
    return None


def reader_check(box: EdgeBox) -> Callable[[str | None], None]:
    """A FastAPI dependency: the viewer or the admin token, when the edge config sets one."""

    def check(authorization: str | None = Header(None)) -> None:
        if role_of(box, authorization) is None:
            raise HTTPException(401, "missing or wrong API token")

    return check


def admin_check(box: EdgeBox) -> Callable[[str | None], None]:
    """A FastAPI dependency for changes: the admin (API) token only."""

    def check(authorization: str | None = Header(None)) -> None:
        role = role_of(box, authorization)
        if role is None:
            raise HTTPException(401, "missing or wrong API token")
        if role is not Role.ADMIN:
            raise HTTPException(403, "this token may only read: changes need the api_token")

    return check
