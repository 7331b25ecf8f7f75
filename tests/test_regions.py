"""Changed-region uploads: what the camera keeps, and the picture the edge rebuilds."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from appliance.edge.access_config import ListenConfig
from appliance.edge.analysis import BadRegionsError, NeedsFullFrameError
from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeCameraConfig, EdgeConfig
from appliance.edge.server import EdgeServer, free_port
from cameras.protocol import FrameMeta, WireBox
from pipelines.region_uploads import (
    RegionPlanner,
    RegionSettings,
    composite,
    coverage,
    grow,
    mask_outside,
)
from pipelines.types import Box
from tests.footage import vtest_frames

PERSON = Box(100.0, 100.0, 140.0, 200.0)


def test_regions_grow_to_jpeg_blocks_inside_the_frame() -> None:
    (region,) = grow([PERSON], 768, 576, margin=0.25)
    assert (region.x1, region.y1, region.x2, region.y2) == (80.0, 64.0, 160.0, 240.0)
    (edge,) = grow([Box(750.0, 560.0, 768.0, 576.0)], 768, 576, margin=0.5)
    assert edge.x2 == 768 and edge.y2 == 576 and edge.x1 % 16 == 0 and edge.y1 % 16 == 0


def test_outside_the_regions_is_flat_grey_and_costs_few_bytes() -> None:
    frame = vtest_frames(100, 1)[0]
    regions = grow([PERSON], 768, 576, 0.25)
    masked = mask_outside(frame, regions)
    assert np.array_equal(masked[64:240, 80:160], frame[64:240, 80:160])
    assert (masked[300:, 300:] == 128).all()
    full = len(cv2.imencode(".jpg", frame)[1])
    assert len(cv2.imencode(".jpg", masked)[1]) < 0.2 * full


def test_composite_pastes_only_the_regions() -> None:
    old, new = vtest_frames(100, 2)
    regions = [Box(0.0, 0.0, 64.0, 64.0)]
    merged = composite(old, new, regions)
    assert np.array_equal(merged[:64, :64], new[:64, :64])
    assert np.array_equal(merged[64:], old[64:])
    with pytest.raises(ValueError):
        composite(old, new[:100], regions)


def test_planner_sends_whole_frames_when_regions_would_not_do() -> None:
    planner = RegionPlanner(RegionSettings(full_frame_interval_s=10.0, max_area=0.6))
    assert planner.plan([PERSON], 0.05, 768, 576, 0.0) == []  # nothing at the edge yet: whole
    planner.sent([], [PERSON], 0.0)
    regions = planner.plan([PERSON], 0.05, 768, 576, 1.0)
    assert regions and coverage(regions, 768, 576) < 0.1
    planner.sent(regions, [PERSON], 1.0)
    assert (
        planner.plan([], 0.05, 768, 576, 2.0) != []
    )  # the person left: paint over where they were
    planner.sent(planner.plan([], 0.05, 768, 576, 2.0), [], 2.0)
    assert planner.plan([], 0.05, 768, 576, 3.0) == []  # nothing now or before: whole frame
    huge = Box(0.0, 0.0, 700.0, 500.0)
    assert planner.plan([huge], 0.05, 768, 576, 4.0) == []  # most of the frame changed
    assert planner.plan([PERSON], 0.05, 768, 576, 10.5) == []  # periodic whole frame
    assert planner.plan([PERSON], 0.6, 768, 576, 5.0) == []  # most of the scene changed
    planner.force_full()
    assert planner.plan([PERSON], 0.05, 768, 576, 5.0) == []


def test_the_edge_needs_a_whole_frame_before_regions(tmp_path: Path) -> None:
    box = EdgeBox(EdgeConfig(data_dir=tmp_path, cameras=[EdgeCameraConfig(id="c", token="t" * 9)]))
    analyzer = box.analyzers["c"]
    first, second = vtest_frames(100, 2)
    regions = [WireBox(x1=80, y1=64, x2=160, y2=240)]
    try:
        with pytest.raises(NeedsFullFrameError):
            analyzer.analyse(first, FrameMeta(seq=0, captured_at=1e9, regions=regions), 1)
        analyzer.analyse(first, FrameMeta(seq=1, captured_at=1e9 + 0.1), 1)
        outside = [WireBox(x1=700, y1=500, x2=900, y2=600)]
        with pytest.raises(BadRegionsError):
            analyzer.analyse(second, FrameMeta(seq=2, captured_at=1e9 + 0.2, regions=outside), 1)
        masked = mask_outside(second, [Box(80.0, 64.0, 160.0, 240.0)])
        result = analyzer.analyse(
            masked, FrameMeta(seq=3, captured_at=1e9 + 0.3, regions=regions), 1
        )
        # The grey outside the region was not analysed: the people there are still found.
        assert len(result.detections) >= 2
    finally:
        box.close()


def test_the_api_answers_428_so_the_camera_sends_a_whole_frame(tmp_path: Path) -> None:
    config = EdgeConfig(
        listen=ListenConfig(port=free_port()),
        data_dir=tmp_path,
        cameras=[EdgeCameraConfig(id="c", token="token-12345")],
    )
    box = EdgeBox(config)
    jpeg = cv2.imencode(".jpg", vtest_frames(100, 1)[0])[1].tobytes()
    meta = FrameMeta(seq=0, captured_at=time.time(), regions=[WireBox(x1=0, y1=0, x2=64, y2=64)])
    with EdgeServer(box, config.listen.port) as server:
        response = httpx.post(
            f"{server.url}/api/v1/cameras/c/frames",
            content=jpeg,
            headers={"Authorization": "Bearer token-12345", "X-Frame-Meta": meta.model_dump_json()},
        )
    box.close()
    assert response.status_code == 428
    assert "full frame" in response.json()["detail"]
