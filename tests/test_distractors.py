"""Things move but nothing of interest is there: swaying foliage, a crossing shadow, flickering
light and a passing cloud on vtest's real background. The camera node stays almost silent."""

from __future__ import annotations

import numpy as np

from appliance.bench.distractor_clip import DistractorClipSpec, distractor_frames
from appliance.bench.quiet_clip import background_plate
from cameras.config import DifferenceFilterConfig, TinyDetectorConfig
from pipelines.feedback import EdgeReply
from pipelines.frame_difference import SendReason
from pipelines.selection import FrameSelector
from tests.footage import vtest_path

SPEC = DistractorClipSpec(seconds=20.0, cloud_at_s=(8.0, 14.0))


def test_swaying_shadows_and_light_alone_send_almost_nothing() -> None:
    plate = background_plate(vtest_path()).astype(np.float32)
    tiny = TinyDetectorConfig()
    selector = FrameSelector(
        DifferenceFilterConfig().settings(), tiny.settings(), tiny.arrival_area
    )
    reasons: list[SendReason] = []
    for i, frame in enumerate(distractor_frames(plate, SPEC)):
        decision = selector.decide(frame, i / SPEC.fps).decision
        reasons.append(decision.reason)
        if decision.send:
            selector.commit_last()
            # The edge finds nothing that moves here (the parked cars are stationary).
            selector.follow(EdgeReply(moving_tracks=0, threshold=None))
    sent = [r for r in reasons if r not in (SendReason.UNCHANGED, SendReason.NOTHING_OF_INTEREST)]
    changed = sum(1 for r in reasons if r is not SendReason.UNCHANGED)
    assert changed > 0.1 * len(reasons)  # pixels do change: a plain difference filter sends them
    assert len(sent) <= 0.05 * len(reasons), reasons
    assert SendReason.KEEPALIVE not in sent  # nothing tracked: nothing to keep alive
