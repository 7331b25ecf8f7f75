"""What UIs and tools read: health, stats, counts per camera, events and their snapshots
(redacted for the viewer token when `privacy.redact.viewers` is on)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Response
from fastapi.responses import FileResponse

from appliance.edge.box import EdgeBox
from appliance.edge.camera_settings import query_status
from appliance.edge.http.auth import shown
from appliance.edge.http.redacted_pictures import redacted_for, redacted_snapshot
from cameras.process_memory import memory_snapshot


def add_reads(app: FastAPI, box: EdgeBox, reader: Callable[[str | None], None]) -> None:
    guarded = [Depends(reader)]

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/stats", dependencies=guarded)
    def stats() -> dict[str, Any]:
        cameras = box.store.camera_stats()
        plans = box.plans.snapshot(c.id for c in cameras)
        return {
            "edge": {
                **box.stats.snapshot(),
                "scheduler": box.scheduler.snapshot(),
                "memory": memory_snapshot(),
            },
            "detector": box.detector.snapshot(),
            "inputs": box.inputs.snapshot(),
            "store": dataclasses.asdict(box.store.totals()),
            "retention": box.retention.snapshot(),
            "cameras": [
                {**dataclasses.asdict(c), "plan": plans[c.id], "control": _control(box, c.id)}
                for c in cameras
            ],
            "uplink": {
                "capacity_bytes_per_s": box.site_uplink.capacity,
                "cameras": box.site_uplink.snapshot(),
            },
            "cloud": box.cloud.snapshot() if box.cloud else {"enabled": False},
        }

    @app.get("/api/v1/cameras/{camera_id}/counts", dependencies=guarded)
    def counts(
        camera_id: str,
        since: float | None = None,
        until: float | None = None,
        bucket_s: int = Query(60, ge=1, le=86_400),
    ) -> list[dict[str, Any]]:
        """Objects per analysed frame over time (default: the last hour, by minute)."""
        if box.camera(camera_id) is None:
            raise HTTPException(404, f"unknown camera {shown(camera_id)}")
        end = time.time() if until is None else until
        start = end - 3600 if since is None else since
        rows = box.store.counts(camera_id, start, end, bucket_s)
        return [dataclasses.asdict(r) for r in rows]

    @app.get("/api/v1/events", dependencies=guarded)
    def events(
        camera: str | None = None,
        label: str | None = None,
        since: float | None = None,
        zone: str | None = None,
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[dict[str, Any]]:
        rows = box.store.list_events(
            camera_id=camera, label=label, since=since, limit=limit, zone=zone
        )
        return [dataclasses.asdict(r) for r in rows]

    @app.get("/api/v1/events/{event_id}", dependencies=guarded)
    def event(event_id: str) -> dict[str, Any]:
        row = box.store.get_event(event_id)
        if row is None:
            raise HTTPException(404, f"unknown event {shown(event_id)}")
        return dataclasses.asdict(row)

    @app.get("/api/v1/events/{event_id}/snapshot.jpg", dependencies=guarded)
    def snapshot(event_id: str, authorization: str | None = Header(None)) -> Response:
        row = box.store.get_event(event_id)
        missing = HTTPException(404, f"no snapshot for event {shown(event_id)}")
        if row is None or row.snapshot is None or box.snapshots is None:
            raise missing
        path = box.snapshots.path(row.snapshot)
        if not path.is_file():  # removed by retention while this was asked
            raise missing
        if redacted_for(box, authorization):
            jpeg = redacted_snapshot(box, row, path)
            if jpeg is None:
                raise missing
            return Response(jpeg, media_type="image/jpeg")
        return FileResponse(path, media_type="image/jpeg")


def _control(box: EdgeBox, camera_id: str) -> dict[str, Any] | None:
    """The camera's query control (None: a camera the config no longer has)."""
    return query_status(box, camera_id) if camera_id in box.analyzers else None
