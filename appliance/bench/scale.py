"""`appliance bench scale`: N camera nodes replaying a clip in real time against one edge box.

Everything runs as it would on site, on this machine: one `appliance edge` process and N
`appliance camera` processes, each reading the clip at its own frame rate (like a live camera)
through its own frame filter and sending over HTTP. A camera falls behind when it reads a
frame more than `MAX_LAG_S` after the frame's capture time (it could not keep up with its
camera); latency is capture to stored, measured by the edge. A camera that does not wait for
the edge sheds load in two places, both counted in `dropped`: the edge's scheduler drops frames
it cannot analyse in time (`dropped_at_edge`, by reason), and a camera replaces a chosen frame
still waiting for an upload slot with a newer one (`dropped_at_camera`). A run is real time
when no camera fell behind and p95 latency <= 1000 ms; `analysed_fps_per_camera` shows what
the edge still analysed for each camera.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from appliance.bench.built_clips import bench_video
from appliance.bench.defaults import DEFAULT_CACHE_DIR
from appliance.bench.edge_yaml import edge_yaml
from appliance.config_loader import write_config
from appliance.edge.server import free_port
from appliance.progress import SILENT, Progress, counted, progress_from

MAX_LAG_S = 1.0
MAX_P95_MS = 1000.0
STARTUP_TIMEOUT_S = 30.0


def _cli() -> list[str]:
    return [sys.executable, "-m", "appliance.cli", "--log-level", "WARNING"]


class _Edge:
    def __init__(self, workdir: Path, cameras: int, edge_config: dict[str, Any]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            **edge_config,
            "listen": {"host": "127.0.0.1", "port": self.port},
            "data_dir": str(workdir / "edge"),
            "cameras": [{"id": f"cam{i}", "token": f"bench-token-{i}"} for i in range(cameras)],
        }
        path = write_config(workdir / "edge.yaml", config)
        self.log = (workdir / "edge.log").open("wb")
        self.process = subprocess.Popen(
            [*_cli(), "edge", "--config", str(path)], stdout=self.log, stderr=subprocess.STDOUT
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"edge box exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("edge box did not start")

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/api/v1/stats", timeout=10)
        response.raise_for_status()
        found = response.json()
        return {**found["edge"], "detector": found["detector"]}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _start_camera(
    workdir: Path, edge: _Edge, index: int, video: Path, frames: int
) -> subprocess.Popen[bytes]:
    config = {
        "id": f"cam{index}",
        "source": str(video),
        "edge_url": edge.url,
        "token": f"bench-token-{index}",
        "realtime": True,
    }
    path = write_config(workdir / f"cam{index}.yaml", config)
    return subprocess.Popen(
        [*_cli(), "camera", "--config", str(path), "--frames", str(frames)],
        stdout=subprocess.PIPE,
        stderr=(workdir / f"cam{index}.log").open("wb"),
    )


def run_scale(
    video: Path,
    cameras: int,
    seconds: float,
    edge_config: dict[str, Any],
    progress: Progress = SILENT,
) -> dict[str, Any]:
    import cv2

    logging.getLogger("httpx").setLevel(logging.WARNING)
    capture = cv2.VideoCapture(str(video))
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 25.0)
    capture.release()
    frames = max(1, round(seconds * fps))
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        workdir = Path(tmp)
        edge = _Edge(workdir, cameras, edge_config)
        try:
            nodes = [_start_camera(workdir, edge, i, video, frames) for i in range(cameras)]
            with progress.timed(f"{counted(cameras, 'camera')} in real time", seconds):
                outputs = [node.communicate(timeout=seconds * 20 + 60)[0] for node in nodes]
            stats = edge.stats()
        finally:
            edge.stop()
    node_stats = [json.loads(out.decode().strip().splitlines()[-1]) for out in outputs]
    return _report(cameras, seconds, fps, node_stats, stats)


def _report(
    cameras: int, seconds: float, fps: float, nodes: list[dict[str, Any]], edge: dict[str, Any]
) -> dict[str, Any]:
    lags = [float(n["max_lag_s"]) for n in nodes]
    p95 = edge["latency_ms"]["p95"]
    behind = sum(1 for lag in lags if lag > MAX_LAG_S)

    def total(key: str) -> int:
        return sum(int(n[key]) for n in nodes)

    read, at_camera = total("frames_read"), total("dropped_busy")
    at_edge = sum(edge["dropped"].values())
    analysed = int(edge["frames_analysed"])
    chosen = analysed + at_edge + at_camera
    return {
        "cameras": cameras,
        "seconds": seconds,
        "fps_per_camera": fps,
        "realtime": behind == 0,
        "cameras_behind": behind,
        "max_lag_s": round(max(lags), 3),
        "p50_latency_ms": edge["latency_ms"]["p50"],
        "p95_latency_ms": p95,
        "meets_target": behind == 0 and p95 is not None and p95 <= MAX_P95_MS,
        "dropped": at_edge + at_camera,
        "dropped_at_edge": edge["dropped"],
        "dropped_at_camera": at_camera,
        "frames_read": read,
        "frames_chosen": analysed + at_edge + at_camera,
        "shed_fraction": round((at_edge + at_camera) / chosen, 4) if chosen else None,
        "frames_analysed": analysed,
        "frames_answered_to_cameras": total("frames_sent"),
        "shed_seen_by_cameras": total("shed_by_edge"),
        "analysed_fraction": round(analysed / read, 4) if read else None,
        "analysed_fps_per_camera": round(analysed / cameras / seconds, 2),
        "exits": edge["exits"],
        "scanned_fraction": edge["scanned_fraction"],
        "cpu_cores": os.cpu_count(),
        "detector": edge["detector"],
        "edge_peak_rss_mb": edge["memory"]["peak_rss_mb"],
        "camera_peak_rss_mb": max(float(n["peak_rss_mb"]) for n in nodes),
    }


def run_scale_command(args: argparse.Namespace) -> int:
    video = bench_video(args.video, DEFAULT_CACHE_DIR)
    edge_config = edge_yaml(args.config)
    if args.no_early_exit:
        edge_config |= {"early_exit": {"regions": False}, "result_cache": {"enabled": False}}
    progress = progress_from(args)
    rows = [run_scale(video, n, args.seconds, edge_config, progress) for n in args.cameras]
    passing = [r["cameras"] for r in rows if r["meets_target"]]
    unshed = [
        r["cameras"]
        for r in rows
        if r["meets_target"] and r["dropped"] <= 0.05 * r["frames_chosen"]
    ]
    report = {
        "video": video.name,
        "runs": rows,
        "largest_realtime_cameras": max(passing) if passing else 0,
        "largest_realtime_cameras_without_shedding": max(unshed) if unshed else 0,
        **({"cameras": rows[0]["cameras"], **rows[0]} if len(rows) == 1 else {}),
    }
    if args.json:
        print(json.dumps(report))
    else:
        for r in rows:
            print(
                f"{r['cameras']:3d} cameras: realtime={r['realtime']} p95={r['p95_latency_ms']} ms "
                f"dropped={r['dropped']} shed={r['shed_fraction']} max_lag={r['max_lag_s']} s "
                f"analysed={r['frames_analysed']}/{r['frames_read']} "
                f"({r['analysed_fps_per_camera']} fps per camera) exits={r['exits']}"
            )
        print(
            f"largest N in real time with p95 <= {MAX_P95_MS:.0f} ms:",
            report["largest_realtime_cameras"],
            "; without shedding more than 5% of chosen frames:",
            report["largest_realtime_cameras_without_shedding"],
        )
    return 0
