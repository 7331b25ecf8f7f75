"""Zones: events record the named areas an object stood in (bottom-centre rule)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from appliance.edge.access_config import ListenConfig
from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeCameraConfig, EdgeConfig
from appliance.edge.server import EdgeServer, free_port
from cameras.protocol import FrameMeta
from pipelines.types import Box
from pipelines.zones import Zone, zones_of
from tests.footage import vtest_frames

SQUARE = Zone("square", ((0, 0), (100, 0), (100, 100), (0, 100)))
# An L: the square minus its top-right quarter.
ELL = Zone("ell", ((0, 0), (50, 0), (50, 50), (100, 50), (100, 100), (0, 100)))


def test_points_inside_and_outside_polygons() -> None:
    assert SQUARE.contains((50, 50)) and not SQUARE.contains((150, 50))
    assert ELL.contains((25, 25)) and ELL.contains((75, 75))
    assert not ELL.contains((75, 25))  # the notch of the L


def test_an_object_is_where_it_stands() -> None:
    head_in_feet_out = Box(40, 60, 60, 140)  # bottom centre (50, 140): below the square
    feet_in = Box(40, 20, 60, 90)
    assert zones_of(head_in_feet_out, [SQUARE]) == []
    assert zones_of(feet_in, [SQUARE, ELL]) == ["square", "ell"]


def test_zone_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="3 points"):
        Zone("line", ((0, 0), (1, 1)))
    with pytest.raises(ValidationError, match="unique"):
        EdgeCameraConfig(
            id="c",
            token="t" * 9,
            zones=[{"name": "a", "points": [[0, 0], [1, 0], [1, 1]]}] * 2,
        )
    with pytest.raises(ValidationError, match="at least 3"):
        EdgeCameraConfig(id="c", token="t" * 9, zones=[{"name": "a", "points": [[0, 0]]}])


def test_events_record_zones_and_can_be_filtered_by_them(tmp_path: Path) -> None:
    # vtest is 768x576; people walk on the path across the middle and lower part.
    zones = [
        {"name": "whole", "points": [[0, 0], [768, 0], [768, 576], [0, 576]]},
        {"name": "sky", "points": [[0, 0], [768, 0], [768, 10], [0, 10]]},
    ]
    config = EdgeConfig(
        listen=ListenConfig(port=free_port()),
        data_dir=tmp_path,
        cameras=[EdgeCameraConfig(id="c", token="token-1234", zones=zones)],
    )
    box = EdgeBox(config)
    start = time.time()
    with EdgeServer(box, config.listen.port) as server:
        for i, frame in enumerate(vtest_frames(100, 6)):
            box.analyzers["c"].analyse(frame, FrameMeta(seq=i, captured_at=start + i / 10), 1)
        everywhere = httpx.get(f"{server.url}/api/v1/events", params={"zone": "whole"}).json()
        up_high = httpx.get(f"{server.url}/api/v1/events", params={"zone": "sky"}).json()
        every_event = httpx.get(f"{server.url}/api/v1/events").json()
    box.close()
    assert every_event and len(everywhere) == len(every_event)
    assert all(e["zones"] == ["whole"] for e in everywhere)
    assert up_high == []


def test_counts_over_time_from_the_api(tmp_path: Path) -> None:
    config = EdgeConfig(
        listen=ListenConfig(port=free_port()),
        data_dir=tmp_path,
        cameras=[EdgeCameraConfig(id="c", token="token-1234")],
    )
    box = EdgeBox(config)
    start = time.time() - 30
    seen = 0
    with EdgeServer(box, config.listen.port) as server:
        for i, frame in enumerate(vtest_frames(100, 4)):
            meta = FrameMeta(seq=i, captured_at=start + i / 10)
            seen += len(box.analyzers["c"].analyse(frame, meta, 1).detections)
        url = f"{server.url}/api/v1/cameras/c/counts"
        buckets = httpx.get(url, params={"bucket_s": 3600}).json()  # the last hour, one bucket
        unknown = httpx.get(f"{server.url}/api/v1/cameras/nope/counts")
        bad = httpx.get(url, params={"bucket_s": 0})
    box.close()
    assert sum(b["frames"] for b in buckets) == 4
    assert sum(b["mean"] * b["frames"] for b in buckets) == pytest.approx(seen)
    assert unknown.status_code == 404 and bad.status_code == 422
