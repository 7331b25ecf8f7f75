"""The edge box's HTTP API as the UI uses it; every failure becomes one readable EdgeError."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


class EdgeError(Exception):
    """The edge could not be reached or refused; str() says which, without the token."""


@dataclass(frozen=True)
class ViewerTicket:
    ticket: str | None
    expires_at: float
    """Epoch seconds; a stream opened with the ticket ends then."""


@dataclass
class EdgeClient:
    base_url: str
    token: str | None = field(default=None, repr=False)
    timeout_s: float = 10.0

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._get("/api/v1/stats").json()
        return result

    def events(
        self,
        camera: str | None = None,
        label: str | None = None,
        zone: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        params = {"camera": camera, "label": label, "zone": zone, "since": since, "limit": limit}
        rows: list[dict[str, Any]] = self._get("/api/v1/events", params).json()
        return rows

    def snapshot(self, event_id: str) -> bytes | None:
        return self._bytes(f"/api/v1/events/{event_id}/snapshot.jpg")

    def counts(self, camera: str, since: float, bucket_s: int = 60) -> list[dict[str, Any]]:
        params = {"since": since, "bucket_s": bucket_s}
        rows: list[dict[str, Any]] = self._get(f"/api/v1/cameras/{camera}/counts", params).json()
        return rows

    def settings(self, camera: str) -> dict[str, Any]:
        view: dict[str, Any] = self._get(f"/api/v1/cameras/{camera}/settings").json()
        return view

    def put_settings(self, camera: str, body: dict[str, Any]) -> dict[str, Any]:
        """The new settings view; EdgeError with the edge's `field: reason` when refused."""
        response = self._call("PUT", f"/api/v1/cameras/{camera}/settings", json=body)
        view: dict[str, Any] = response.json()
        return view

    def frame(self, camera: str, annotated: bool = True) -> bytes | None:
        """The latest analysed frame (JPEG), annotated or with nothing drawn on it; None before
        the camera sent one."""
        params = None if annotated else {"annotated": "false"}
        return self._bytes(f"/api/v1/cameras/{camera}/frame.jpg", params)

    def viewer_ticket(self, camera: str) -> ViewerTicket:
        """A short-lived ticket for the browser's live view (its `ticket` None: the edge needs
        none)."""
        body = self._call("POST", f"/api/v1/cameras/{camera}/viewer-ticket").json()
        return ViewerTicket(ticket=body["ticket"], expires_at=float(body["expires_at"]))

    def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return self._call("GET", path, params=clean)

    def _bytes(self, path: str, params: dict[str, Any] | None = None) -> bytes | None:
        try:
            return self._get(path, params).content
        except EdgeError as exc:
            if "(404)" in str(exc):
                return None
            raise

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            with httpx.Client(base_url=self.base_url, timeout=self.timeout_s) as client:
                response = client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise EdgeError(f"edge box at {self.base_url} not reachable: {exc}") from None
        if response.status_code >= 400:
            raise EdgeError(f"{_detail(response)} ({response.status_code})")
        return response


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if response.status_code == 401:
        return "the edge refused the API token: set api_token in the UI config"
    return str(detail) if detail else response.reason_phrase
