"""Overview: every camera's state, input, uplink savings, detector work, latency, queue."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ui import format as fmt
from ui import history, plan
from ui.client import EdgeError
from ui.context import Context

HISTORY_KEY = "overview_history"


def render(ctx: Context) -> None:
    st.title("Overview")
    st.caption(f"Edge box {ctx.config.edge_url}, refreshed every {ctx.config.refresh_s:g} s")

    @st.fragment(run_every=ctx.config.refresh_s)
    def live() -> None:
        try:
            stats = ctx.client.stats()
        except EdgeError as exc:
            st.error(str(exc))
            return
        samples = history.record(st.session_state.get(HISTORY_KEY, []), stats)
        st.session_state[HISTORY_KEY] = samples
        _detector(stats.get("detector"))
        _totals(stats)
        st.subheader("Cameras")
        st.table(camera_table(stats))
        _charts(stats, samples)

    live()


def detector_text(detector: dict[str, Any]) -> str:
    """One line on what the edge detects with, e.g. 'yolo-onnx yolov3-tiny-416.onnx, 416 px,
    fp32 on CPUExecutionProvider: person, car'."""
    if detector["kind"] == "hog":
        return "OpenCV HOG people detector: person"
    model = str(detector.get("model") or "").rsplit("/", 1)[-1]
    provider = (detector.get("providers") or ["?"])[0]
    return (
        f"{detector['kind']} {model}, {detector.get('input_size')} px,"
        f" {detector.get('precision')} on {provider}: {', '.join(detector.get('labels', []))}"
    )


def _detector(detector: dict[str, Any] | None) -> None:
    if not detector:
        return
    if detector.get("fallback"):
        st.warning(f"Detector fallback: {detector['fallback']}", icon="⚠️")
    st.caption(f"Detector: {detector_text(detector)}")


def _sum_inputs(stats: dict[str, Any], key: str) -> float:
    return float(sum(i.get(key) or 0 for i in stats.get("inputs", {}).values()))


def _totals(stats: dict[str, Any]) -> None:
    edge, scheduler = stats["edge"], stats["edge"]["scheduler"]
    read, sent = _sum_inputs(stats, "frames_read"), _sum_inputs(stats, "frames_sent")
    all_bytes = _sum_inputs(stats, "bytes_all_frames")
    saved = 1 - _sum_inputs(stats, "bytes_sent") / all_bytes if all_bytes else None
    row = st.columns(5)
    row[0].metric("Cameras", len(stats["cameras"]))
    row[1].metric("Frames read by cameras", fmt.number(read))
    row[2].metric("Frames sent", fmt.number(edge["frames_received"]))
    row[3].metric("Sent of input", fmt.percent(sent / read if read else None))
    row[4].metric("Uplink bytes saved", fmt.percent(saved))
    row = st.columns(5)
    row[0].metric("Detector calls", fmt.number(edge["detector_calls"]))
    row[1].metric("Cache hit rate", fmt.percent(edge["cache_hit_rate"]))
    row[2].metric("Latency p50", fmt.number(edge["latency_ms"]["p50"], unit="ms"))
    row[3].metric("Latency p95", fmt.number(edge["latency_ms"]["p95"], unit="ms"))
    row[4].metric("Events", fmt.number(stats["store"]["events"]))
    row = st.columns(5)
    row[0].metric("Frames analysed", fmt.number(edge["frames_analysed"]))
    row[1].metric("Queue depth", scheduler["queue_depth"])
    row[2].metric("Workers busy", f"{scheduler['running']} / {scheduler['workers']}")
    row[3].metric("Dropped work", fmt.number(sum(edge["dropped"].values())))
    row[4].metric("Frames refused", fmt.number(sum(edge["rejected"].values())))


def camera_table(stats: dict[str, Any]) -> pd.DataFrame:
    """One row per camera, as shown on the page."""
    per_camera = stats["edge"]["cameras"]
    inputs = stats.get("inputs", {})
    rows = []
    for camera in stats["cameras"]:
        cid = camera["id"]
        edge = per_camera.get(cid, {})
        source = inputs.get(cid, {})
        exits = edge.get("exits", {})
        rows.append(
            {
                "camera": cid,
                "state": camera["state"] or "no report",
                "input fps": fmt.number(source.get("input_fps"), 1),
                "frames read": fmt.number(source.get("frames_read")),
                "frames sent": fmt.number(edge.get("frames_received", 0)),
                "sent of input": fmt.percent(source.get("sent_fraction")),
                "sent because": fmt.shares(edge.get("received_by_reason")),
                "bytes saved": fmt.percent(source.get("bytes_saved_fraction")),
                "detector calls": fmt.number(edge.get("detector_calls", 0)),
                "cache hit rate": fmt.percent(edge.get("cache_hit_rate")),
                "exits cache/regions/full/split": "/".join(
                    str(exits.get(k, 0)) for k in ("cache", "regions", "full", "split")
                ),
                "p50 ms": fmt.number((edge.get("latency_ms") or {}).get("p50")),
                "p95 ms": fmt.number((edge.get("latency_ms") or {}).get("p95")),
                "dropped": fmt.number(sum((edge.get("dropped") or {}).values())),
                "plan": plan.compact(camera),
                "last frame": fmt.ago(camera["last_frame_at"]),
            }
        )
    return pd.DataFrame(rows).set_index("camera") if rows else pd.DataFrame()


def _charts(stats: dict[str, Any], samples: list[history.Sample]) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Frames received per second")
        fps = history.frames_per_second(samples)
        if fps.empty:
            st.caption("Charted from the next refresh on.")
        else:
            st.line_chart(fps)
    with right:
        st.subheader("Latency p95 (ms)")
        latency = history.latency_p95(samples)
        if latency.empty:
            st.caption("No frame analysed yet.")
        else:
            st.line_chart(latency)
    st.subheader("How frames were answered (exits)")
    exits = pd.DataFrame(
        {cid: c["exits"] for cid, c in stats["edge"]["cameras"].items()}
    ).transpose()
    if exits.empty:
        st.caption("No frame analysed yet.")
    else:
        st.bar_chart(exits)
