"""A throwaway Mosquitto 2 broker for the tests: foreground process, loopback port, persistence
in a temp dir (QoS 1 messages queued for persistent sessions survive a restart)."""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from appliance.edge.server import free_port
from tests.server_process import HOST, port_open, stop_process, wait_for

MOSQUITTO = "/usr/sbin/mosquitto"
START_TIMEOUT_S = 15.0
_CONFIG = """\
listener {port} {host}
allow_anonymous true
persistence true
persistence_location {data}/
autosave_interval 1
max_queued_messages 100000
log_dest file {data}/mosquitto.log
log_type error
log_type warning
log_type notice
log_type information
"""


class MosquittoServer:
    """``with MosquittoServer() as broker: ... broker.port ...``; ``stop``/``start`` restart it
    on the same port with the same persistence (as a broker restarted in place)."""

    def __init__(self, port: int | None = None) -> None:
        """``port``: where to listen (default: a free one, chosen at the first start)."""
        self.port: int | None = port
        self._base: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        if not os.access(MOSQUITTO, os.X_OK):
            raise RuntimeError(
                f"{MOSQUITTO} not found: install Debian's mosquitto package "
                "(scripts/setup.sh does when run as root)"
            )
        if self._base is None:
            self._base = Path(tempfile.mkdtemp(prefix="appliance-mqtt-", dir="/tmp"))
            self._hand_to_broker_user(self._base)
            atexit.register(self.close)
        for attempt in range(3):  # a free port can be taken between choosing and binding it
            if self.port is None or attempt:
                self.port = free_port()
            if self._launch():
                return
        raise RuntimeError(f"mosquitto did not start; log:\n{self.log()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the broker (SIGTERM: it saves its persistence first); the port is kept."""
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc, (sig, signal.SIGKILL))

    def close(self) -> None:
        atexit.unregister(self.close)
        self.stop()
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

    def log(self) -> str:
        if self._base is None:
            return ""
        path = self._base / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> MosquittoServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _launch(self) -> bool:
        assert self._base is not None and self.port is not None
        config = self._base / "mosquitto.conf"
        config.write_text(_CONFIG.format(port=self.port, host=HOST, data=self._base))
        self._proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port = self.port
        proc = self._proc
        wait_for(lambda: proc.poll() is not None or port_open(port), START_TIMEOUT_S, "mosquitto")
        if proc.poll() is not None:
            self._proc = None
            return False
        return True

    @staticmethod
    def _hand_to_broker_user(base: Path) -> None:
        """As root, mosquitto drops to its own user: that user must own the data dir."""
        if os.geteuid() != 0:
            return
        try:
            user = pwd.getpwnam("mosquitto")
        except KeyError:
            return
        os.chown(base, user.pw_uid, user.pw_gid)
