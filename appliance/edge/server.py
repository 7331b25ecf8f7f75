"""Serving the edge API: as the main process (`appliance edge`) or in a thread (demo, bench)."""

from __future__ import annotations

import signal
import socket
import threading
import time
from types import FrameType

import uvicorn

from appliance.edge.box import EdgeBox
from appliance.edge.http.app import create_app
from appliance.edge.http.connections import guarded_protocol, raise_open_files_limit
from appliance.service.liveness import ServiceLiveness

GRACEFUL_SHUTDOWN_S = 5
"""At shutdown, requests still running after this are cancelled: live-view streams never end
by themselves."""


class GracefulServer(uvicorn.Server):
    """Exits with status 0 after a clean shutdown on SIGTERM (how systemd stops a service).

    uvicorn re-raises a caught SIGTERM once it has shut down, which makes the process die by
    the signal even though every open event was ended and the database closed.
    Under systemd, `liveness` hears every tick of the main loop: READY=1 once started, then
    the watchdog is fed while ticks keep coming; STOPPING=1 on the signal.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        liveness: ServiceLiveness | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        """``stopping`` is set on the signal, so endless responses (live views) can end."""
        super().__init__(config)
        self.liveness = liveness
        self.stopping = stopping

    async def on_tick(self, counter: int) -> bool:
        if self.liveness is not None:
            self.liveness.beat()
        return await super().on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.liveness is not None:
            self.liveness.stopping()
        if self.stopping is not None:
            self.stopping.set()
        super().handle_exit(sig, frame)
        captured = getattr(self, "_captured_signals", None)
        if sig == signal.SIGTERM and isinstance(captured, list) and sig in captured:
            captured.remove(sig)


def server_config(
    box: EdgeBox, host: str, port: int, log_level: str, close_on_shutdown: bool = True
) -> uvicorn.Config:
    """uvicorn's settings for the edge API, with the config's connection cap and header
    deadline (appliance/edge/http/connections.py)."""
    listen = box.config.listen
    protocol = guarded_protocol(listen.max_connections, listen.header_timeout_s, box.stats.reject)
    return uvicorn.Config(
        create_app(box, close_on_shutdown=close_on_shutdown),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        http=protocol,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


def serve(box: EdgeBox, host: str, port: int, log_level: str) -> None:
    """Run the edge API in the foreground until SIGTERM/SIGINT; open events are ended on exit."""
    raise_open_files_limit()
    config = server_config(box, host, port, log_level)
    with ServiceLiveness.from_environment(f"edge box serving on {host}:{port}") as liveness:
        GracefulServer(config, liveness, box.stopping).run()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EdgeServer:
    """Runs an edge API in a background thread on a loopback port."""

    def __init__(self, box: EdgeBox, port: int) -> None:
        config = server_config(box, "127.0.0.1", port, "warning", close_on_shutdown=False)
        self.box = box
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="edge-api", daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> EdgeServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo edge box did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.box.stopping.set()
        self.server.should_exit = True
        self.thread.join(timeout=15)
