"""Edge → broker → cloud with real servers: a real Mosquitto broker, a real PostgreSQL server,
`appliance cloud` workers, and the edge as `appliance demo` on real footage or `appliance edge`
fed real vtest frames. Nothing is lost and nothing is stored twice when the broker goes away
mid-stream or the edge is SIGKILLed with unsent records; bad messages are recorded."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest
import yaml

from appliance.edge.server import free_port
from tests.cloud_processes import (
    PREFIX,
    SITE,
    cloud_record_ids,
    cloud_rows,
    cloud_section,
    cloud_worker,
    edge_rows,
    outbox_ids,
)
from tests.edge_process import PROJECT_ROOT, appliance_command, running_edge, stats
from tests.footage import vtest_frames
from tests.mosquitto_server import MosquittoServer
from tests.mqtt_clients import publish
from tests.server_process import wait_for

WAIT_S = 90
MQ_SECRET = "mq-" + secrets.token_hex(8)


def demo_command(work: Path, frames: int, broker_port: int) -> list[str]:
    config = work / "demo.yaml"
    config.write_text(yaml.safe_dump({"cloud": cloud_section(broker_port)}), encoding="utf-8")
    return [
        *appliance_command(), "--log-level", "WARNING", "demo", "--json", "--frames",
        str(frames), "--data-dir", str(work / "runs"), "--config", str(config),
    ]  # fmt: skip


def demo_database(work: Path) -> Path:
    return wait_for(lambda: next((work / "runs").glob("run-*/appliance.db"), None), 60, "demo db")


def assert_each_event_once(database_url: str, edge_db: Path) -> None:
    """Every edge event has exactly one start and one end record in the cloud, nothing else."""
    edge_events = {r[0] for r in edge_rows(edge_db, "SELECT id FROM events")}
    rows = cloud_rows(database_url, "SELECT event_id, type FROM cloud_events")
    assert edge_events and {e for e, _ in rows} == edge_events
    assert Counter(rows) == {(e, t): 1 for e in edge_events for t in ("start", "end")}


def assert_outbox_arrived_once(database_url: str, edge_db: Path) -> None:
    assert outbox_ids(edge_db, pending_only=True) == []
    cloud = cloud_record_ids(database_url)
    assert sorted(cloud) == sorted(set(cloud)) == sorted(outbox_ids(edge_db))


def test_demo_events_arrive_in_postgres_exactly_once(
    tmp_path: Path, mosquitto: MosquittoServer, postgres_db_url: str
) -> None:
    assert mosquitto.port is not None
    with cloud_worker(tmp_path, mosquitto.port, postgres_db_url, "worker-1"):
        result = subprocess.run(
            demo_command(tmp_path, 120, mosquitto.port),
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        edge_db = Path(summary["database"].removeprefix("sqlite:///"))
        # The demo's edge stopped only after the broker acknowledged every record.
        assert outbox_ids(edge_db) and outbox_ids(edge_db, pending_only=True) == []
        wait_for(
            lambda: len(cloud_record_ids(postgres_db_url)) == len(outbox_ids(edge_db)),
            WAIT_S,
            "every record in PostgreSQL",
        )
    assert summary["events"] > 0
    assert_each_event_once(postgres_db_url, edge_db)
    assert_outbox_arrived_once(postgres_db_url, edge_db)
    minutes = cloud_rows(postgres_db_url, "SELECT site, camera, frames FROM cloud_counts")
    assert minutes and all(s == SITE and c == "demo" and f > 0 for s, c, f in minutes)
    assert sum(f for _, _, f in minutes) == edge_rows(edge_db, "SELECT count(*) FROM frames")[0][0]
    assert cloud_rows(postgres_db_url, "SELECT count(*) FROM cloud_rejects") == [(0,)]


def test_broker_stopped_mid_stream_loses_and_duplicates_nothing(
    tmp_path: Path, mosquitto: MosquittoServer, postgres_db_url: str
) -> None:
    assert mosquitto.port is not None
    with cloud_worker(tmp_path, mosquitto.port, postgres_db_url, "worker-1"):
        demo = subprocess.Popen(
            demo_command(tmp_path, 300, mosquitto.port),
            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            edge_db = demo_database(tmp_path)
            wait_for(lambda: cloud_record_ids(postgres_db_url), WAIT_S, "the first records")
            mosquitto.stop()
            # Records written while the broker is away wait in the edge's outbox.
            wait_for(
                lambda: len(outbox_ids(edge_db, pending_only=True)) >= 3,
                WAIT_S,
                "records queued during the outage",
            )
            mosquitto.start()
            stdout, stderr = demo.communicate(timeout=300)
        finally:
            demo.kill()
        assert demo.returncode == 0, stderr.decode(errors="replace")
        wait_for(
            lambda: len(cloud_record_ids(postgres_db_url)) == len(outbox_ids(edge_db)),
            WAIT_S,
            "every record in PostgreSQL",
        )
    assert json.loads(stdout)["frames"] == 300
    assert_each_event_once(postgres_db_url, edge_db)
    assert_outbox_arrived_once(postgres_db_url, edge_db)


def post_vtest_frames(base_url: str, camera: str, token: str, count: int) -> None:
    start = time.time() - count * 0.1
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for seq, image in enumerate(vtest_frames(0, count), start=1):
            ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
            assert ok
            meta = {"seq": seq, "captured_at": start + seq * 0.1, "filter_score": 0.2}
            response = client.post(
                f"/api/v1/cameras/{camera}/frames",
                content=jpeg.tobytes(),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "image/jpeg",
                    "X-Frame-Meta": json.dumps(meta),
                },
            )
            assert response.status_code == 200, response.text


def test_sigkilled_edge_sends_its_unsent_records_after_restart(
    tmp_path: Path, postgres_db_url: str
) -> None:
    port = free_port()  # the broker is down while the edge works
    broker = MosquittoServer(port)
    tokens = {"gate": "gate-" + secrets.token_hex(12)}
    section = cloud_section(port, broker={
        "port": port, "reconnect_min_s": 1, "reconnect_max_s": 2,
        "username": "edge", "password": MQ_SECRET,
    })  # fmt: skip
    extra = {"cloud": section}
    with running_edge(tmp_path / "edge", tokens, extra=extra, log_level="INFO") as edge:
        post_vtest_frames(edge.base_url, "gate", tokens["gate"], 40)
        edge.process.kill()  # SIGKILL: no shutdown, no drain
        edge.process.wait()
        first_output = edge.output
    unsent = outbox_ids(edge.db_path, pending_only=True)
    assert any(i.endswith("/start") for i in unsent), unsent
    try:
        broker.start()
        with cloud_worker(tmp_path, port, postgres_db_url, "worker-1"):
            with running_edge(tmp_path / "edge", tokens, extra=extra, log_level="INFO") as again:
                wait_for(
                    lambda: set(unsent) <= set(cloud_record_ids(postgres_db_url)),
                    WAIT_S,
                    "the records left from before the kill",
                )
                wait_for(lambda: not outbox_ids(edge.db_path, pending_only=True), WAIT_S, "drain")
                with httpx.Client(base_url=again.base_url, timeout=10) as client:
                    cloud = stats(client, again)["cloud"]
            second_output = again.output  # stopped: it ended its open events and sent them
            wait_for(
                lambda: len(cloud_record_ids(postgres_db_url)) == len(outbox_ids(edge.db_path)),
                WAIT_S,
                "the records of the clean stop",
            )
    finally:
        broker.close()
    assert cloud["connected"] and cloud["pending"] == 0
    assert cloud["records_sent"] >= len(unsent) and cloud["cameras"]["gate"]["bytes_sent"] > 0
    assert cloud["bytes_per_camera_hour"] > 0
    stored = cloud_record_ids(postgres_db_url)
    assert sorted(stored) == sorted(set(stored)) == sorted(outbox_ids(edge.db_path))
    assert MQ_SECRET not in first_output + second_output


@pytest.fixture
def worker_with_secrets(tmp_path: Path, mosquitto: MosquittoServer, postgres_db_url: str) -> Any:
    assert mosquitto.port is not None
    url_with_password = postgres_db_url.replace("postgres@", f"postgres:{MQ_SECRET}@")
    broker = {"port": mosquitto.port, "username": "cloud", "password": MQ_SECRET}
    with cloud_worker(
        tmp_path, mosquitto.port, url_with_password, "worker-1",
        max_message_bytes=4096, broker=broker,
    ) as worker:  # fmt: skip
        yield worker


def test_malformed_and_oversized_messages_are_recorded_and_the_worker_goes_on(
    worker_with_secrets: Any, mosquitto: MosquittoServer, postgres_db_url: str
) -> None:
    assert mosquitto.port is not None
    events = f"{PREFIX}/{SITE}/cam1/events"
    good = {
        "schema": 1, "site": SITE, "camera": "cam1", "kind": "events",
        "records": [{
            "id": f"{SITE}/cam1/e1/start", "type": "start", "event": "e1", "label": "person",
            "track": 1, "started_at": 1.0, "last_seen_at": 2.0, "confidence": 0.8,
            "box": [1, 2, 3, 4], "hits": 3,
        }],
    }  # fmt: skip
    bad = [
        (events, b"\x00\xffnot json at all"),
        (events, json.dumps({**good, "records": [{"id": "x"}]}).encode()),
        (events, b"{" + b" " * 10_000 + b"}"),
        (f"{PREFIX}/{SITE}/cam1/video", json.dumps(good).encode()),
    ]
    publish(mosquitto.port, [*bad, (events, json.dumps(good).encode())])
    wait_for(
        lambda: cloud_record_ids(postgres_db_url) == [f"{SITE}/cam1/e1/start"],
        WAIT_S,
        "the good message after the bad ones",
    )
    rejects = cloud_rows(postgres_db_url, "SELECT topic, reason FROM cloud_rejects ORDER BY id")
    assert [t for t, _ in rejects] == [t for t, _ in bad]
    assert [r.split(":")[0] for _, r in rejects] == [
        "invalid", "invalid", "oversized", "unexpected topic",
    ]  # fmt: skip
    assert worker_with_secrets.process.poll() is None
    assert MQ_SECRET not in worker_with_secrets.output


def test_two_workers_share_the_subscription_without_double_writes(
    tmp_path: Path, mosquitto: MosquittoServer, postgres_db_url: str
) -> None:
    assert mosquitto.port is not None

    def health(n: int) -> tuple[str, bytes]:
        record = {"id": f"{SITE}/cam1/health/{n}/connected", "state": "connected", "since": n}
        body = {"schema": 1, "site": SITE, "camera": "cam1", "kind": "health", "records": [record]}
        return f"{PREFIX}/{SITE}/cam1/health", json.dumps(body).encode()

    messages = [health(n) for n in range(40)]
    redelivered = messages[::4]
    with (
        cloud_worker(tmp_path, mosquitto.port, postgres_db_url, "worker-1", "DEBUG") as one,
        cloud_worker(tmp_path, mosquitto.port, postgres_db_url, "worker-2", "DEBUG") as two,
    ):
        publish(mosquitto.port, messages + redelivered)
        wait_for(
            lambda: sum(w.output.count("already there") for w in (one, two)) == 50,
            WAIT_S,
            "both workers to handle all 50 messages",
        )
    assert one.stats["messages"] + two.stats["messages"] == len(messages) + len(redelivered)
    assert one.stats["messages"] > 0 and two.stats["messages"] > 0
    assert one.stats["records_stored"] + two.stats["records_stored"] == 40
    assert one.stats["duplicates"] + two.stats["duplicates"] == len(redelivered)
    assert len(cloud_record_ids(postgres_db_url)) == 40


def test_cloud_worker_config_error_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "cloud.yaml"
    config.write_text("broker:\n  port: 0\n", encoding="utf-8")
    result = subprocess.run(
        [*appliance_command(), "cloud", "--config", str(config)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"appliance: config error: {config}: ")
    assert "broker.port" in line and "database_url" in line


def test_cloud_worker_with_an_unreachable_database_hides_the_password(tmp_path: Path) -> None:
    config = tmp_path / "cloud.yaml"
    url = f"postgresql+psycopg://cloud:{MQ_SECRET}@127.0.0.1:{free_port()}/fleet"
    config.write_text(yaml.safe_dump({"database_url": url}), encoding="utf-8")
    result = subprocess.run(
        [*appliance_command(), "cloud", "--config", str(config)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "appliance: cloud: cannot open database" in result.stderr
    assert "cloud:***@127.0.0.1" in result.stderr
    assert MQ_SECRET not in result.stdout + result.stderr
