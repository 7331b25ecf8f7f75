"""`appliance bench system`: the shipped node and edge end to end on real footage, per query.

The same 200 frames of vtest (people walking) run through the real camera node and edge box
once per query: events need fewer frames than boxes, and what each query buys shows in its
own figure. The reference analysis is computed once and cached for the three runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.bench.system import run_system_bench
from appliance.bench.system_report import format_system_report
from appliance.sample_clips import resolve_video
from cameras.config import CameraConfig
from pipelines.feedback import Query

FRAMES = 200
KEYS = {"frames_sent", "bytes_sent", "boxes", "counts", "events"}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-cache")


@pytest.fixture(scope="module")
def events_run(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Through the CLI, with camera and edge configs as a user writes them."""
    folder = tmp_path_factory.mktemp("configs")
    camera = folder / "camera.yaml"
    camera.write_text(
        yaml.safe_dump(
            {"id": "lobby", "source": "unused", "edge_url": "http://unused", "token": "t" * 16}
        )
    )
    edge = folder / "edge.yaml"
    edge.write_text(
        yaml.safe_dump(
            {
                "filter_control": {"query": "events"},
                "cameras": [{"id": "lobby", "token": "t" * 16}],
            }
        )
    )
    command = [sys.executable, "-m", "appliance.cli", "--log-level", "WARNING", "bench", "system"]
    options = ["--video", "vtest", "--frames", str(FRAMES), "--cache-dir", str(cache_dir)]
    result = subprocess.run(
        [*command, *options, "--config", str(camera), str(edge), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def run(query: Query, cache_dir: Path) -> dict[str, Any]:
    return run_system_bench(resolve_video("vtest"), FRAMES, None, None, query, cache_dir)


@pytest.fixture(scope="module")
def boxes_run(cache_dir: Path) -> dict[str, Any]:
    return run(Query.BOXES, cache_dir)


def test_the_report_scores_the_system_and_every_baseline(events_run: dict[str, Any]) -> None:
    assert events_run["frames"] == FRAMES and events_run["query"] == "events"
    assert events_run.keys() >= KEYS
    assert events_run["baselines"].keys() == {"all_frames", "uniform", "static_threshold"}
    for baseline in events_run["baselines"].values():
        assert baseline.keys() >= KEYS
    assert events_run["baselines"]["all_frames"]["frames_sent"] == FRAMES
    assert events_run["events"].keys() >= {"recall", "precision", "p95_delay_s"}
    assert events_run["boxes"].keys() >= {"f1", "f1_busy"}
    assert events_run["counts"].keys() >= {"accuracy", "mae_per_second"}
    # What the edge stored was read back: its events, and frames sent as regions.
    assert events_run["events"]["reported"] > 0 and events_run["exits"]["regions"] > 0
    assert events_run["control"]["query"] == "events"
    assert events_run["control"]["estimated_accuracy"] is not None
    # The node followed the tracked people through every frame and said where they went.
    assert events_run["control"]["follows_boxes"] is True
    assert events_run["node"]["follow_ms_per_input_frame"] > 0
    # Why the node sent each frame: every frame counted once, the first as "first".
    reasons = events_run["node"]["sent_by_reason"]
    assert sum(reasons.values()) == events_run["frames_sent"] and reasons["first"] == 1
    assert reasons.keys() <= {"first", "changed", "arrival", "moved", "keepalive"}
    # Without --json, the table says the same in words.
    text = format_system_report(events_run)
    assert f"first {reasons['first']}" in text.splitlines()[-1]
    assert "camera following the tracked boxes" in text


def test_events_are_found_with_fewer_frames_than_boxes_need(
    events_run: dict[str, Any], boxes_run: dict[str, Any]
) -> None:
    boxes = boxes_run
    assert boxes["control"]["query"] == "boxes"
    assert events_run["frames_sent"] < 0.9 * boxes["frames_sent"]
    assert events_run["frames_sent"] < 0.6 * FRAMES  # people walk all the time on vtest
    assert events_run["events"]["recall"] >= 0.9  # what the events query is for
    assert boxes["boxes"]["f1"] > events_run["boxes"]["f1"]  # what the frames bought


def test_counts_need_fewer_frames_than_boxes(cache_dir: Path, boxes_run: dict[str, Any]) -> None:
    counts = run(Query.COUNTS, cache_dir)
    boxes = boxes_run
    assert counts["control"]["query"] == "counts"
    assert counts["frames_sent"] < 0.9 * boxes["frames_sent"]
    assert counts["counts"]["accuracy"] >= 0.9
    # After its first seconds the camera sends when its count of moving blobs changes.
    assert counts["node"]["sent_by_reason"]["stale"] > counts["frames_sent"] / 2


def test_a_camera_with_its_own_detector_answers_counts_with_fewer_frames_than_any_baseline(
    cache_dir: Path, trained_model: Path
) -> None:
    """The node runs the trained model on every frame and sends a frame when its count of
    people changes: the edge's count holds the target, and every baseline tuned in hindsight
    to the same accuracy needs more frames for it."""
    tiny = {"kind": "yolo-onnx", "yolo_onnx": {"model_path": str(trained_model)}}
    camera = CameraConfig(
        id="lobby", source="unused", edge_url="http://unused", token="t" * 16, tiny_detector=tiny
    )
    video = resolve_video("vtest")
    report = run_system_bench(video, FRAMES, camera, None, Query.COUNTS, cache_dir)
    assert report["control"]["query"] == "counts"
    assert report["node"]["detector_ms_per_input_frame"] is not None  # it ran on every frame
    assert report["counts"]["accuracy"] >= 0.9
    assert report["exits"]["regions"] == 0  # frames the camera found the count stale on: whole
    # Every frame after the first went because the count it held went stale, nothing else.
    assert report["node"]["sent_by_reason"] == {"stale": report["frames_sent"] - 1, "first": 1}
    fewest = min(
        b["frames_sent"] for b in report["baselines"].values() if b["reached"] is not False
    )
    assert report["frames_sent"] < 0.8 * fewest, (report["frames_sent"], report["baselines"])
