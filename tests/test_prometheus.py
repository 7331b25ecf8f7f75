"""/metrics on a real `appliance edge`: real vtest frames from two cameras, then a scrape
parsed with prometheus_client's own parser; every figure must agree with what was sent.

`door` gets frames one by one (all analysed); `yard` gets a burst at once, so the scheduler
may shed some and late frames may be refused as stale: each answer the cameras got is then
counted in exactly one place. The cloud uplink is on with no broker listening, so the outbox
only fills. One edge for the module.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from appliance.edge.server import free_port
from tests.edge_process import EdgeProcess, running_edge, stats
from tests.live_edge import feed, vtest_jpegs

DOOR, YARD = "door", "yard"
DOOR_FRAMES, YARD_FRAMES = 12, 8
EVERY = 2
"""The door's node sends every second frame it reads."""
VIEWER_TOKEN = "viewer-" + secrets.token_hex(8)


@dataclass(frozen=True)
class Fed:
    edge: EdgeProcess
    yard_answers: Counter[str]
    """The burst's answers: "200", "409", or "shed:<reason>" for a 503."""


def _post_at_once(edge: EdgeProcess, jpegs: list[bytes]) -> Counter[str]:
    """All of `jpegs` posted to the yard camera at the same time, as a burst of a node."""
    headers = {"Authorization": f"Bearer {edge.tokens[YARD]}", "Content-Type": "image/jpeg"}
    metas = [
        json.dumps({"seq": seq, "captured_at": time.time(), "filter_score": 0.2})
        for seq in range(len(jpegs))
    ]
    with httpx.Client(base_url=edge.base_url, timeout=60) as client:

        def post(index: int) -> str:
            response = client.post(
                f"/api/v1/cameras/{YARD}/frames",
                content=jpegs[index],
                headers={**headers, "X-Frame-Meta": metas[index]},
            )
            if response.status_code == 503:
                return f"shed:{response.json()['shed']}"
            return str(response.status_code)

        with ThreadPoolExecutor(max_workers=len(jpegs)) as pool:
            return Counter(pool.map(post, range(len(jpegs))))


def _report_source(client: httpx.Client, edge: EdgeProcess, camera: str, state: str) -> None:
    response = client.post(
        f"/api/v1/cameras/{camera}/status",
        json={"state": state, "since": time.time()},
        headers={"Authorization": f"Bearer {edge.tokens[camera]}"},
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    tokens = {camera: f"{camera}-" + secrets.token_hex(8) for camera in (DOOR, YARD)}
    unreachable_broker = {"port": free_port(), "reconnect_min_s": 1, "reconnect_max_s": 2}
    extra = {
        "access": {"viewer_token": VIEWER_TOKEN},
        "cloud": {"enabled": True, "broker": unreachable_broker, "drain_timeout_s": 1},
    }
    with running_edge(
        tmp_path_factory.mktemp("prometheus"), tokens, "api-" + secrets.token_hex(8), extra
    ) as edge:
        jpegs = vtest_jpegs(DOOR_FRAMES + YARD_FRAMES)
        with httpx.Client(base_url=edge.base_url, timeout=60) as client:
            _report_source(client, edge, DOOR, "connected")
            _report_source(client, edge, YARD, "retrying")
            feed(client, edge, DOOR, jpegs[:DOOR_FRAMES], every=EVERY)
        yield Fed(edge, _post_at_once(edge, jpegs[DOOR_FRAMES:]))


def scrape(edge: EdgeProcess, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(edge.base_url + "/metrics", headers=headers, timeout=30)


@pytest.fixture(scope="module")
def samples(fed: Fed) -> dict[str, list[Sample]]:
    """The admin's scrape, parsed: family name -> its samples."""
    response = scrape(fed.edge, fed.edge.api_token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def value(
    samples: dict[str, list[Sample]], family: str, sample: str | None = None, **labels: str
) -> float:
    """The one sample of `family` named `sample` (default: the family's name) with `labels`."""
    name = sample or family
    found = [
        s.value
        for s in samples[family]
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, f"{name}{labels}: {found}"
    return found[0]


def total(samples: dict[str, list[Sample]], family: str, **labels: str) -> float:
    """A counter's `_total` sample with `labels`."""
    return value(samples, family, family + "_total", **labels)


def test_a_scrape_needs_a_readers_token(fed: Fed) -> None:
    assert scrape(fed.edge, None).status_code == 401
    assert scrape(fed.edge, "not-" + secrets.token_hex(8)).status_code == 401
    assert scrape(fed.edge, fed.edge.tokens[DOOR]).status_code == 401  # a camera may not read
    viewer = scrape(fed.edge, VIEWER_TOKEN)
    assert viewer.status_code == 200
    assert "appliance_camera_frames_received_total" in viewer.text


def test_openmetrics_when_the_scraper_asks_for_it(fed: Fed) -> None:
    response = httpx.get(
        fed.edge.base_url + "/metrics",
        headers={
            "Authorization": f"Bearer {VIEWER_TOKEN}",
            "Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
        },
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    families = {f.name for f in openmetrics_families(response.text)}
    assert "appliance_camera_latency_seconds" in families
    garbled = httpx.get(
        fed.edge.base_url + "/metrics",
        headers={"Authorization": f"Bearer {VIEWER_TOKEN}", "Accept": "text/plain;version=x.y"},
        timeout=30,
    )
    assert garbled.status_code == 406
    assert "version must be numbers" in garbled.json()["detail"]


def test_frames_sent_one_by_one_are_all_counted(samples: dict[str, list[Sample]]) -> None:
    def door(family: str, **labels: str) -> float:
        return total(samples, family, camera=DOOR, **labels)

    assert door("appliance_camera_frames_received") == DOOR_FRAMES
    assert door("appliance_camera_frames_read") == EVERY * (DOOR_FRAMES - 1) + 1
    assert door("appliance_camera_frames_analysed") == DOOR_FRAMES
    exits = [s for s in samples["appliance_camera_exits"] if s.labels["camera"] == DOOR]
    assert sum(s.value for s in exits) == DOOR_FRAMES
    assert door("appliance_camera_exits", exit="full") >= 1
    assert door("appliance_camera_detector_seconds") > 0
    assert not [s for s in samples["appliance_camera_frames_shed"] if s.labels["camera"] == DOOR]


def test_latency_histogram_counts_every_analysed_frame(samples: dict[str, list[Sample]]) -> None:
    family = "appliance_camera_latency_seconds"
    for camera in (DOOR, YARD):
        analysed = total(samples, "appliance_camera_frames_analysed", camera=camera)
        buckets = [
            s
            for s in samples[family]
            if s.name == family + "_bucket" and s.labels["camera"] == camera
        ]
        counts = [s.value for s in sorted(buckets, key=lambda s: float(s.labels["le"]))]
        assert counts == sorted(counts), f"{camera}: buckets not cumulative {counts}"
        assert buckets[-1].labels["le"] == "+Inf" and counts[-1] == analysed
        assert float(buckets[0].labels["le"]) == 0.01 and float(buckets[-2].labels["le"]) == 10
        assert value(samples, family, family + "_count", camera=camera) == analysed
        assert value(samples, family, family + "_sum", camera=camera) > 0


def test_every_answer_of_a_burst_is_counted_once(
    fed: Fed, samples: dict[str, list[Sample]]
) -> None:
    answers = fed.yard_answers
    assert sum(answers.values()) == YARD_FRAMES

    def yard(family: str, **labels: str) -> float:
        return total(samples, family, camera=YARD, **labels)

    assert yard("appliance_camera_frames_received") == YARD_FRAMES
    # The burst's uploads named no reason: each counted as the protocol's default, "changed".
    assert yard("appliance_camera_frames_received_by_reason", reason="changed") == YARD_FRAMES
    handled = yard("appliance_camera_frames_analysed") + yard("appliance_camera_frames_duplicate")
    assert handled == answers["200"]
    shed = {
        s.labels["reason"]: s.value
        for s in samples["appliance_camera_frames_shed"]
        if s.labels["camera"] == YARD
    }
    assert shed == {a[5:]: n for a, n in answers.items() if a.startswith("shed:")}
    rejected = {s.labels["reason"]: s.value for s in samples["appliance_uploads_rejected"]}
    assert rejected == ({"stale": answers["409"]} if answers["409"] else {})


def test_metrics_agree_with_the_stats_api(fed: Fed, samples: dict[str, list[Sample]]) -> None:
    with httpx.Client(base_url=fed.edge.base_url, timeout=30) as client:
        everything = stats(client, fed.edge)
    edge = everything["edge"]
    for camera in (DOOR, YARD):
        exits = {
            s.labels["exit"]: s.value
            for s in samples["appliance_camera_exits"]
            if s.labels["camera"] == camera
        }
        assert exits == edge["cameras"][camera]["exits"]
        sent_bytes = total(samples, "appliance_camera_received_bytes", camera=camera)
        assert sent_bytes == edge["cameras"][camera]["bytes_received"]
    workers = value(samples, "appliance_scheduler_workers")
    assert workers == edge["scheduler"]["workers"]
    # The SQLite file the frames went into, as the stats read it (a few KB apart at most).
    on_disk = value(samples, "appliance_store_database_bytes")
    assert on_disk > 0 and abs(on_disk - everything["store"]["database_mb"] * 1e6) < 1e6


def test_source_state_is_what_each_node_reported(samples: dict[str, list[Sample]]) -> None:
    states = {
        (s.labels["camera"], s.labels["state"])
        for s in samples["appliance_camera_source_state"]
        if s.value == 1
    }
    assert states == {(DOOR, "connected"), (YARD, "retrying")}
    assert len(samples["appliance_camera_source_state"]) == 2 * 5  # every state of both


def test_outbox_depth_is_the_unsent_rows(fed: Fed, samples: dict[str, list[Sample]]) -> None:
    with closing(sqlite3.connect(fed.edge.db_path)) as db:
        (unsent,) = db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()
    assert unsent > 0  # the door's people became events
    assert value(samples, "appliance_outbox_pending_messages") == unsent
    assert value(samples, "appliance_outbox_broker_connected") == 0
    assert total(samples, "appliance_outbox_sent_messages") == 0
