"""Things move but nothing of interest is there: swaying foliage, a crossing shadow, flickering
light and a passing cloud on vtest's real background. The camera node stays almost silent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from appliance.bench.distractor_clip import (
    DistractorClipSpec,
    build_distractor_clip,
    distractor_frames,
)
from appliance.bench.quiet_clip import background_plate
from appliance.bench.system import run_system
from appliance.edge.config import EdgeCameraConfig, EdgeConfig
from cameras.config import CameraConfig, DifferenceFilterConfig, TinyDetectorConfig
from cameras.edge_client import EdgeUplink, Posted
from cameras.protocol import FrameMeta
from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST
from pipelines.detectors.onnx_yolo import YoloOnnxDetector
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from pipelines.feedback import EdgeReply, Query
from pipelines.frame_difference import SendReason
from pipelines.selection import FrameSelector
from pipelines.types import Box
from tests.footage import vtest_path

SPEC = DistractorClipSpec(seconds=20.0, cloud_at_s=(8.0, 14.0))


@pytest.mark.parametrize("shadow_share", [0.95, None])
def test_swaying_shadows_and_light_alone_send_nothing(shadow_share: float | None) -> None:
    plate = background_plate(vtest_path()).astype(np.float32)
    tiny = TinyDetectorConfig(shadow_share=shadow_share)
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
    if shadow_share is None:  # every blob may be news: the crossing shadow is sent
        assert sent[0] is SendReason.FIRST and set(sent[1:]) == {SendReason.ARRIVAL}, sent
        assert 1 < len(sent) <= 0.05 * len(reasons)
        return
    # Nothing tracked: nothing to keep alive, and the shadow is no arrival (an even dimming).
    assert sent == [SendReason.FIRST], reasons


def _yolo(model: Path, input_size: int) -> YoloOnnxDetector:
    settings = YoloOnnxSettings(
        str(model),
        interest=DEFAULT_LABELS_OF_INTEREST,
        input_size=input_size,
        providers=("CPUExecutionProvider",),
    )
    return YoloOnnxDetector(settings)


def test_a_camera_detector_does_not_resend_the_vehicles_the_edge_holds_as_stationary(
    trained_model: Path,
) -> None:
    """A node with its own object detector (the trained model at 320, as on a Jetson) finds
    the parked van and car on every changed frame. Told by the edge where its stationary
    objects are, it sends none of those frames: only its first."""
    plate = background_plate(vtest_path()).astype(np.float32)
    frames = list(distractor_frames(plate, SPEC))
    # What the edge's detector (the same model at 416) holds as stationary here.
    parked = tuple(d.box for d in _yolo(trained_model, 416).detect(frames[0]))
    assert len(parked) >= 2, parked  # the van and the car
    camera = _yolo(trained_model, 320)
    tiny = TinyDetectorConfig()

    def sent(stationary: tuple[Box, ...]) -> list[SendReason]:
        selector = FrameSelector(
            DifferenceFilterConfig().settings(), tiny.settings(), tiny.arrival_area, camera
        )
        reasons = []
        for i, frame in enumerate(frames):
            decision = selector.decide(frame, i / SPEC.fps).decision
            if decision.send:
                reasons.append(decision.reason)
                selector.commit_last()
                selector.follow(EdgeReply(0, None, stationary=stationary))
        return reasons

    assert len(sent(())) >= 5  # each change of light or noise shows the vehicles "again"
    assert sent(parked) == [SendReason.FIRST]


def test_a_real_edge_tells_a_node_with_a_detector_where_the_parked_vehicles_are(
    trained_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: a real node running the trained model at 320 replays 10 s of the clip to a
    real edge. Once the van and car are stationary, the edge's replies say where they are and
    the node sends nothing more (only its first frame and keepalives before that)."""
    clip = tmp_path / "distractors.mp4"
    build_distractor_clip(vtest_path(), clip, DistractorClipSpec(seconds=10.0, cloud_at_s=(5, 8)))
    replies: list[Posted] = []
    post_frame = EdgeUplink.post_frame

    def recording(self: EdgeUplink, jpeg: bytes, meta: FrameMeta) -> Posted:
        posted = post_frame(self, jpeg, meta)
        replies.append(posted)
        return posted

    monkeypatch.setattr(EdgeUplink, "post_frame", recording)
    tiny = {"kind": "yolo-onnx", "yolo_onnx": {"model_path": str(trained_model), "input_size": 320}}
    camera = CameraConfig(
        id="yard", source=str(clip), edge_url="http://unused", token="t" * 16, tiny_detector=tiny
    )
    edge = EdgeConfig(cameras=[EdgeCameraConfig(id="yard", token="t" * 16)])
    run = run_system(clip, None, camera, edge, Query.EVENTS, tmp_path / "edge", 10.0, False)
    assert run.node.frames_read == 100
    last = replies[-1].reply
    assert len(last.stationary) == 2 and last.moving_tracks == 0, last
    assert run.node.frames_sent <= 5, [r.reply for r in replies]  # first and keepalives
