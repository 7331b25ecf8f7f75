"""A throwaway PostgreSQL 15 server for the tests: initdb into a temp dir, start, stop, remove.

Uses Debian's ``postgresql`` package (``/usr/lib/postgresql/15/bin``). initdb refuses to run as
root, so as root the server runs as the ``postgres`` OS user (via ``runuser``); otherwise as the
current user. It listens on 127.0.0.1 only, on a free port, with trust authentication for the
``postgres`` superuser, and durability turned off (fsync, full_page_writes): test data only.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

PG_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"
HOST = "127.0.0.1"
START_TIMEOUT_S = 60
LOG_TAIL_LINES = 40
_START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it
_SERVER_SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
}


class PostgresServer:
    """``with PostgresServer() as server: ... server.url ...``; ``start``/``stop`` also work."""

    def __init__(self, bin_dir: Path = PG_BIN_DIR) -> None:
        self.bin_dir = Path(bin_dir)
        self.port: int | None = None
        self._base: Path | None = None
        self._run_as: list[str] = []

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the superuser's ``postgres`` database."""
        if self.port is None:
            raise RuntimeError("PostgreSQL test server is not running")
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/postgres"

    @property
    def data_dir(self) -> Path:
        if self._base is None:
            raise RuntimeError("PostgreSQL test server is not running")
        return self._base / "data"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgres.log"

    def start(self) -> None:
        if self.port is not None:
            return
        self._check_binaries()
        self._run_as = _run_as_postgres() if os.geteuid() == 0 else []
        # As root, stay out of TMPDIR: it may sit below a directory postgres cannot traverse.
        self._base = Path(
            tempfile.mkdtemp(prefix="appliance-pg-", dir="/tmp" if self._run_as else None)
        )
        atexit.register(self.stop)
        try:
            if self._run_as:
                user = pwd.getpwnam(SUPERUSER)
                os.chown(self._base, user.pw_uid, user.pw_gid)
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
                "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
            )  # fmt: skip
            for attempt in range(1, _START_ATTEMPTS + 1):
                port = _free_port()
                try:
                    self._pg_ctl_start(port)
                except RuntimeError:
                    if attempt < _START_ATTEMPTS and "already in use" in self._log_tail():
                        continue
                    raise
                self.port = port
                break
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (fast shutdown, then by PID) and delete its directory; idempotent."""
        base, self._base, self.port = self._base, None, None
        atexit.unregister(self.stop)
        if base is None:
            return
        data = base / "data"
        try:
            if (data / "postmaster.pid").exists():
                self._stop_server(data)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port {self.port}" if self.port is not None else "stopped"
        return f"PostgresServer({state})"

    def _check_binaries(self) -> None:
        missing = [n for n in ("initdb", "pg_ctl") if not os.access(self.bin_dir / n, os.X_OK)]
        if missing:
            raise RuntimeError(
                f"PostgreSQL 15 server binaries not found ({', '.join(missing)} missing in "
                f"{self.bin_dir}): install Debian's postgresql package "
                "(apt-get install postgresql; `make test` installs it when run as root)"
            )

    def _pg_ctl_start(self, port: int) -> None:
        socket_dir = str(self.data_dir.parent)
        settings = {**_SERVER_SETTINGS, "port": str(port), "unix_socket_directories": socket_dir}
        options = " ".join(f"-c {shlex.quote(f'{k}={v}')}" for k, v in settings.items())
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
            "-t", str(START_TIMEOUT_S), "-o", options, "start",
            timeout=START_TIMEOUT_S + 30,
        )  # fmt: skip

    def _stop_server(self, data: Path) -> None:
        pid = _postmaster_pid(data)
        try:
            self._run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop")
            return
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        if pid is None:
            return
        for sig in (signal.SIGQUIT, signal.SIGKILL):  # immediate shutdown, then kill
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            if _wait_gone(pid, 10):
                return

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        cmd = [*self._run_as, str(self.bin_dir / tool), *args]
        result = subprocess.run(
            cmd,
            cwd=self._base,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            log = self._log_tail()
            raise RuntimeError(
                f"{tool} failed (exit {result.returncode}): {shlex.join(cmd)}\n{output}"
                + (f"\n--- postgres log (last {LOG_TAIL_LINES} lines) ---\n{log}" if log else "")
            )

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except (OSError, RuntimeError):
            return ""
        return "\n".join(lines[-LOG_TAIL_LINES:])


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """Create an empty database on the server of ``admin_url``, yield its URL, drop it after."""
    name = f"test_{uuid.uuid4().hex}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _run_as_postgres() -> list[str]:
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise RuntimeError(
            f"running as root but there is no {SUPERUSER!r} OS user to run PostgreSQL as: "
            "install Debian's postgresql package (it creates the user)"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root but runuser (util-linux) is not installed")
    return [runuser, "-u", SUPERUSER, "--"]


def _clean_env() -> dict[str, str]:
    """The environment without libpq/server variables (PGDATA, PGPORT...) and with the C locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        time.sleep(0.05)
    return False
