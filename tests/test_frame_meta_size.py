"""The camera's frame metadata rides in one HTTP header: at its largest it must still fit."""

from __future__ import annotations

from cameras.protocol import (
    MAX_ITEMS,
    FeatureScores,
    FrameMeta,
    WireBox,
    WireDetection,
    WireMotion,
    WireShift,
    plan_report,
)
from tests.plan_status import planned_status

# h11 (uvicorn's HTTP parser here) refuses requests whose headers add up to more than 16 KiB;
# the token, host, content type and length take a few hundred bytes of that.
HEADER_BUDGET = 16 * 1024 - 1024


def awkward(value: float) -> float:
    """A coordinate as a scaled blob box gives it: every float digit in use."""
    return value + 1 / 3


def largest_meta() -> FrameMeta:
    status = planned_status()
    status["reason"] = "x" * 1000
    status["plan"]["cut_label"] = "y" * 1000
    box = WireBox(x1=awkward(1000), y1=awkward(2000), x2=awkward(3000), y2=awkward(4000))
    return FrameMeta(
        seq=2**63 - 1,
        captured_at=1_764_000_000.123456789,
        filter_score=1 / 3,
        send_reason="arrival",
        features=FeatureScores(pixel=1 / 3, area=1 / 7, edge=1 / 9, foreground=1 / 11),
        regions=[box] * MAX_ITEMS,
        demand_bytes_per_s=123456789.123456789,
        detections=[WireDetection(label="person", confidence=1 / 3, box=box)] * MAX_ITEMS,
        plan=plan_report(status),
        motion=WireMotion(
            origin_seq=2**63 - 1,
            tracks=[WireShift(track_id=2**63 - 1, dx=-awkward(9999), dy=-awkward(9999))]
            * MAX_ITEMS,
        ),
    )


def test_the_largest_frame_meta_fits_in_one_header() -> None:
    header = largest_meta().model_dump_json()
    assert len(header.encode()) <= HEADER_BUDGET, len(header)


def test_boxes_travel_to_a_tenth_of_a_pixel() -> None:
    sent = WireDetection(
        label="person", confidence=0.876543, box=WireBox(x1=10.04, y1=20.06, x2=30.0, y2=40.55)
    )
    received = WireDetection.model_validate_json(sent.model_dump_json())
    assert received.box == WireBox(x1=10.0, y1=20.1, x2=30.0, y2=40.5)
    assert received.confidence == 0.8765
