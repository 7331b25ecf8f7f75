"""What the roles tell systemd (Type=notify): READY=1 when up, WATCHDOG=1 only while the main
loop makes progress, STOPPING=1 on SIGTERM. systemd's socket is played by a real AF_UNIX
datagram socket (tests/notify_listener.py); the roles run as real processes."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from appliance.service.liveness import ServiceLiveness
from appliance.service.notify import SystemdNotifier
from tests.edge_process import PROJECT_ROOT, EdgeProcess, appliance_command, running_edge
from tests.footage import vtest_path
from tests.notify_listener import NotifyListener
from tests.server_process import stop_process

TOKEN = "camera-token-123"
WATCHDOG_USEC = 1_000_000  # systemd's timeout 1 s: fed every 0.5 s


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[NotifyListener]:
    with NotifyListener(tmp_path / "notify.sock") as socket_:
        yield socket_


# --- the client on its own ---------------------------------------------------------------------


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.start_watchdog(lambda: True)


def test_ready_status_and_stopping_reach_an_abstract_socket() -> None:
    with NotifyListener() as abstract:  # NOTIFY_SOCKET=@name
        notifier = SystemdNotifier(abstract.env())
        assert notifier.ready("serving") and notifier.stopping()
        abstract.wait_for("STOPPING")
        notifier.close()
    first, second = abstract.received()
    assert first.fields == {"READY": "1", "STATUS": "serving"}
    assert second.fields == {"STOPPING": "1"}


def test_watchdog_of_another_process_is_not_fed(listener: NotifyListener) -> None:
    env = {**listener.env(200_000), "WATCHDOG_PID": str(os.getpid() + 1)}
    notifier = SystemdNotifier(env)
    assert notifier.watchdog_timeout_s is None
    assert not notifier.start_watchdog(lambda: True)
    mine = SystemdNotifier({**env, "WATCHDOG_PID": str(os.getpid())})
    assert mine.watchdog_timeout_s == pytest.approx(0.2)


def test_feeding_stops_when_the_loop_stops_beating(listener: NotifyListener) -> None:
    live = ServiceLiveness(SystemdNotifier(listener.env(200_000)), "test loop")
    assert live.max_silence_s == pytest.approx(0.1)
    live.beat()
    deadline = time.monotonic() + 0.6
    while time.monotonic() < deadline:  # a loop making progress every 20 ms
        live.beat()
        time.sleep(0.02)
    fed_while_beating = len(listener.with_key("WATCHDOG"))
    time.sleep(0.6)  # the loop hangs
    fed_after = len(listener.with_key("WATCHDOG")) - fed_while_beating
    live.close()
    assert listener.received()[0].fields == {"READY": "1", "STATUS": "test loop"}
    assert fed_while_beating >= 4  # every 0.1 s
    assert fed_after <= 1  # at most one check that fell before the hang
    # The datagram may still be on its way to the listener's thread when close() returns.
    listener.wait_for("STOPPING", timeout_s=5)
    assert listener.received()[-1].fields["STOPPING"] == "1"


# --- the edge box ------------------------------------------------------------------------------


def test_edge_is_ready_feeds_the_watchdog_and_says_it_stops(
    tmp_path: Path, listener: NotifyListener, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in listener.env(WATCHDOG_USEC).items():
        monkeypatch.setenv(key, value)
    with running_edge(tmp_path, {"c": TOKEN}) as edge:
        # running_edge returned once /api/v1/health answered: READY=1 came before, or with it.
        listener.wait_for("READY", timeout_s=5)
        listener.wait_for("WATCHDOG", count=4, timeout_s=10)
        assert edge.stop() == 0
    listener.wait_for("STOPPING", timeout_s=5)
    assert_ready_watchdog_stopping(listener, "edge box serving on 127.0.0.1:")


def assert_ready_watchdog_stopping(listener: NotifyListener, status: str) -> None:
    """READY=1 first (with STATUS), then only WATCHDOG=1, STOPPING=1 last."""
    messages = listener.received()
    assert messages[0].fields["READY"] == "1"
    assert messages[0].fields["STATUS"].startswith(status)
    stopping = [i for i, m in enumerate(messages) if m.fields.get("STOPPING") == "1"]
    assert len(stopping) == 1
    middle = messages[1 : stopping[0]]
    assert middle and all(m.fields == {"WATCHDOG": "1"} for m in middle)
    gaps = [b.at - a.at for a, b in itertools.pairwise(middle)]
    assert max(gaps) < WATCHDOG_USEC / 1e6  # never late for systemd's timeout


# --- a camera node -----------------------------------------------------------------------------


def camera_yaml(path: Path, edge_url: str, **extra: object) -> Path:
    config = {"id": "c", "source": str(vtest_path()), "edge_url": edge_url, "token": TOKEN}
    path.write_text(yaml.safe_dump({**config, **extra}), encoding="utf-8")
    return path


def start_camera(tmp_path: Path, config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    stderr = (tmp_path / "camera.stderr").open("wb")
    return subprocess.Popen(
        [*appliance_command(), "--log-level", "WARNING", "camera", "--config", str(config)],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeProcess]:
    with running_edge(tmp_path / "edge", {"c": TOKEN}) as process:
        yield process


def test_camera_is_ready_at_its_first_frame_and_feeds_while_reading(
    tmp_path: Path, listener: NotifyListener, edge: EdgeProcess
) -> None:
    # realtime: a file paced like a live camera (10 fps), so the node runs long enough.
    config = camera_yaml(tmp_path / "camera.yaml", edge.base_url, realtime=True)
    camera = start_camera(tmp_path, config, listener.env(WATCHDOG_USEC))
    try:
        listener.wait_for("READY", timeout_s=30)
        listener.wait_for("WATCHDOG", count=4, timeout_s=10)
        camera.send_signal(signal.SIGTERM)
        stdout, _ = camera.communicate(timeout=30)
    finally:
        stop_process(camera)
    assert camera.returncode == 0, (tmp_path / "camera.stderr").read_text()
    stats = json.loads(stdout)
    assert 0 < stats["frames_read"] < 795  # stopped by SIGTERM, not by the end of the clip
    listener.wait_for("STOPPING", timeout_s=5)
    assert_ready_watchdog_stopping(listener, "camera node c")


def test_a_camera_stuck_on_its_upload_stops_feeding_the_watchdog(
    tmp_path: Path, listener: NotifyListener
) -> None:
    # An "edge" that takes connections and never answers: with a file replayed as fast as it
    # reads (every chosen frame waits for the upload), the node's loop is stuck in uploads.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        config = camera_yaml(tmp_path / "camera.yaml", url, request_timeout_s=3, uplink_in_flight=1)
        camera = start_camera(tmp_path, config, listener.env(WATCHDOG_USEC))
        try:
            listener.wait_for("READY", timeout_s=30)
            ready_at = listener.with_key("READY")[0].at
            time.sleep(4)
            assert camera.poll() is None  # alive, but stuck
            fed = [m for m in listener.with_key("WATCHDOG") if m.at > ready_at]
        finally:
            stop_process(camera, timeout_s=2)
    # The loop stalls within a few frames of the first: at most a feed or two, then none
    # for 4 s, four times systemd's 1 s timeout: systemd would have restarted it.
    assert len(fed) <= 2
    assert "watchdog: no progress" in (tmp_path / "camera.stderr").read_text()


def test_a_camera_retrying_its_stream_is_alive(tmp_path: Path, listener: NotifyListener) -> None:
    # The camera is unreachable (nothing listens on that port): the node retries with backoff,
    # which is progress by design; systemd must not restart it for waiting.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = camera_yaml(
        tmp_path / "camera.yaml",
        f"http://127.0.0.1:{port}",
        source=f"rtsp://viewer:secret@127.0.0.1:{port}/stream",
        reconnect={"initial_backoff_s": 0.5, "max_backoff_s": 2.0},
    )
    camera = start_camera(tmp_path, config, listener.env(WATCHDOG_USEC))
    try:
        listener.wait_for("READY", timeout_s=30)
        listener.wait_for("WATCHDOG", count=6, timeout_s=10)
        assert camera.poll() is None
    finally:
        stop_process(camera)
    stderr = (tmp_path / "camera.stderr").read_text()
    assert "is retrying" in stderr and "secret" not in stderr
    assert "watchdog: no progress" not in stderr
    fed = listener.with_key("WATCHDOG")
    assert max(b.at - a.at for a, b in itertools.pairwise(fed)) < WATCHDOG_USEC / 1e6
