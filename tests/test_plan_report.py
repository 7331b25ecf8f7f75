"""The Edgent plan report on the wire: `OnlinePlanner.status()` is exactly a `PlanReport`."""

from __future__ import annotations

import json
import time

import pytest
from pydantic import ValidationError

from cameras.protocol import (
    CUT_LABEL_CHARS,
    EXIT_NAME_CHARS,
    REASON_CHARS,
    FrameMeta,
    PlanReport,
    plan_report,
)
from tests.edgent_fixtures import SMALL
from tests.plan_status import DEADLINE_MS, online_planner, planned_status

PLAN_HEADER_BYTES = 1024
"""The most a plan report may add to the X-Frame-Meta header."""


def test_status_before_planning_is_a_report_without_a_plan() -> None:
    status = online_planner().status()
    report = PlanReport.model_validate(status)
    assert report.plan is None and report.reason is None
    assert not report.bandwidth_measured and report.switches == 0
    assert report.deadline_ms == DEADLINE_MS


def test_status_after_planning_is_a_report_of_exactly_its_shape() -> None:
    status = planned_status(mbps=20.0)
    report = PlanReport.model_validate(status)
    assert report.model_dump() == status  # every key, nested too, and nothing else
    assert report.plan is not None and report.plan.exit == SMALL
    assert report.reason == "first plan" and report.bandwidth_mbps == 20.0
    assert plan_report(status) == report


def test_a_frame_meta_carries_the_plan_through_its_header() -> None:
    meta = FrameMeta(seq=3, captured_at=time.time(), plan=plan_report(planned_status()))
    header = meta.model_dump_json()
    assert FrameMeta.model_validate_json(header) == meta
    assert FrameMeta.model_validate_json(json.dumps({"seq": 1, "captured_at": 1.0})).plan is None


def test_long_labels_are_clipped_to_fit_the_header() -> None:
    status = planned_status()
    status["reason"] = "why " * 200
    status["plan"] = {**status["plan"], "exit": "e" * 300, "cut_label": "after " + "n" * 900}
    with pytest.raises(ValidationError):
        PlanReport.model_validate(status)
    report = plan_report(status)
    assert report.plan is not None
    assert len(report.plan.cut_label) == CUT_LABEL_CHARS and report.plan.cut_label.endswith("...")
    assert len(report.plan.exit) == EXIT_NAME_CHARS
    assert report.reason is not None and len(report.reason) == REASON_CHARS
    assert len(report.model_dump_json()) < PLAN_HEADER_BYTES


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"deadline_ms": 0}, "deadline_ms"),
        ({"device_load": 0.5}, "device_load"),
        ({"switches": -1}, "switches"),
        ({"surprise": 1}, "surprise"),
        ({"plan": {"device_ms": -1.0}}, "plan.device_ms"),
        ({"plan": {"accuracy": 1.5}}, "plan.accuracy"),
        ({"plan": {"transfer_ms": float("nan")}}, "plan.transfer_ms"),
    ],
)
def test_out_of_bounds_reports_are_refused(change: dict[str, object], field: str) -> None:
    status = planned_status()
    for key, value in change.items():
        status[key] = {**status[key], **value} if isinstance(value, dict) else value
    with pytest.raises(ValidationError) as caught:
        PlanReport.model_validate(status)
    locations = {".".join(map(str, e["loc"])) for e in caught.value.errors()}
    assert field in locations
