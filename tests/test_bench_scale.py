"""`appliance bench scale`: real camera node processes against a real edge box process."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_scale_runs_real_nodes_against_one_edge() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "appliance.cli",
            "bench",
            "scale",
            "--cameras",
            "2",
            "--seconds",
            "4",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["cameras"] == 2 and len(report["runs"]) == 1
    assert report["frames_read"] == 2 * 40, "each camera replays 4 s of the 10 fps clip"
    assert 0 < report["frames_analysed"] <= report["frames_chosen"] <= report["frames_read"]
    # The cameras' own counts agree with the edge's.
    assert report["frames_answered_to_cameras"] == report["frames_analysed"]
    assert report["shed_seen_by_cameras"] == sum(report["dropped_at_edge"].values())
    assert report["p95_latency_ms"] is not None and report["p95_latency_ms"] > 0
    assert sum(report["exits"].values()) == report["frames_analysed"]
    assert isinstance(report["realtime"], bool) and report["max_lag_s"] >= 0
    dropped, chosen = report["dropped"], report["frames_chosen"]
    assert report["shed_fraction"] == round(dropped / chosen, 4)
    detector = report["detector"]  # the edge's own account of what it ran
    assert detector["kind"] == "yolo-onnx" and detector["input_size"] == 416
    assert detector["batches"]["images"] >= report["exits"]["full"]  # a full exit runs one
    # Memory as each process measured itself: an edge with the model loaded holds far more than
    # a camera node, and both hold more than the interpreter alone.
    assert 20 < report["camera_peak_rss_mb"] < report["edge_peak_rss_mb"]
