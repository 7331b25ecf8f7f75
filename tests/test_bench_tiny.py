"""`appliance bench tiny` on real footage: the camera's tiny detectors (motion blobs, the trained
model at small input sizes) on the frames its difference filter passes, against the edge's
detector on the same frames."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

BENCH = [sys.executable, "-m", "appliance.cli", "bench", "tiny"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BENCH, *args], capture_output=True, text=True, timeout=600)


def test_tiny_detectors_are_scored_against_the_edge() -> None:
    done = run("--frames", "30", "--sizes", "224,416", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["frames"] == 30
    assert 20 <= report["frames_passed"] < 30, "people move in vtest; the first frame goes anyway"
    assert report["reference"]["kind"] == "yolo-onnx"
    rows: dict[str, dict[str, Any]] = {r["name"]: r for r in report["detectors"]}
    assert set(rows) == {"motion", "yolo-224", "yolo-416"}
    # The edge's own model at its own size is the reference itself: it finds all of it.
    assert rows["yolo-416"]["reference_boxes_found"] == 1.0
    assert rows["yolo-416"]["frames_with_objects_kept"] == 1.0
    # A smaller input misses small people; the motion blobs are loose boxes around groups.
    assert rows["yolo-224"]["reference_boxes_found"] < 1.0
    assert rows["motion"]["reference_boxes_found"] < rows["yolo-224"]["reference_boxes_found"]
    assert rows["motion"]["reference_boxes_covered"] > rows["motion"]["reference_boxes_found"]
    for row in rows.values():
        assert row["ms_per_passed_frame"] > 0
        assert row["empty_frames_dropped"] is None, "vtest has people in every frame"
    assert rows["yolo-224"]["ms_per_passed_frame"] < rows["yolo-416"]["ms_per_passed_frame"]


def test_sizes_must_be_multiples_of_32() -> None:
    done = run("--sizes", "250")
    assert done.returncode == 2
    assert "multiples of 32" in done.stderr and "Traceback" not in done.stderr


def test_a_missing_model_is_named() -> None:
    done = run("--frames", "2", "--model", "no/such/tiny.onnx")
    assert done.returncode == 1
    assert "no/such/tiny.onnx" in done.stderr and "Traceback" not in done.stderr
