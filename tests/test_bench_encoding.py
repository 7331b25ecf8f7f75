"""`appliance bench encoding` on real footage: the edge's detector on the camera's JPEG settings
against its detections on the original frames."""

from __future__ import annotations

import json
import subprocess
import sys

BENCH = [sys.executable, "-m", "appliance.cli", "bench", "encoding"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BENCH, *args], capture_output=True, text=True, timeout=600)


def test_bench_encoding_scores_each_setting_against_the_original_frames() -> None:
    done = run("--frames", "40", "--every", "2", "--qualities", "20,100", "--chromas", "444",
               "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["frames_measured"] == 20
    detector = report["detector"]  # the edge's default: the trained model, named in full
    assert (detector["kind"], detector["input_size"], detector["precision"]) == (
        "yolo-onnx", 416, "fp32",
    ) and detector["model"].endswith("yolov3-tiny-416.onnx")  # fmt: skip
    assert report["detections_on_originals"] > 20, "people walk through all of vtest"
    rows = {(r["quality"], r["chroma"]): r for r in report["settings"]}
    # The camera default is always measured: it is what the bytes are compared with.
    assert report["camera_default"] == {"quality": 80, "chroma": "444"}
    assert set(rows) == {(20, "444"), (100, "444"), (80, "444")}
    default, coarse, fine = rows[(80, "444")], rows[(20, "444")], rows[(100, "444")]
    assert default["bytes_vs_default"] == 1.0
    assert coarse["kb_per_frame"] < default["kb_per_frame"] < fine["kb_per_frame"]
    assert coarse["bytes_vs_default"] < 1.0 < fine["bytes_vs_default"]
    for row in rows.values():
        assert 0.0 <= row["precision"] <= 1.0 and 0.0 <= row["recall"] <= 1.0
        assert 0.0 < row["f1"] <= 1.0
    # Quality 100 is nearly the original; 20 blurs small people away, and the trained detector
    # loses some of them (HOG lost far more; quality 20 to 80 moves f1 by about 0.01 only).
    assert fine["f1"] >= 0.95 and coarse["f1"] < fine["f1"]


def test_bench_encoding_refuses_an_unknown_chroma_naming_it() -> None:
    done = run("--chromas", "420,422")
    assert done.returncode == 2 and "422" in done.stderr and "--chromas" in done.stderr
    assert "Traceback" not in done.stderr
