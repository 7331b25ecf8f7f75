"""`appliance bench scale`: real camera node processes against a real edge box process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cameras.detector_config import DEFAULT_MODEL_PATH

SCALE = [sys.executable, "-m", "appliance.cli", "bench", "scale"]


def test_bench_scale_runs_real_nodes_against_one_edge(tmp_path: Path) -> None:
    # The edge runs the user's settings (here the default model at 320); the benchmark sets
    # its cameras, address and store.
    config = tmp_path / "edge.yaml"
    config.write_text(
        f"detector:\n  yolo_onnx:\n    model_path: {DEFAULT_MODEL_PATH}\n    input_size: 320\n"
        "cameras: [{id: mine, token: not-the-benchmarks}]\n"
    )
    done = subprocess.run(
        [*SCALE, "--cameras", "2", "--seconds", "4", "--config", str(config), "--json"],
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
    assert detector["kind"] == "yolo-onnx" and detector["input_size"] == 320
    assert detector["batches"]["images"] >= report["exits"]["full"]  # a full exit runs one
    # Memory as each process measured itself: an edge with the model loaded holds far more than
    # a camera node, and both hold more than the interpreter alone.
    assert 20 < report["camera_peak_rss_mb"] < report["edge_peak_rss_mb"]


def test_a_bad_edge_config_is_named_before_anything_starts(tmp_path: Path) -> None:
    config = tmp_path / "edge.yaml"
    config.write_text("detector:\n  yolo_onnx:\n    input_size: 5\n")
    done = subprocess.run(
        [*SCALE, "--cameras", "1", "--seconds", "1", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"appliance: config error: {config}: detector.yolo_onnx.input_size: Input should be"
        " greater than or equal to 32"
    ]
