"""Shared fixtures. PostgreSQL: a real throwaway server (see pg_server.py), started on first use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.footage import vtest_path
from tests.mosquitto_server import MosquittoServer
from tests.pg_server import PostgresServer, fresh_database
from tests.rtsp_server import make_h264_clip


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Superuser URL of a PostgreSQL 15 server that lives for the test session."""
    with PostgresServer() as server:
        yield server.url


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """URL of a new, empty database for this test only (dropped afterwards)."""
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture
def mosquitto() -> Iterator[MosquittoServer]:
    """A real Mosquitto broker for this test only; stop() and start() it for an outage."""
    with MosquittoServer() as broker:
        yield broker


@pytest.fixture(scope="session")
def h264_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """vtest.avi as H.264 (what an RTSP server can carry); 4 s, so servers loop it often."""
    return make_h264_clip(vtest_path(), tmp_path_factory.mktemp("rtsp") / "vtest.mp4", seconds=4)


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The trained default detector (YOLOv3-tiny at 416, FP32) that set-up makes; made here
    from the cached Darknet release if a test runs before set-up did."""
    from appliance.models.darknet.pull import pull_darknet
    from appliance.models.darknet.release import RELEASES

    model = Path(__file__).resolve().parents[1] / "data" / "models" / "yolov3-tiny-416.onnx"
    if not model.is_file():
        pull_darknet(RELEASES["yolov3-tiny"], 416, model.parent)
    return model


@pytest.fixture(scope="session")
def edgent_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real YOLOv8n export (160 px) whose detections depend on the image (Edgent runtime)."""
    from tests.edgent_runtime import soft_scores_model

    return soft_scores_model(tmp_path_factory.mktemp("edgent-model"))
