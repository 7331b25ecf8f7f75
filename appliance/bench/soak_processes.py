"""The processes `appliance bench soak` runs: one `appliance edge` and N `appliance camera`.

Each runs in its own session, so a Ctrl-C reaches the soak alone, which then stops them in
order (nodes first, then the edge) with SIGTERM, and SIGKILL after a grace period. A camera
node replays its clip in real time and exits at its end; the soak starts it again (a camera
that reconnects), so clips shorter than `MIN_CLIP_S` are looped into a longer file first.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from appliance.config_loader import write_config
from appliance.edge.server import free_port

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 60.0
NODE_STOP_S = 10.0
EDGE_STOP_S = 20.0
MIN_CLIP_S = 60.0
"""Shorter clips are looped into a file this long: nodes restart about once a minute, not
every few seconds (bikes lasts 10 s)."""


def _cli() -> list[str]:
    return [sys.executable, "-m", "appliance.cli"]


def _stop(process: subprocess.Popen[bytes], grace_s: float) -> int:
    """SIGTERM, SIGKILL after `grace_s`; the exit code. Safe to call on a stopped process."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            log.warning("pid %d ignored SIGTERM for %.0f s: killed", process.pid, grace_s)
            process.kill()
            process.wait()
    return process.returncode


class SoakEdge:
    """`appliance edge` on a free loopback port with a fresh SQLite store under `workdir`, or
    in the database the base YAML names (`database_url`, which must hold no frames yet: the
    soak reads the store's counts as the edge's)."""

    def __init__(self, workdir: Path, cameras: int, base: dict[str, Any]) -> None:
        self.tokens = {f"cam{i}": secrets.token_urlsafe(18) for i in range(cameras)}
        self.api_token = secrets.token_urlsafe(24)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "edge.log"
        self.data_dir = workdir / "data"
        config = {
            **base,
            "listen": {**base.get("listen", {}), "host": "127.0.0.1", "port": self.port},
            "data_dir": str(self.data_dir),
            "api_token": self.api_token,
            "cameras": [{"id": cid, "token": token} for cid, token in self.tokens.items()],
        }
        config_path = workdir / "edge.yaml"
        write_config(config_path, config, sort_keys=False)
        with self.log_path.open("ab") as output:
            self.process = subprocess.Popen(
                [*_cli(), "edge", "--config", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.client = httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.api_token}"}
        )
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_healthy(self, stopping: threading.Event) -> bool:
        """True once `/api/v1/health` answers, False when `stopping` was set first."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"edge box exited with {self.process.returncode} at startup:\n{self._tail()}"
                )
            try:
                if self.client.get("/api/v1/health", timeout=1).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            if stopping.wait(0.2):
                return False
        raise RuntimeError(f"edge box not healthy within {STARTUP_TIMEOUT_S:.0f} s")

    def _tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stats(self) -> dict[str, Any] | None:
        """`GET /api/v1/stats`, or None when the edge did not answer (logged)."""
        try:
            response = self.client.get("/api/v1/stats")
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("edge stats not read: %s", exc)
            return None
        found: dict[str, Any] = response.json()
        return found

    def stop(self) -> int:
        self.client.close()
        if self.returncode is None:
            self.returncode = _stop(self.process, EDGE_STOP_S)
        return self.returncode


class SoakNode:
    """One camera: an `appliance camera` process, started again whenever its clip ends."""

    def __init__(self, workdir: Path, camera_id: str, config: dict[str, Any]) -> None:
        self.camera_id = camera_id
        self.config_path = workdir / f"{camera_id}.yaml"
        write_config(self.config_path, config, sort_keys=False)
        self.log_path = workdir / f"{camera_id}.log"
        self.out_path = workdir / f"{camera_id}.out"
        self.starts = 0
        self.failures: list[int] = []
        """Exit codes other than 0 (a node that failed, or did not stop on SIGTERM)."""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as errors, self.out_path.open("ab") as output:
            self.process = subprocess.Popen(
                [*_cli(), "camera", "--config", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=errors,
                start_new_session=True,
            )
        self.starts += 1

    def keep_running(self) -> None:
        """Records how the last run ended and starts the node again, if it ended."""
        if self.process is None or self.process.poll() is None:
            return
        self._ended(self.process.returncode)
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            code = _stop(self.process, NODE_STOP_S)
            # A node restarted a moment ago may take SIGTERM before its handler is installed:
            # it ends by the signal asked of it, which is no failure.
            self._ended(0 if code == -signal.SIGTERM else code)
            self.process = None

    def _ended(self, code: int) -> None:
        if code != 0:
            log.warning("camera node %s exited with %d", self.camera_id, code)
            self.failures.append(code)

    def totals(self) -> dict[str, float]:
        """The node's own counters (one JSON line per run), summed over its runs."""
        summed: dict[str, float] = {}
        if not self.out_path.exists():
            return summed
        for line in self.out_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                for key, value in json.loads(line).items():
                    if isinstance(value, (int, float)) and not key.startswith(("max_", "peak_")):
                        summed[key] = summed.get(key, 0) + value
        return summed


def node_config(camera_id: str, token: str, video: Path, edge_url: str) -> dict[str, Any]:
    return {
        "id": camera_id,
        "source": str(video),
        "edge_url": edge_url,
        "token": token,
        "realtime": True,
    }


def looped_clip(video: Path, cache_dir: Path) -> Path:
    """`video` itself when it lasts `MIN_CLIP_S`, else it repeated into a file that does."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 25.0)
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    if frames <= 0 or frames / fps >= MIN_CLIP_S:
        return video
    repeats = math.ceil(MIN_CLIP_S * fps / frames)
    target = cache_dir / f"{video.stem}-loop{repeats}.mp4"
    if not target.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        building = cache_dir / f"{target.stem}.partial.mp4"
        _write_repeated(video, building, repeats, fps)
        os.replace(building, target)
    return target


def _write_repeated(video: Path, target: Path, repeats: int, fps: float) -> None:
    import cv2

    log.info("looping %s %d times into %s", video.name, repeats, target)
    writer: Any = None
    try:
        for _ in range(repeats):
            capture = cv2.VideoCapture(str(video))
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                if writer is None:
                    height, width = frame.shape[:2]
                    fourcc = cv2.VideoWriter.fourcc(*"mp4v")
                    writer = cv2.VideoWriter(str(target), fourcc, fps, (width, height))
                writer.write(frame)
            capture.release()
    finally:
        if writer is not None:
            writer.release()
