"""Events: a filterable table (camera, label, zone, time), snapshots, counts per camera."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import streamlit as st

from ui import format as fmt
from ui.client import EdgeClient, EdgeError
from ui.context import Context

SINCE = {"last hour": 3600.0, "last 24 hours": 86_400.0, "last 7 days": 7 * 86_400.0, "all": None}
SNAPSHOTS_SHOWN = 8


def render(ctx: Context) -> None:
    st.title("Events")
    try:
        cameras = [c["id"] for c in ctx.client.stats()["cameras"]]
        rows = _filtered_events(ctx.client, cameras)
    except EdgeError as exc:
        st.error(str(exc))
        return
    st.metric("Events shown", len(rows))
    if rows:
        st.dataframe(event_table(rows), hide_index=True, width="stretch")
        _snapshots(ctx.client, rows)
    else:
        st.info("No events match these filters.")
    try:
        _counts(ctx.client, cameras, rows)
    except EdgeError as exc:
        st.error(str(exc))


def _filtered_events(client: EdgeClient, cameras: list[str]) -> list[dict[str, Any]]:
    columns = st.columns(5)
    camera = columns[0].selectbox("Camera", ["all", *cameras], key="events_camera")
    label = columns[1].text_input("Label", key="events_label", placeholder="person")
    zone = columns[2].text_input("Zone", key="events_zone")
    since = columns[3].selectbox("Since", list(SINCE), index=3, key="events_since")
    limit = columns[4].number_input("At most", 1, 1000, 100, key="events_limit")
    window = SINCE[since]
    return client.events(
        camera=None if camera == "all" else camera,
        label=label.strip() or None,
        zone=zone.strip() or None,
        since=None if window is None else time.time() - window,
        limit=int(limit),
    )


def event_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "started": fmt.clock(r["started_at"]),
            "camera": r["camera_id"],
            "label": r["label"],
            "track": r["track_id"],
            "zones": ", ".join(r["zones"]),
            "seconds": round(r["last_seen_at"] - r["started_at"], 1),
            "confidence": round(r["best_confidence"], 2),
            "open": r["ended_at"] is None,
            "snapshot": bool(r["snapshot"]),
        }
        for r in rows
    )


def _snapshots(client: EdgeClient, rows: list[dict[str, Any]]) -> None:
    with_snapshot = [r for r in rows if r["snapshot"]][:SNAPSHOTS_SHOWN]
    if not with_snapshot:
        return
    st.subheader("Snapshots")
    columns = st.columns(4)
    for index, row in enumerate(with_snapshot):
        jpeg = client.snapshot(row["id"])
        if jpeg is not None:
            caption = f"{row['camera_id']} · {row['label']} #{row['track_id']}"
            columns[index % 4].image(jpeg, caption=f"{caption} · {fmt.clock(row['started_at'])}")


def _counts(client: EdgeClient, cameras: list[str], rows: list[dict[str, Any]]) -> None:
    st.subheader("Events per camera")
    per_camera = pd.Series({c: sum(r["camera_id"] == c for r in rows) for c in cameras})
    st.bar_chart(per_camera.rename("events"))
    st.subheader("Objects per analysed frame, by minute (last hour)")
    since = time.time() - 3600
    series = {}
    for camera in cameras:
        buckets = client.counts(camera, since)
        index = [pd.Timestamp(b["start"], unit="s", tz="UTC") for b in buckets]
        series[camera] = pd.Series([b["mean"] for b in buckets], index=index, dtype=float)
    counts = pd.DataFrame(series)
    if counts.empty:
        st.caption("No frames analysed in the last hour.")
    else:
        st.line_chart(counts)
