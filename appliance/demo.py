"""`appliance demo`: an edge box and one camera node on real footage, then a summary.

`appliance demo --ui` (appliance/demo_ui.py) runs the same parts, looping, with the UI."""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import cv2

from appliance.demo_config import DemoConfig
from appliance.demo_progress import DemoProgress
from appliance.edge.access_config import ListenConfig
from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeCameraConfig, EdgeConfig
from appliance.edge.server import EdgeServer, free_port
from appliance.sample_clips import resolve_video
from cameras.config import CameraConfig
from cameras.node import NodeStats
from cameras.runtime import run_camera_node

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSummary:
    video: str
    frames: int
    frames_sent: int
    sent_fraction: float
    bytes_sent: int
    detections: int
    detections_per_sent_frame: float
    events: int
    snapshots: int
    upload_failures: int
    elapsed_s: float
    fps: float
    data_dir: str
    database: str


def new_run_dir(data_dir: Path) -> Path:
    """A fresh folder per run, named by its start time (UTC)."""
    return data_dir / datetime.now(timezone.utc).strftime("run-%Y%m%d-%H%M%S-%f")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def run_demo(config: DemoConfig, quiet: bool = False) -> DemoSummary:
    """`quiet`: no progress bar (there is none anyway when stderr is not a terminal)."""
    video = resolve_video(config.video)
    run_dir = new_run_dir(config.data_dir)
    token = new_token()
    edge_config = EdgeConfig(
        listen=ListenConfig(port=free_port()),
        data_dir=run_dir,
        detector=config.detector,
        tracker=config.tracker,
        cloud=config.cloud,
        cameras=[EdgeCameraConfig(id=config.camera_id, name=video.name, token=token)],
    )
    started = time.perf_counter()
    box = EdgeBox(edge_config)
    try:
        with (
            EdgeServer(box, edge_config.listen.port) as server,
            DemoProgress(box.inputs, _frames_to_read(video, config.frames), quiet) as progress,
        ):
            camera = camera_config(config, config.camera_id, video, server.url, token)
            stats = run_camera_node(camera, max_frames=config.frames)
            progress.finish(stats.frames_read, stats.frames_sent)
    finally:
        box.close()
    return _summary(config, video, run_dir, box, stats, time.perf_counter() - started)


def camera_config(
    config: DemoConfig, camera_id: str, video: Path, edge_url: str, token: str, live: bool = False
) -> CameraConfig:
    """The demo's camera node on `video`; `live`: paced at the clip's frame rate and looped."""
    return CameraConfig(
        id=camera_id,
        source=str(video),
        edge_url=edge_url,
        token=token,
        jpeg_quality=config.jpeg_quality,
        jpeg_chroma=config.jpeg_chroma,
        filter=config.filter,
        tiny_detector=config.tiny_detector,
        regions=config.regions,
        realtime=live,
        loop=live,
    )


def _frames_to_read(video: Path, limit: int | None) -> int | None:
    """What the progress bar counts to: the clip's length (from its header), or the limit."""
    capture = cv2.VideoCapture(str(video))
    try:
        length = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        capture.release()
    known = [n for n in (length, limit) if n]
    return min(known) if known else None


def _summary(
    config: DemoConfig, video: Path, run_dir: Path, box: EdgeBox, stats: NodeStats, elapsed: float
) -> DemoSummary:
    totals = box.store.totals()
    snapshots = run_dir / "snapshots"
    return DemoSummary(
        video=str(video),
        frames=stats.frames_read,
        frames_sent=stats.frames_sent,
        sent_fraction=round(stats.frames_sent / max(stats.frames_read, 1), 4),
        bytes_sent=stats.bytes_sent,
        detections=totals.detections,
        detections_per_sent_frame=round(totals.detections / max(totals.frames, 1), 3),
        events=totals.events,
        snapshots=sum(1 for _ in snapshots.rglob("*.jpg")) if snapshots.exists() else 0,
        upload_failures=stats.upload_failures,
        elapsed_s=round(elapsed, 2),
        fps=round(stats.frames_read / elapsed, 2) if elapsed > 0 else 0.0,
        data_dir=str(run_dir),
        database=box.database.url,
    )


def format_summary(summary: DemoSummary) -> str:
    rows = dataclasses.asdict(summary)
    width = max(len(k) for k in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows.items())
