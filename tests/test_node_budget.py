"""The camera node's uplink budget pays for what actually went: the budget is charged the JPEG's
size when a frame is admitted, and an uploader that sent something else (Edgent's tensors or
detections) has the difference refunded or charged once the upload is done."""

from __future__ import annotations

from typing import Any, cast

import pytest

from cameras.frame_sender import Delivery, Outgoing
from cameras.node import CameraNode
from cameras.protocol import EdgeFeedback, FrameMeta, FrameReply
from pipelines.budget import UplinkBudget

RATE = 1_000.0
JPEG = b"\xff" * 8_000


class Selector:
    threshold = 0.1

    def follow(self, reply: object) -> None:
        pass

    def frame_arrived(self, seq: int) -> None:
        pass


class Sender:
    def drain(self) -> list[Delivery]:
        return []


def delivered(sent_bytes: int | None) -> Delivery:
    frame = Outgoing(1, 1.0, JPEG, FrameMeta(seq=1, captured_at=1e9), [], [])
    feedback = EdgeFeedback(budget_bytes_per_s=RATE)  # keep the budget as it is
    reply = FrameReply(frame_id=1, detections=[], active_tracks=0, feedback=feedback)
    return Delivery(frame, reply=reply, sent_bytes=sent_bytes)


def node(budget: UplinkBudget) -> CameraNode:
    stub: Any = None
    return CameraNode(stub, cast(Any, Selector()), stub, budget=budget, sender=cast(Any, Sender()))


@pytest.mark.parametrize(("sent", "left"), [(200, 9_800), (None, 2_000), (12_000, 0)])
def test_the_budget_is_charged_what_went_not_the_jpeg(sent: int | None, left: float) -> None:
    budget = UplinkBudget(bytes_per_s=RATE, burst_s=10.0)  # 10 kB bucket
    camera = node(budget)
    assert budget.spend(len(JPEG), 0.0)  # what the node does when it admits the frame
    camera._settle([delivered(sent)])
    assert budget.fill(0.0) * RATE * budget.burst_s == pytest.approx(left)
    assert camera.stats.bytes_sent == (len(JPEG) if sent is None else sent)
