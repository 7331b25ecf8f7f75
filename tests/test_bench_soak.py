"""`appliance bench soak`: a real edge box and real camera nodes, briefly, then nothing left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from appliance.edge.store import CameraRow, Store, open_database
from tests.test_store import det, frame

MINUTES = 0.15
SAMPLE_S = 1.0
RETENTION_S = 3.0


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], Path]:
    work_dir, cache_dir = tmp_path_factory.mktemp("soak"), tmp_path_factory.mktemp("cache")
    # Frames kept 3 s, swept every second: a 9 s run must see retention hold them down.
    edge_yaml = tmp_path_factory.mktemp("config") / "edge.yaml"
    edge_yaml.write_text(
        f"retention: {{frames_days: {RETENTION_S / 86_400}, interval_s: 1}}\n", encoding="utf-8"
    )
    command = [sys.executable, "-m", "appliance.cli", "--log-level", "WARNING", "bench", "soak"]
    options = ["--cameras", "2", "--minutes", str(MINUTES), "--sample-s", str(SAMPLE_S)]
    options += ["--config", str(edge_yaml)]
    paths = ["--work-dir", str(work_dir), "--cache-dir", str(cache_dir)]
    done = subprocess.run(
        [*command, *options, *paths, "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    assert len(done.stdout.strip().splitlines()) == 1, "one JSON line on stdout, progress apart"
    return done.returncode, json.loads(done.stdout), work_dir


def test_samples_the_edge_process_after_warm_up(soak: tuple[int, dict[str, Any], Path]) -> None:
    _, report, _ = soak
    assert report["cameras"] == 2 and report["videos"][0] == "vtest.avi"
    assert report["videos"][1].startswith("bikes-loop"), "the 10 s clip is looped to a minute"
    assert report["interrupted"] is False and report["elapsed_s"] >= MINUTES * 60
    assert report["warmup_s"] == 4.5, "20% of 9 s is under a minute: half the run"
    # A sample every second over 9 s, and one at the end; about half after the warm-up.
    assert report["samples"] >= 7 and report["samples_after_warmup"] >= 3
    assert len(report["series"]) == report["samples"]
    # The edge holds the detector: far more than the interpreter alone.
    rss_low, rss_high = report["rss_mb_at_warmup_end"], report["rss_mb_max"]
    assert 100 < rss_low <= rss_high and report["rss_mb_final"] <= rss_high
    assert report["rss_slope_mb_per_hour"] is not None
    fds, sockets, threads = report["fds"], report["sockets"], report["threads"]
    # At least the listener, the soak's own connection and one per node.
    assert sockets["min"] >= 4 and fds["min"] > sockets["min"]
    assert threads["min"] >= 3 and fds["span"] == fds["max"] - fds["min"]


def test_counts_frames_errors_and_shedding(soak: tuple[int, dict[str, Any], Path]) -> None:
    code, report, _ = soak
    errors = report["errors"]
    assert errors["count"] == 0, errors
    assert errors["edge_exit_code"] == 0 and not errors["node_exit_codes"]
    assert report["frames_received"] > 0 and report["frames_analysed"] > 0
    assert report["frames_analysed"] <= report["frames_received"]
    # Stored as analysed (read while frames still arrive: the two may be a frame apart).
    assert 0 < report["store"]["frames"] <= report["frames_received"]
    assert report["shed_share"] is not None and 0 <= report["shed_share"] <= 1
    nodes = report["nodes"]
    assert nodes["runs"] >= 2 and nodes["frames_read"] >= report["frames_received"]
    # The exit code says whether the targets held, and the checks say which.
    assert set(report["checks"]) == {
        "samples",
        "rss_growth",
        "fds_flat",
        "threads_flat",
        "no_errors",
        "retention_holds",
    }
    assert report["meets_targets"] == all(report["checks"].values())
    assert code == (0 if report["meets_targets"] else 1)


def test_retention_keeps_the_store_within_its_horizon(
    soak: tuple[int, dict[str, Any], Path],
) -> None:
    _, report, work_dir = soak
    storage, series = report["storage"], report["store_series"]
    retention = storage["retention"]
    assert retention["frames_s"] == pytest.approx(RETENTION_S) and retention["interval_s"] == 1
    # Frames older than 3 s were swept: fewer are stored than the edge analysed over 9 s, and
    # no more than it analysed in the last 3 s, a sweep interval and a sample interval.
    assert retention["holds"] is True and report["checks"]["retention_holds"] is True
    assert 0 < storage["frames_final"] <= retention["frames_bound"] < report["frames_analysed"]
    assert storage["frames_final"] < series[-1]["frames_analysed"]
    # The store is sampled with the process, its size read from the edge's data directory.
    assert len(series) >= 7 and all(s["disk_mb"] > 0 for s in series)
    assert storage["disk_mb_final"] == series[-1]["disk_mb"]
    # The SQLite database (its file and journal) is part of the data directory.
    assert all(0 < s["database_mb"] <= s["disk_mb"] for s in series)
    assert storage["database_mb_final"] == series[-1]["database_mb"]
    assert (work_dir / "data").is_dir()


def test_every_process_it_started_is_gone(soak: tuple[int, dict[str, Any], Path]) -> None:
    _, _, work_dir = soak
    # Every edge and node ran with a config from the work dir: none may still be running.
    assert (work_dir / "edge.yaml").is_file() and (work_dir / "cam1.yaml").is_file()
    assert not _running_with(str(work_dir))


def _running_with(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and int(entry) != os.getpid():
            found.append(int(entry))
    return found


def test_a_database_that_holds_frames_already_is_refused_and_kept(
    tmp_path: Path, postgres_db_url: str
) -> None:
    """The soak runs in the database the edge YAML names, and counts its rows as the run's
    own: one holding a frame already is refused before any camera starts, and kept."""
    database = open_database(postgres_db_url)
    try:
        store = Store(database)
        store.ensure_cameras([CameraRow("old", "Earlier")])
        # Captured now: the edge's retention (7 days) would sweep an older frame at start.
        store.record_analysis(frame(camera_id="old", at=time.time()), [det()], [])
    finally:
        database.dispose()
    edge_yaml = tmp_path / "edge.yaml"
    edge_yaml.write_text(f"database_url: {postgres_db_url}\n", encoding="utf-8")
    command = [sys.executable, "-m", "appliance.cli", "--log-level", "WARNING", "bench", "soak"]
    options = ["--cameras", "1", "--minutes", "0.1", "--config", str(edge_yaml)]
    paths = ["--work-dir", str(tmp_path / "work"), "--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run(
        [*command, *options, *paths], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 1 and "holds 1 frames already" in done.stderr, done.stderr
    assert "database_url" in done.stderr and not (tmp_path / "work" / "cam0.yaml").exists()
    database = open_database(postgres_db_url)
    try:
        assert Store(database).totals().frames == 1  # nothing removed
    finally:
        database.dispose()
