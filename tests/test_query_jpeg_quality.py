"""The edge asks each camera for the JPEG quality its query needs (`filter_control.jpeg_quality`):
a real camera node replaying vtest to a real edge box sends its frames at quality 70 once the
edge (events query) has answered its first frame, and at its own 80 when the query is boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from appliance.bench.system import run_system
from appliance.edge.config import EdgeCameraConfig, EdgeConfig
from cameras.config import CameraConfig
from cameras.edge_client import EdgeUplink, Posted
from cameras.jpeg import DEFAULT_JPEG_CHROMA, encode_jpeg
from cameras.protocol import FrameMeta
from pipelines.feedback import Query
from tests.footage import vtest_path

FRAMES = 12
DQT = b"\xff\xdb"


def quantisation_tables(jpeg: bytes) -> bytes:
    """Every DQT segment of a JPEG: what its quality setting decides."""
    tables, at = b"", jpeg.find(DQT)
    while at >= 0:
        length = int.from_bytes(jpeg[at + 2 : at + 4], "big")
        tables += jpeg[at : at + 2 + length]
        at = jpeg.find(DQT, at + 2 + length)
    return tables


def tables_at(quality: int) -> bytes:
    image = np.zeros((16, 16, 3), np.uint8)
    return quantisation_tables(bytes(encode_jpeg(image, quality, DEFAULT_JPEG_CHROMA).tobytes()))


def sent_jpegs(query: Query, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    sent: list[bytes] = []
    post_frame = EdgeUplink.post_frame

    def recording(self: EdgeUplink, jpeg: bytes, meta: FrameMeta) -> Posted:
        sent.append(jpeg)
        return post_frame(self, jpeg, meta)

    monkeypatch.setattr(EdgeUplink, "post_frame", recording)
    camera = CameraConfig(
        id="door", source=str(vtest_path()), edge_url="http://unused", token="t" * 16
    )
    edge = EdgeConfig(cameras=[EdgeCameraConfig(id="door", token="t" * 16)])
    run = run_system(vtest_path(), FRAMES, camera, edge, query, tmp_path / query.value, 10.0, False)
    assert run.control["query"] == query.value
    return sent


def test_events_are_sent_at_the_quality_the_query_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = sent_jpegs(Query.EVENTS, tmp_path, monkeypatch)
    assert len(sent) >= 3
    # The first frame goes before the edge has answered: at the camera's own quality.
    assert quantisation_tables(sent[0]) == tables_at(80)
    assert all(quantisation_tables(jpeg) == tables_at(70) for jpeg in sent[1:])


def test_boxes_keep_the_cameras_own_quality(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = sent_jpegs(Query.BOXES, tmp_path, monkeypatch)
    assert len(sent) >= 3
    assert all(quantisation_tables(jpeg) == tables_at(80) for jpeg in sent)
