"""`appliance bench uplink` end to end on the first seconds of vtest: one JSON line with the
figures the issue asks for, and metadata far smaller than the video."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.edge_process import PROJECT_ROOT, appliance_command

KEYS = {
    "camera_hours",
    "cloud_bytes",
    "cloud_bytes_per_camera_hour",
    "messages",
    "input_video_bytes",
    "all_frames_jpeg_bytes",
}


def test_bench_uplink_json() -> None:
    result = subprocess.run(
        [*appliance_command(), "--log-level", "WARNING", "bench", "uplink", "--video", "vtest",
         "--frames", "60", "--json"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.strip().splitlines()
    figures = json.loads(line)
    assert figures.keys() >= KEYS
    assert figures["frames"] == 60
    assert figures["camera_hours"] == round(60 / 10 / 3600, 6)  # vtest is 10 fps
    assert figures["messages"] > 0 and figures["records"] >= figures["messages"]
    assert figures["cloud_bytes"] == sum(figures["cloud_bytes_by_kind"].values()) > 0
    per_hour = figures["cloud_bytes"] / (60 / 10 / 3600)
    assert figures["cloud_bytes_per_camera_hour"] == pytest.approx(per_hour, abs=1)
    assert figures["cloud_bytes"] < figures["input_video_bytes"] / 20
    assert figures["input_video_bytes"] < figures["all_frames_jpeg_bytes"]
