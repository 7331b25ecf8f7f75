"""A real RTSP server for the tests: GStreamer's rtsp-server looping an H.264 mp4 on 127.0.0.1.

The server itself is ``rtsp_server_main.py``, run by Debian's ``/usr/bin/python3`` (the venv
cannot import GStreamer's bindings). ``stop()`` kills it by PID and ``start()`` brings it back on
the same port, so tests can watch a client lose a camera and find it again.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from appliance.edge.server import free_port

SYSTEM_PYTHON = Path("/usr/bin/python3")
SCRIPT = Path(__file__).with_name("rtsp_server_main.py")
HOST = "127.0.0.1"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
PACKAGES = "gir1.2-gst-rtsp-server-1.0 python3-gi python3-gst-1.0 gstreamer1.0-plugins-*"


def make_h264_clip(source: Path, target: Path, seconds: float = 20) -> Path:
    """Transcode `source` to an H.264 mp4 that RTP can carry (a keyframe every 10 frames)."""
    cmd = [
        "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(source),
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "10",
        "-an", "-t", str(seconds), str(target),
    ]  # fmt: skip
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    except FileNotFoundError as exc:
        raise RuntimeError("ffmpeg not found: install Debian's ffmpeg package") from exc
    return target


class RtspServer:
    """``with RtspServer(clip) as server: ... server.url ...``; ``stop()``/``start()`` again."""

    def __init__(
        self,
        video: Path,
        port: int | None = None,
        mount: str = "/cam",
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        self.video = Path(video)
        self.port = port or free_port()
        self.mount = mount
        self.user = user
        self.password = password
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = Path(tempfile.mkstemp(prefix="rtsp-server-", suffix=".log")[1])

    @property
    def url(self) -> str:
        login = f"{self.user}:{self.password}@" if self.user else ""
        return f"rtsp://{login}{HOST}:{self.port}{self.mount}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start (again, on the same port) and wait until it accepts connections."""
        if self.running:
            return
        _check_system_python()
        cmd = [str(SYSTEM_PYTHON), str(SCRIPT), str(self.video), str(self.port), self.mount]
        if self.user:
            cmd += ["--user", self.user, "--password", self.password or ""]
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        atexit.register(self.stop)
        self._wait_ready()

    def stop(self, signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGKILL)) -> None:
        """SIGTERM, then SIGKILL, by PID; idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        atexit.unregister(self.stop)
        for sig in signals:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
                os.kill(proc.pid, signal.SIGCONT)  # a frozen server must run to act on it
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_TIMEOUT_S)
                return

    def kill(self) -> None:
        """SIGKILL at once, like a camera losing power: no goodbye to the clients."""
        self.stop((signal.SIGKILL,))

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its sockets but says nothing, like a network cut."""
        if self._proc is not None:
            os.kill(self._proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self._proc is not None:
            os.kill(self._proc.pid, signal.SIGCONT)

    def close(self) -> None:
        self.stop()
        self._log.unlink(missing_ok=True)

    def __enter__(self) -> RtspServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._accepts():
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None or time.monotonic() > deadline:
                self.stop()
                why = f"exited with code {code}" if code is not None else "not ready in time"
                raise RuntimeError(f"RTSP server {why}; its log:\n{self._log_tail()}")
            time.sleep(0.05)

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _log_tail(self, lines: int = 30) -> str:
        text = self._log.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@functools.cache
def _check_system_python() -> None:
    probe = "import gi; gi.require_version('GstRtspServer', '1.0')"
    try:
        subprocess.run([str(SYSTEM_PYTHON), "-c", probe], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RuntimeError(
            f"GStreamer's RTSP server is not available to {SYSTEM_PYTHON}: install "
            f"Debian's {PACKAGES} (scripts/setup.sh does, as root)"
        ) from exc
