"""The Edgent plan a camera runs (exit, partition, predicted latency against its requirement).

Read from a camera's row of `/api/v1/stats` (`plan`: the camera's latest report, or null when
it runs no split model).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import format as fmt

ENDS = ("edge-only", "device-only")


def compact(camera: dict[str, Any]) -> str:
    """One cell for the overview: `exit@cut` (the cut's label at the ends), `late` if it misses."""
    report = camera.get("plan")
    if report is None:
        return fmt.DASH
    plan = report["plan"]
    if plan is None:
        return "not planned yet"
    cut = plan["cut_label"] if plan["cut_label"] in ENDS else str(plan["cut"])
    return f"{plan['exit']}@{cut}" + ("" if plan["meets"] else " (late)")


def render(camera: dict[str, Any]) -> None:
    st.subheader("Edgent plan")
    report = camera.get("plan")
    if report is None:
        st.caption("This camera reports no plan: it runs no split model.")
        return
    plan = report["plan"]
    if plan is None:
        st.info("The camera's planner has not chosen a plan yet.")
    else:
        _plan(plan, report["deadline_ms"])
    _measured(report)
    _conditions(report)


def _plan(plan: dict[str, Any], deadline_ms: float) -> None:
    what = st.columns(4)
    what[0].metric("Exit", plan["exit"])
    what[1].metric("Exit accuracy (F1)", fmt.number(plan["accuracy"], 3))
    what[2].metric("Partition", plan["cut_label"])
    what[3].metric("Meets requirement", "yes" if plan["meets"] else "no")
    times = st.columns(5)
    for column, part in zip(times, ("device", "transfer", "edge", "total"), strict=False):
        column.metric(f"Predicted {part}", fmt.number(plan[f"{part}_ms"], 1, "ms"))
    times[4].metric("Requirement", fmt.number(deadline_ms, 1, "ms"))
    st.caption(f"Partition point: layer {plan['cut']}; {fmt.size(plan['transfer_bytes'])} cross it")


def _measured(report: dict[str, Any]) -> None:
    """What the frames took, as the camera measured them, beside the prediction above."""
    timed, met = report.get("frames_timed", 0), report.get("frames_met", 0)
    row = st.columns(3)
    row[0].metric("Last frame took", fmt.number(report.get("last_ms"), 1, "ms"))
    row[1].metric("Frames within the requirement", fmt.percent(met / timed if timed else None))
    row[2].metric("Frames timed", fmt.number(timed))


def _conditions(report: dict[str, Any]) -> None:
    measured = "measured" if report["bandwidth_measured"] else "assumed"
    row = st.columns(3)
    row[0].metric(f"Bandwidth ({measured})", fmt.number(report["bandwidth_mbps"], 2, "Mbit/s"))
    row[1].metric("Plan switches", fmt.number(report["switches"]))
    row[2].metric("Plan reported", fmt.ago(report["received_at"]))
    loads = f"camera load {report['device_load']:g}, edge load {report['edge_load']:g}"
    st.caption(f"Why: {report.get('reason') or fmt.DASH} ({loads})")
