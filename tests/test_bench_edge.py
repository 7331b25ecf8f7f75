"""`appliance bench edge` on real footage: the cascade's report against detect-every-frame."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_bench_edge_reports_cascade_and_baseline(tmp_path: Path) -> None:
    config = tmp_path / "edge.yaml"
    config.write_text(
        "cameras: [{id: bench, token: bench-token}]\nearly_exit: {full_interval_s: 1.0}\n"
        # HOG scans regions window for window: the cascade's regions exit with a known cost.
        "detector: {kind: hog}\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "appliance.cli",
            "bench",
            "edge",
            "--frames",
            "30",
            "--json",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report = json.loads(done.stdout)
    baseline = report["baseline"]
    assert report["frames"] == baseline["frames"] == 30
    assert baseline["detector_calls"] == 30 and baseline["f1"] == 1.0
    assert sum(report["exits"].values()) == 30
    # Frame 0 and a refresh every second (10 fps): three whole-frame runs; the rest by regions.
    assert report["detector_calls"] == report["exits"]["full"] == 3
    assert report["exits"]["regions"] == 27
    assert 0 < report["scanned_fraction"] < 1
    assert report["f1"] >= 0.9, "regions answer as the full detector does"
    assert report["early_exit"]["full_interval_s"] == 1.0
    assert set(report["targets"]) == {"detector_calls_ratio", "ms_ratio", "met"}


def test_bench_edge_names_a_missing_video() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "bench", "edge", "--video", "/nowhere.avi"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "/nowhere.avi" in done.stderr
    assert "Traceback" not in done.stderr
