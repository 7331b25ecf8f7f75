"""Camera page: the latest annotated frame, the settings and Edgent plan in force, the live view,
the settings form, and the editor that draws zones and masks on the picture."""

from __future__ import annotations

import json
import time
from typing import Any

import streamlit as st

from ui import format as fmt
from ui import plan, polygon_editor
from ui.client import EdgeClient, EdgeError, ViewerTicket
from ui.context import Context
from ui.viewer import ViewerSettings, live_view

TICKET_MARGIN_S = 90.0
"""A viewer ticket (300 s on the edge by default) is reused until this long before it ends, so
reruns keep the player; then the player restarts with a new one before the edge ends it."""
TICKET_CHECK_S = 30.0
SAVED_KEY = "settings_saved"
EDGE_DEFAULT = "edge default"
QUERIES = ("events", "counts", "boxes")
"""The edge's queries (`filter_control.query`): the UI imports nothing of the edge."""


def render(ctx: Context) -> None:
    st.title("Camera")
    try:
        rows = {c["id"]: c for c in ctx.client.stats()["cameras"]}
    except EdgeError as exc:
        st.error(str(exc))
        return
    cameras = list(rows)
    wanted = st.query_params.get("camera")
    index = cameras.index(wanted) if wanted in cameras else 0
    camera = st.selectbox("Camera", cameras, index=index, key="camera_id")
    if camera is None:
        st.info("The edge box has no cameras.")
        return
    try:
        view = ctx.client.settings(camera)
    except EdgeError as exc:
        st.error(str(exc))
        return
    left, right = st.columns([3, 2])
    with left:
        _latest_frame(ctx, camera)
    with right:
        _in_force(view)
    plan.render(rows[camera])
    st.subheader("Live view")
    mjpeg = st.toggle("MJPEG instead of WebRTC", key="viewer_mjpeg")
    _live_view(ctx, camera, mjpeg)
    _edit_form(ctx.client, camera, view["settings"])
    polygon_editor.render(ctx.client, camera)


def _live_view(ctx: Context, camera: str, mjpeg: bool) -> None:
    @st.fragment(run_every=TICKET_CHECK_S)
    def player() -> None:
        try:
            ticket = _ticket(ctx.client, camera)
        except EdgeError as exc:
            st.error(str(exc))
            return
        live_view(ViewerSettings(ctx.config.viewer_edge_url, camera, ticket, mjpeg))

    player()


def _ticket(client: EdgeClient, camera: str) -> str | None:
    key = f"viewer_ticket_{camera}"
    cached: ViewerTicket | None = st.session_state.get(key)
    if cached is None or (cached.ticket and cached.expires_at - time.time() < TICKET_MARGIN_S):
        cached = client.viewer_ticket(camera)
        st.session_state[key] = cached
    return cached.ticket


def _latest_frame(ctx: Context, camera: str) -> None:
    @st.fragment(run_every=ctx.config.refresh_s)
    def latest() -> None:
        st.subheader("Latest annotated frame")
        try:
            jpeg = ctx.client.frame(camera)
        except EdgeError as exc:
            st.error(str(exc))
            return
        if jpeg is None:
            st.info("No frame analysed for this camera yet.")
        else:
            st.image(jpeg, caption=f"{camera}: boxes, track ids and zones as analysed")

    latest()


def _in_force(view: dict[str, Any]) -> None:
    st.subheader("In force")
    in_force = view["in_force"]
    mode = "adaptive" if in_force["adaptive"] else "fixed"
    if in_force["query"] is not None:
        st.metric(
            f"Query: {in_force['query']} (target {fmt.number(in_force['accuracy_target'], 2)})",
            fmt.number(in_force["estimated_accuracy"], 3),
            help="Accuracy the edge estimates it holds for this query between frames",
        )
        st.metric("Changed frames skipped", fmt.number(in_force["skip_share"], 2))
        st.metric(
            "Follows tracked objects",
            "yes" if in_force.get("follows_boxes") else "no",
            help="The camera follows the objects the edge tracks through every frame and says"
            " where they went (box_motion): events need sparser frames",
        )
    st.metric(f"Difference threshold ({mode})", fmt.number(in_force["difference_threshold"], 4))
    st.metric("Uplink budget", fmt.rate(in_force["budget_bytes_per_s"]))
    zones = view["settings"]["zones"]
    st.metric("Zones", len(zones))
    for zone in zones:
        st.caption(f"{zone['name']}: {len(zone['points'])} corners")


def _edit_form(client: EdgeClient, camera: str, settings: dict[str, Any]) -> None:
    st.subheader("Change settings")
    if st.session_state.pop(SAVED_KEY, None) == camera:
        st.success("Saved: the edge applies the new settings from the camera's next frame.")
    with st.form(f"settings_{camera}"):
        adaptive = st.checkbox(
            "Adaptive difference threshold", settings["difference_threshold"] is None
        )
        queries = [EDGE_DEFAULT, *QUERIES]
        query = st.selectbox(
            "Query (what users ask of this camera)",
            queries,
            index=queries.index(settings.get("query") or EDGE_DEFAULT),
        )
        target = st.number_input(
            "Accuracy target (0: the query's default)",
            min_value=0.0,
            max_value=1.0,
            value=float(settings.get("accuracy_target") or 0.0),
            step=0.01,
        )
        threshold = st.number_input(
            "Fixed difference threshold (0-1)",
            value=float(settings["difference_threshold"] or 0.01),
            format="%.4f",
            step=0.001,
        )
        budget = st.number_input(
            "Fixed uplink budget, bytes/s (0: share of the site's uplink)",
            value=float(settings["budget_bytes_per_s"] or 0),
            step=1000.0,
        )
        with st.expander("Zones and masks as JSON (drawing them below is easier)"):
            polygons = {
                "zones": st.text_area(
                    'Zones (JSON: [{"name": ..., "points": [[x, y], ...]}])',
                    json.dumps(settings["zones"]),
                    height=120,
                ),
                "masks": st.text_area(
                    'Masks (JSON: {"motion": [[[x, y], ...], ...], "privacy": [...]})',
                    json.dumps(settings.get("masks", {})),
                    height=120,
                ),
            }
        if st.form_submit_button("Save"):
            body = {
                "difference_threshold": None if adaptive else threshold,
                "query": None if query == EDGE_DEFAULT else query,
                "accuracy_target": target or None,
                "budget_bytes_per_s": budget or None,
            }
            _save(client, camera, body, polygons)


def _save(client: EdgeClient, camera: str, body: dict[str, Any], polygons: dict[str, str]) -> None:
    for field, text in polygons.items():
        try:
            body[field] = json.loads(text or ("[]" if field == "zones" else "{}"))
        except json.JSONDecodeError as exc:
            st.error(f"{field}: not JSON ({exc.msg} at character {exc.pos})")
            return
    try:
        client.put_settings(camera, body)
    except EdgeError as exc:
        st.error(f"Not saved: {exc}")
        return
    st.session_state[SAVED_KEY] = camera
    st.rerun()
