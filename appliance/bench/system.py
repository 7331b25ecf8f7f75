"""`appliance bench system`: the shipped camera node and edge box end to end on a clip.

The edge box runs with its HTTP API on a loopback port and a fresh SQLite store; the camera
node reads the clip (at its frame rate with --realtime, else as fast as the edge answers,
stamped with the clip's timestamps) and posts what it chooses: difference filter, tiny
detector, changed regions, budget, the edge's early-exit cascade, tracker and query control,
exactly as configured. What the edge stored is then read back and scored by the one scorer
(`pipelines.system_score`) against the full detector on every original frame (cached per
clip), beside baselines tuned in hindsight to the same accuracy (`pipelines.query_baselines`).
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.bench.built_clips import bench_video
from appliance.bench.clip import load_or_analyse
from appliance.bench.frame_total import frames_to_read
from appliance.bench.stored_run import StoredRun, read_stored_run
from appliance.bench.system_report import baseline_rows, format_system_report, scored
from appliance.config_loader import load_config
from appliance.edge.access_config import ListenConfig
from appliance.edge.box import EdgeBox
from appliance.edge.camera_settings import query_status
from appliance.edge.config import EdgeCameraConfig, EdgeConfig
from appliance.edge.server import EdgeServer, free_port
from appliance.progress import SILENT, Progress, progress_from
from appliance.sample_clips import FootageError
from cameras.config import CameraConfig
from cameras.heartbeat import Heartbeat
from cameras.jpeg import JpegSettings
from cameras.node import NodeStats
from cameras.runtime import run_camera_node
from pipelines.feedback import Query
from pipelines.query_baselines import BaselineSearch
from pipelines.system_score import query_reference, score_system

CAMERA_ID = "bench"


@dataclass(frozen=True)
class SystemRun:
    node: NodeStats
    stored: StoredRun
    edge: dict[str, Any]
    """The edge's stats for the camera (`GET /api/v1/stats`)."""
    control: dict[str, Any]
    """The query control's state at the end (query, target, estimate, threshold, skip)."""
    elapsed_s: float


def run_system_command(args: argparse.Namespace) -> int:
    video = bench_video(args.video, args.cache_dir)
    camera, edge = _configs(args.config)
    query = Query(args.query) if args.query else None
    report = run_system_bench(
        video, args.frames, camera, edge, query, args.cache_dir, args.no_cache, args.realtime,
        progress_from(args),
    )  # fmt: skip
    print(json.dumps(report) if args.json else format_system_report(report))
    return 0


def _configs(paths: list[Path] | None) -> tuple[CameraConfig | None, EdgeConfig | None]:
    if not paths:
        return None, None
    camera_path, edge_path = paths
    return load_config(camera_path, CameraConfig), load_config(edge_path, EdgeConfig)


def run_system_bench(
    video: Path,
    frames: int | None,
    camera: CameraConfig | None,
    edge: EdgeConfig | None,
    query: Query | None,
    cache_dir: Path,
    refresh: bool = False,
    realtime: bool = False,
    progress: Progress = SILENT,
) -> dict[str, Any]:
    started = time.perf_counter()
    camera = camera or CameraConfig(
        id=CAMERA_ID, source=str(video), edge_url="http://unused", token="x" * 16
    )
    edge = edge or EdgeConfig(cameras=[EdgeCameraConfig(id=camera.id, token="x" * 16)])
    jpeg = JpegSettings(camera.jpeg_quality, camera.jpeg_chroma)
    difference = camera.filter.settings()
    weak_floor = edge.tracker.weak_confidence  # the reference's tracker continues as the edge's
    analysed = load_or_analyse(
        video, frames, jpeg, edge.detector, difference, cache_dir, refresh, progress, weak_floor
    )
    if analysed.clip.frames == 0:
        raise FootageError(f"no frames could be decoded from {video}")
    tracker = edge.tracker.settings()
    clip = analysed.clip
    reference = query_reference(clip.timestamps, clip.raw_detections, tracker, clip.raw_weak)
    total = frames_to_read(video, frames)
    with (
        tempfile.TemporaryDirectory(prefix="bench-system-") as data_dir,
        progress.stage("camera node and edge box", total) as stage,
    ):
        run = run_system(
            video, frames, camera, edge, query, Path(data_dir), analysed.fps, realtime, stage.tick
        )
    chosen = Query(run.control["query"]) if run.control["query"] else Query.EVENTS
    with progress.timed("scoring, tuning the baselines"):
        system = score_system(run.stored.analysed, run.stored.events, reference)
        search = BaselineSearch(analysed.clip, reference, tracker, chosen)
        target = system.accuracy(chosen)
        baselines = search.tuned(difference, target)
    return {
        "video": str(video),
        "frames": clip.frames,
        "fps": analysed.fps,
        "query": chosen.value,
        "control": run.control,
        **scored(len(run.stored.analysed), run.stored.bytes_received, clip.frames, system),
        "detector_ms_per_input_frame": _ms_per_frame(run.edge, clip.frames),
        "node": {
            "frames_read": run.node.frames_read,
            "sent_by_reason": run.node.reasons_ranked(),
            "skipped_for_budget": run.node.skipped_for_budget,
            "shed_by_edge": run.node.shed_by_edge,
            "upload_failures": run.node.upload_failures,
            "detector_ms_per_input_frame": _node_ms(run.node),
            "follow_ms_per_input_frame": round(
                run.node.follow_s * 1000.0 / max(1, run.node.frames_read), 2
            ),
        },
        "exits": run.edge.get("exits"),
        "baselines": baseline_rows(baselines, clip, analysed.timings.detect_ms_per_frame),
        "tuned_to": round(target, 4),
        "cached_reference": analysed.cached,
        "run_s": round(run.elapsed_s, 2),
        "elapsed_s": round(time.perf_counter() - started, 2),
    }


def run_system(
    video: Path,
    frames: int | None,
    camera: CameraConfig,
    edge: EdgeConfig,
    query: Query | None,
    data_dir: Path,
    fps: float,
    realtime: bool,
    frame_read: Heartbeat | None = None,
) -> SystemRun:
    """The node and the edge with the given configs, on `video`, into a fresh store."""
    token = secrets.token_urlsafe(24)
    port = free_port()
    base = edge.cameras[0] if edge.cameras else EdgeCameraConfig(id=camera.id, token=token)
    own = {**base.model_dump(), "id": camera.id, "token": token, "query": query or base.query}
    edge = EdgeConfig.model_validate(
        {
            **edge.model_dump(),
            "listen": ListenConfig(port=port),
            "data_dir": data_dir,
            "database_url": None,
            "cameras": [own],
        }
    )
    started = time.perf_counter()
    box = EdgeBox(edge)
    try:
        with EdgeServer(box, port) as server:
            node_config = CameraConfig.model_validate(
                {
                    **camera.model_dump(),
                    "source": str(video),
                    "edge_url": server.url,
                    "token": token,
                    "realtime": realtime,
                }
            )
            stats = run_camera_node(node_config, max_frames=frames, heartbeat=frame_read)
        control = query_status(box, camera.id)
        stored = read_stored_run(box.database, camera.id, fps, edge.tracker.settings())
        edge_stats = box.stats.snapshot()["cameras"].get(camera.id, {})
    finally:
        box.close()
    return SystemRun(stats, stored, edge_stats, control, time.perf_counter() - started)


def _node_ms(node: NodeStats) -> float | None:
    """The camera's own object detector's time per frame read (None: it runs none)."""
    if not node.detector_runs or not node.frames_read:
        return None
    return round(node.detector_s * 1000.0 / node.frames_read, 2)


def _ms_per_frame(edge: dict[str, Any], frames: int) -> float | None:
    ms = edge.get("ms_per_analysed_frame")
    exits = edge.get("exits") or {}
    ran = sum(exits.get(name, 0) for name in ("full", "regions", "split"))
    return None if ms is None else round(ms * ran / frames, 2)
