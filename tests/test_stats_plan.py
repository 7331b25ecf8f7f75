"""The Edgent plan a camera reports in its frames' metadata, in `/api/v1/stats`: a real
`appliance edge` process, real vtest JPEGs, plans from the real `OnlinePlanner`."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cameras.protocol import CUT_LABEL_CHARS, REASON_CHARS, plan_report
from tests.edge_process import EdgeProcess, running_edge, stats
from tests.live_edge import post_frame, vtest_jpegs
from tests.plan_status import planned_status

SPLIT, PLAIN = "split", "plain"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    tokens = {SPLIT: "split-" + secrets.token_hex(8), PLAIN: "plain-" + secrets.token_hex(8)}
    work = tmp_path_factory.mktemp("plan-stats")
    with running_edge(work, tokens, api_token="api-" + secrets.token_hex(8)) as box:
        yield box


@pytest.fixture(scope="module")
def client(edge: EdgeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.base_url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    return vtest_jpegs(6)


def plans(client: httpx.Client, edge: EdgeProcess) -> dict[str, Any]:
    return {c["id"]: c["plan"] for c in stats(client, edge)["cameras"]}


def test_no_camera_has_a_plan_before_one_is_reported(
    client: httpx.Client, edge: EdgeProcess
) -> None:
    assert plans(client, edge) == {SPLIT: None, PLAIN: None}


def test_the_latest_plan_of_each_camera_is_shown_with_when_it_came(
    client: httpx.Client, edge: EdgeProcess, jpegs: list[bytes]
) -> None:
    slow, fast = planned_status(mbps=0.5), planned_status(mbps=20.0)
    assert slow["plan"] != fast["plan"]
    assert post_frame(client, edge, SPLIT, jpegs[0], 0, slow).status_code == 200
    assert post_frame(client, edge, PLAIN, jpegs[1], 0).status_code == 200
    before = time.time()
    assert post_frame(client, edge, SPLIT, jpegs[2], 2, fast).status_code == 200
    after = time.time()
    shown = plans(client, edge)
    assert shown[PLAIN] is None  # frames without a plan: the camera runs no split model
    received_at = shown[SPLIT].pop("received_at")
    assert before <= received_at <= after
    assert shown[SPLIT] == fast


def test_a_plan_out_of_bounds_refuses_the_frame_and_keeps_the_last_plan(
    client: httpx.Client, edge: EdgeProcess, jpegs: list[bytes]
) -> None:
    bad = planned_status()
    bad["plan"]["device_ms"] = -5.0
    response = post_frame(client, edge, SPLIT, jpegs[3], 4, bad)
    assert response.status_code == 422
    assert "plan.plan.device_ms" in response.json()["detail"]
    assert stats(client, edge)["edge"]["rejected"]["bad_metadata"] >= 1
    shown = plans(client, edge)[SPLIT]
    assert shown is not None and shown["plan"]["device_ms"] >= 0


def test_the_largest_plan_report_rides_in_the_header(
    client: httpx.Client, edge: EdgeProcess, jpegs: list[bytes]
) -> None:
    status = planned_status(mbps=2.0)
    status["reason"] = "a reason far longer than any the replanner gives " * 10
    status["plan"]["cut_label"] = "after /model.22/" + "very/long/node/name/" * 20
    report = json.loads(plan_report(status).model_dump_json())
    assert post_frame(client, edge, SPLIT, jpegs[4], 6, report).status_code == 200
    shown = plans(client, edge)[SPLIT]
    assert len(shown["plan"]["cut_label"]) == CUT_LABEL_CHARS
    assert len(shown["reason"]) == REASON_CHARS
    assert shown["bandwidth_mbps"] == 2.0
