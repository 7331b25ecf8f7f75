"""Faults a box meets over years, on real processes: its data disk fills up, its PostgreSQL
restarts under load, it is killed (SIGKILL, power cut) in the middle of writes. Frames are
refused with a clear status while the fault lasts, nothing stored is damaged, nothing
acknowledged is lost, and the box recovers by itself."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.api_edge import meta, next_time
from tests.edge_process import running_edge, store_totals
from tests.live_edge import vtest_jpegs
from tests.pg_server import PostgresServer

CAMERA, TOKEN = "door", "door-token-1234"
API_TOKEN = "api-token-5678"
FRAMES = vtest_jpegs(40)


def post(client: httpx.Client, seq: int, captured_at: float | None = None) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "image/jpeg",
        "X-Frame-Meta": meta(seq=seq, captured_at=captured_at),
    }
    jpeg = FRAMES[seq % len(FRAMES)]
    return client.post(f"/api/v1/cameras/{CAMERA}/frames", content=jpeg, headers=headers)


def stored_frames(url: str) -> set[tuple[int, float]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT seq, captured_at FROM frames"))
            return {(int(seq), float(at)) for seq, at in rows}
    finally:
        engine.dispose()


def intact(db_path: Path) -> bool:
    with sqlite3.connect(db_path) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 8 MB filesystem of its own (tmpfs), so the test can fill it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:  # the test needs root, as the README's test command runs
        pytest.skip(f"cannot mount a small filesystem here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_refuses_frames_clearly_damages_nothing_and_recovers(
    tmp_path: Path, small_disk: Path
) -> None:
    extra = {"data_dir": str(small_disk / "data")}
    with running_edge(tmp_path / "edge", {CAMERA: TOKEN}, API_TOKEN, extra=extra) as edge:
        client = httpx.Client(base_url=edge.base_url, timeout=30)
        assert all(post(client, seq).status_code == 200 for seq in range(0, 20, 2))
        before = store_totals(client, edge)
        events = client.get("/api/v1/events", headers=edge.read_headers()).json()
        assert events and all(e["snapshot"] for e in events)
        filler = fill(small_disk)

        refused = [post(client, seq) for seq in range(20, 30, 2)]
        assert {r.status_code for r in refused} == {507}
        assert "disk is full" in refused[0].json()["detail"]
        assert store_totals(client, edge) == before
        for event in events:  # what was stored is still there, pictures included
            path = f"/api/v1/events/{event['id']}/snapshot.jpg"
            snapshot = client.get(path, headers=edge.read_headers())
            assert snapshot.status_code == 200 and snapshot.content[:2] == b"\xff\xd8"

        filler.unlink()  # space returns: the next frames are taken, no restart needed
        assert all(post(client, seq).status_code == 200 for seq in range(30, 40, 2))
        assert store_totals(client, edge)["frames"] == before["frames"] + 5
        assert edge.running
        client.close()
    assert edge.returncode == 0
    assert intact(small_disk / "data" / "appliance.db")
    assert edge.stderr.count("the disk is full") == 1  # one line, not one per frame


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


def test_postgres_restarted_under_load(tmp_path: Path, postgres: PostgresServer) -> None:
    extra = {"database_url": postgres.url}
    acknowledged: set[tuple[int, float]] = set()
    statuses: list[int] = []
    with running_edge(tmp_path / "edge", {CAMERA: TOKEN}, API_TOKEN, extra=extra) as edge:
        client = httpx.Client(base_url=edge.base_url, timeout=30)

        def send(seqs: range) -> None:
            for seq in seqs:
                at = next_time()
                response = post(client, seq, at)
                statuses.append(response.status_code)
                if response.status_code == 200:
                    acknowledged.add((seq, at))
                else:
                    assert response.status_code == 503, response.text
                    assert "database" in response.json()["detail"]
                    assert "psycopg" not in response.text  # no driver text for cameras

        send(range(0, 10))
        postgres.pause()
        send(range(10, 14))  # the database is down: refused, clearly
        postgres.resume()
        send(range(14, 30))  # back: taken again without restarting the edge
        client.close()
    assert statuses[10:14] == [503] * 4
    assert statuses[-5:] == [200] * 5
    assert acknowledged <= stored_frames(postgres.url)  # nothing acknowledged was lost
    assert edge.returncode == 0


def test_killed_in_the_middle_of_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    work = tmp_path / "edge"
    acknowledged: set[tuple[int, float]] = set()
    with running_edge(work, {CAMERA: TOKEN}, API_TOKEN) as edge:
        stop = threading.Event()

        def send() -> None:
            with httpx.Client(base_url=edge.base_url, timeout=30) as client:
                for seq in range(10_000):
                    if stop.is_set():
                        return
                    at = next_time()
                    try:
                        response = post(client, seq, at)
                    except httpx.TransportError:
                        return  # the box died under this request: not acknowledged
                    if response.status_code == 200:
                        acknowledged.add((seq, at))

        sender = threading.Thread(target=send)
        sender.start()
        threading.Event().wait(2.5)
        os.kill(edge.process.pid, signal.SIGKILL)
        edge.process.wait(10)
        stop.set()
        sender.join(30)
        db_path = edge.db_path
    assert len(acknowledged) >= 10
    assert intact(db_path)
    assert acknowledged <= stored_frames(f"sqlite:///{db_path}")
    # The box starts again on the same data and takes frames.
    with (
        running_edge(work, {CAMERA: TOKEN}, API_TOKEN) as again,
        httpx.Client(base_url=again.base_url, timeout=30) as client,
    ):
        assert post(client, 20_000).status_code == 200
        assert store_totals(client, again)["frames"] == len(stored_frames(f"sqlite:///{db_path}"))
