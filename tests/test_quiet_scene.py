"""A camera that mostly watches an empty scene stays almost silent, yet reports every visit.

The clip is built from real footage (appliance.bench.quiet_clip): vtest's background plate with
sensor noise and slow light drift, and two short stretches of real vtest frames with people.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from typing import Any

import pytest

from appliance.bench.quiet_clip import QuietClip, QuietClipSpec, build_quiet_clip
from tests.footage import vtest_path

SPEC = QuietClipSpec(quiet_s=(30.0, 30.0, 30.0), busy_s=4.0)


@pytest.fixture(scope="module")
def quiet_clip(tmp_path_factory: pytest.TempPathFactory) -> QuietClip:
    return build_quiet_clip(vtest_path(), tmp_path_factory.mktemp("quiet") / "quiet.mp4", SPEC)


@pytest.fixture(scope="module")
def demo_run(quiet_clip: QuietClip, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data_dir = tmp_path_factory.mktemp("quiet-demo")
    # Default labels: the plate's parked cars are tracked too, and must not keep the camera
    # sending (they become stationary).
    command = [sys.executable, "-m", "appliance.cli", "--log-level", "WARNING", "demo"]
    result = subprocess.run(
        [
            *command,
            "--json",
            "--video",
            str(quiet_clip.path),
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def event_frames(
    summary: dict[str, Any], fps: float, label: str = "person"
) -> list[tuple[float, float]]:
    """Each `label` event's [start, end] as frame positions in the clip."""
    path = summary["database"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (first,) = db.execute("SELECT MIN(captured_at) FROM frames").fetchone()
        query = "SELECT started_at, ended_at FROM events WHERE label = ?"
        rows = db.execute(query, (label,)).fetchall()
    return [((start - first) * fps, (end - first) * fps) for start, end in rows]


def test_few_frames_leave_the_camera(quiet_clip: QuietClip, demo_run: dict[str, Any]) -> None:
    assert demo_run["frames"] == quiet_clip.frames
    assert demo_run["frames_sent"] <= 0.05 * quiet_clip.frames, demo_run


def test_every_visit_is_reported(quiet_clip: QuietClip, demo_run: dict[str, Any]) -> None:
    events = event_frames(demo_run, quiet_clip.fps)
    for start, end in quiet_clip.busy:
        overlapping = [e for e in events if e[0] < end and e[1] >= start]
        assert overlapping, f"no event while people were present in frames {start}-{end}"


def test_no_event_in_the_empty_scene(quiet_clip: QuietClip, demo_run: dict[str, Any]) -> None:
    # Events may outlast a visit by the tracker's max age (2 s), never start in an empty stretch.
    slack = 1 * quiet_clip.fps
    for start, _ in event_frames(demo_run, quiet_clip.fps):
        assert any(s - slack <= start <= e + slack for s, e in quiet_clip.busy), start


def test_parked_vehicles_are_one_event_each(
    quiet_clip: QuietClip, demo_run: dict[str, Any]
) -> None:
    # The plate's parked vehicles are seen from the first frame; they become stationary, so
    # they neither keep the camera sending (above) nor come back as new events at each visit.
    vehicles = [
        start
        for label in ("car", "truck", "bus")
        for start, _ in event_frames(demo_run, quiet_clip.fps, label)
    ]
    assert vehicles, "the parked car in the scene was not reported"
    assert all(start <= 5 * quiet_clip.fps for start in vehicles), vehicles


def test_visitors_to_the_still_scene_are_reported_at_once(
    quiet_clip: QuietClip, demo_run: dict[str, Any]
) -> None:
    """People who come into the still scene get their second look at the next frame, not a skip
    share's gap later (`QueryController.most_skip`): each visit's first event is reported by its
    third frame (0.2 s; a gap later, 0.4 s, before)."""
    path = demo_run["database"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (first,) = db.execute("SELECT MIN(captured_at) FROM frames").fetchone()
        rows = db.execute("SELECT confirmed_at FROM events WHERE label = 'person'").fetchall()
    reported = [(at - first) * quiet_clip.fps for (at,) in rows if at is not None]
    for start, end in quiet_clip.busy:
        during = [f for f in reported if start <= f < end]
        assert during and min(during) <= start + 2.5, (start, sorted(during)[:3])
