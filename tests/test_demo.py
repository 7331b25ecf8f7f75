"""`appliance demo` end to end on real footage: the summary a user reads is what is stored."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.detectors.labels import DEFAULT_LABELS_OF_INTEREST

APPLIANCE = [sys.executable, "-m", "appliance.cli", "--log-level", "WARNING"]
INTEREST = str(tuple(DEFAULT_LABELS_OF_INTEREST))
SUMMARY_KEYS = {"frames", "frames_sent", "bytes_sent", "detections", "events", "database"}


def run_demo(tmp_path: Path, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [*APPLIANCE, "demo", "--json", "--data-dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"--json must print exactly one line, got: {result.stdout!r}"
    summary: dict[str, Any] = json.loads(lines[0])
    return summary


def stored(database: str, sql: str) -> int:
    path = database.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        value: int = connection.execute(sql).fetchone()[0]
    return value


@pytest.fixture(scope="module")
def vtest_summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # The whole clip: 795 frames of an outdoor pedestrian scene.
    return run_demo(tmp_path_factory.mktemp("demo"), "--video", "vtest")


def test_summary_has_the_promised_fields(vtest_summary: dict[str, Any]) -> None:
    assert vtest_summary.keys() >= SUMMARY_KEYS
    assert vtest_summary["frames"] == 795


def test_filter_sends_fewer_frames_than_read(vtest_summary: dict[str, Any]) -> None:
    assert 0 < vtest_summary["frames_sent"] < vtest_summary["frames"]
    assert vtest_summary["bytes_sent"] > 0
    assert vtest_summary["upload_failures"] == 0


def test_people_and_vehicles_are_detected(vtest_summary: dict[str, Any]) -> None:
    # vtest: 3 to 6 people walk at any time beside parked cars and a van.
    database, sent = vtest_summary["database"], vtest_summary["frames_sent"]
    people = stored(database, "SELECT COUNT(*) FROM detections WHERE label = 'person'") / sent
    assert 2.5 <= people <= 8.0
    vehicles = "SELECT COUNT(*) FROM detections WHERE label IN ('car', 'truck', 'bus')"
    assert stored(database, vehicles) > 0.5 * sent, "the parked cars are in most frames"
    others = f"SELECT COUNT(*) FROM detections WHERE label NOT IN {INTEREST}"
    assert stored(database, others) == 0, "only the labels of interest are stored"


def test_events_and_detections_are_in_the_database(vtest_summary: dict[str, Any]) -> None:
    database = vtest_summary["database"]
    assert Path(database.removeprefix("sqlite:///")).is_file()
    assert stored(database, "SELECT COUNT(*) FROM frames") == vtest_summary["frames_sent"]
    assert stored(database, "SELECT COUNT(*) FROM detections") == vtest_summary["detections"]
    assert stored(database, "SELECT COUNT(*) FROM events") == vtest_summary["events"]
    # People walk in and out of view through the clip: several distinct tracks.
    assert stored(database, "SELECT COUNT(*) FROM events WHERE label = 'person'") >= 5
    assert stored(database, "SELECT COUNT(*) FROM events WHERE ended_at IS NULL") == 0
    assert stored(database, "SELECT COUNT(*) FROM events WHERE ended_at < started_at") == 0
    tracked = "SELECT COUNT(*) FROM detections WHERE track_id IS NOT NULL"
    assert stored(database, tracked) >= 0.8 * vtest_summary["detections"]


def test_every_event_has_a_snapshot(vtest_summary: dict[str, Any]) -> None:
    data_dir = Path(vtest_summary["data_dir"])
    database = vtest_summary["database"]
    with sqlite3.connect(database.removeprefix("sqlite:///")) as connection:
        snapshots = [row[0] for row in connection.execute("SELECT snapshot FROM events")]
    assert snapshots and all(snapshots)
    for relative in snapshots:
        assert (data_dir / relative).read_bytes().startswith(b"\xff\xd8\xff")


def test_demo_runs_on_the_bikes_clip(tmp_path: Path) -> None:
    summary = run_demo(tmp_path, "--video", "bikes", "--frames", "60")
    assert summary["frames"] == 60
    assert summary["video"].endswith("bikes.mp4")
    assert 0 < summary["frames_sent"] <= 60


def test_human_summary(tmp_path: Path) -> None:
    result = subprocess.run(
        [*APPLIANCE, "demo", "--frames", "30", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "frames_sent" in result.stdout and "database" in result.stdout


def test_changed_regions_cut_the_uplink_not_the_detections(tmp_path: Path) -> None:
    config = tmp_path / "whole.yaml"
    config.write_text("regions:\n  enabled: false\n", encoding="utf-8")
    whole = run_demo(tmp_path / "whole", "--frames", "150", "--config", str(config))
    regions = run_demo(tmp_path / "regions", "--frames", "150")  # the default
    assert regions["bytes_sent"] < 0.5 * whole["bytes_sent"]
    assert regions["upload_failures"] == 0
    per_frame = regions["detections"] / regions["frames_sent"]
    assert per_frame >= 0.85 * whole["detections"] / whole["frames_sent"]
