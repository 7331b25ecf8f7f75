"""`appliance demo --ui`: an edge box, a camera node per sample clip (looping, at the clips' own
frame rates) and the monitoring UI, until Ctrl-C (SIGINT) or SIGTERM stops them all.

The edge box and the camera nodes run in this process (the API in a thread, a thread per node);
the UI is a Streamlit child process (appliance/demo_streamlit.py). Everything listens on
127.0.0.1. A part that stops by itself is reported and the rest are stopped: exit status 1.
"""

from __future__ import annotations

import logging
import re
import signal
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TextIO

from appliance.demo import camera_config, new_run_dir, new_token
from appliance.demo_config import DemoConfig
from appliance.demo_progress import DemoProgress
from appliance.demo_streamlit import DemoUi, UiStartError, ui_url
from appliance.edge.access_config import AccessConfig, ListenConfig
from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeCameraConfig, EdgeConfig
from appliance.edge.server import EdgeServer, free_port
from appliance.sample_clips import SAMPLES, resolve_video
from cameras.config import CameraConfig
from cameras.runtime import run_camera_node

log = logging.getLogger(__name__)

UI_SAMPLES = ("vtest", "bikes")
"""The clips `appliance demo --ui` loops by default, one camera each."""
DEFAULT_UI_PORT = 8501
NODE_STOP_TIMEOUT_S = 15.0
CHECK_EVERY_S = 0.5


@dataclass(frozen=True)
class DemoCamera:
    id: str
    video: Path
    token: str = field(default_factory=new_token, repr=False)


def demo_cameras(videos: Sequence[str]) -> list[DemoCamera]:
    """A camera per clip, named after the sample (vtest, bikes) or the file; `FootageError`
    for a clip that is not there."""
    cameras: list[DemoCamera] = []
    for name in videos:
        video = resolve_video(name)
        base = name if name in SAMPLES else re.sub(r"[^A-Za-z0-9_.-]", "-", video.stem)[:60]
        taken = {c.id for c in cameras}
        camera_id = base
        while camera_id in taken:
            camera_id = f"{base}-{len(taken) + 1}"
        cameras.append(DemoCamera(camera_id, video))
    return cameras


def ui_port(wanted: int | None) -> int:
    """`wanted`, else 8501 when it is free, else any free port."""
    if wanted is not None:
        return wanted
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", DEFAULT_UI_PORT))
        except OSError:
            return free_port()
    return DEFAULT_UI_PORT


def run_demo_ui(
    config: DemoConfig,
    videos: Sequence[str] = UI_SAMPLES,
    port: int | None = None,
    quiet: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    """Run until SIGINT/SIGTERM (exit status 0) or until a part stops by itself (1)."""
    cameras = demo_cameras(videos)
    run_dir = new_run_dir(config.data_dir)
    run_dir.mkdir(parents=True)
    port = ui_port(port)
    api_token = new_token()
    edge_config = _edge_config(config, cameras, run_dir, api_token, ui_url(port))
    stop = threading.Event()
    with _stopped_by_signals(stop):
        box = EdgeBox(edge_config)
        try:
            with EdgeServer(box, edge_config.listen.port) as server:
                ui = DemoUi(run_dir, server.url, api_token, port)
                nodes = [camera_config(config, c.id, c.video, server.url, c.token, live=True)
                         for c in cameras]  # fmt: skip
                return _run(box, nodes, ui, stop, quiet, out)
        finally:
            box.close()


def _edge_config(
    config: DemoConfig, cameras: list[DemoCamera], run_dir: Path, api_token: str, ui: str
) -> EdgeConfig:
    return EdgeConfig(
        listen=ListenConfig(port=free_port()),
        data_dir=run_dir,
        detector=config.detector,
        tracker=config.tracker,
        cloud=config.cloud,
        # A token per run, known only to this process and the UI's: nobody else may use the API.
        api_token=api_token,
        # The UI's page plays the live view from the browser, straight from the edge.
        access=AccessConfig(cors_origins=[ui]),
        cameras=[EdgeCameraConfig(id=c.id, name=c.video.name, token=c.token) for c in cameras],
    )


def _run(
    box: EdgeBox,
    nodes: list[CameraConfig],
    ui: DemoUi,
    stop: threading.Event,
    quiet: bool,
    out: TextIO,
) -> int:
    threads = NodeThreads(nodes, stop)
    failure: str | None = None
    if stop.is_set():  # stopped while the edge box started
        return 0
    try:
        threads.start()
        ui.start(stop)
        if not stop.is_set():
            _announce(ui, nodes, box, out)
        with DemoProgress(box.inputs, None, quiet):
            while failure is None and not stop.wait(CHECK_EVERY_S):
                failure = threads.failure() or _ui_failure(ui)
    except UiStartError as exc:
        failure = str(exc)
    finally:
        stop.set()
        threads.join()
        ui.stop()
    if failure is not None:
        what, _, detail = failure.partition("\n")
        print(f"appliance: demo: {what}; everything else was stopped", file=sys.stderr)
        if detail:
            print(detail, file=sys.stderr)
        return 1
    return 0


def _ui_failure(ui: DemoUi) -> str | None:
    code = ui.exit_code()
    if code is None:
        return None
    return ui.failure(f"the UI exited with status {code}")


def _announce(ui: DemoUi, nodes: list[CameraConfig], box: EdgeBox, out: TextIO) -> None:
    cameras = ", ".join(f"{n.id} ({Path(n.source).name})" for n in nodes)
    edge = f"http://127.0.0.1:{box.config.listen.port}"
    lines = [
        f"Demo UI: {ui.url}",
        f"  cameras   {cameras}, looping at their own frame rate",
        f"  edge API  {edge} (with a token made for this run, known to the UI only)",
        f"  data      {box.config.data_dir}",
        f"  UI log    {ui.log_path}",
        "Open the address in a browser (no sign-in on 127.0.0.1). Ctrl-C stops it all.",
    ]
    print("\n".join(lines), file=out, flush=True)


class NodeThreads:
    """A thread per camera node; a node that ends before `stop` is set is a failure."""

    def __init__(self, nodes: list[CameraConfig], stop: threading.Event) -> None:
        self._stop = stop
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), name=f"camera-{n.id}", daemon=True)
            for n in nodes
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def _run(self, node: CameraConfig) -> None:
        try:
            run_camera_node(node, stop=self._stop)
            problem = None if self._stop.is_set() else "its source ended"
        except Exception as exc:  # reported, and the demo stops: a broken node is no demo
            log.debug("camera %s failed", node.id, exc_info=True)
            problem = f"{type(exc).__name__}: {exc}"
        if problem is not None:
            with self._lock:
                self._failures.append(f"camera {node.id} stopped: {problem}")

    def failure(self) -> str | None:
        with self._lock:
            return self._failures[0] if self._failures else None

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=NODE_STOP_TIMEOUT_S)
            if thread.is_alive():
                log.warning("demo: %s did not stop in %.0f s", thread.name, NODE_STOP_TIMEOUT_S)


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT (Ctrl-C) and SIGTERM set `stop` instead of interrupting whatever runs."""

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
