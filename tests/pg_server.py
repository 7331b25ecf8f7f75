"""A throwaway PostgreSQL 15 server for the tests: initdb into a temp dir, start, stop, remove.

Uses Debian's ``postgresql`` package (``/usr/lib/postgresql/15/bin``). initdb refuses to run as
root, so as root the server runs as the ``postgres`` OS user (via ``runuser``); otherwise as the
current user. It listens on 127.0.0.1 only, on a free port, with trust authentication for the
``postgres`` superuser and durability off (fsync, full_page_writes): test data only.

The postmaster is a child of this process (not daemonized by ``pg_ctl start``), so after the
``pg_ctl stop`` it is reaped here instead of lingering as a zombie under PID 1.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shlex
import shutil
import signal
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

from appliance.edge.server import free_port
from tests.server_process import stop_process

PG_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"
HOST = "127.0.0.1"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
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
        self._proc: subprocess.Popen[bytes] | None = None
        self._run_as: list[str] = []

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the superuser's ``postgres`` database."""
        if self.port is None:
            raise RuntimeError("PostgreSQL test server is not running")
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/postgres"

    def start(self) -> None:
        if self._base is not None:
            return
        self._check_binaries()
        self._run_as = _run_as_postgres() if os.geteuid() == 0 else []
        # As root, stay out of TMPDIR: it may sit below a directory postgres cannot traverse.
        tmp = "/tmp" if self._run_as else None
        self._base = Path(tempfile.mkdtemp(prefix="appliance-pg-", dir=tmp))
        atexit.register(self.stop)
        try:
            if self._run_as:
                user = pwd.getpwnam(SUPERUSER)
                os.chown(self._base, user.pw_uid, user.pw_gid)
            self._run(
                "initdb", "-D", str(self._data), "-U", SUPERUSER, "--auth=trust",
                "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
            )  # fmt: skip
            for attempt in range(1, _START_ATTEMPTS + 1):
                port = free_port()
                try:
                    self._start_postmaster(port)
                except RuntimeError as exc:
                    if attempt < _START_ATTEMPTS and "already in use" in str(exc):
                        continue
                    raise
                self.port = port
                break
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (fast shutdown, then by PID) and delete its directory; idempotent."""
        atexit.unregister(self.stop)
        if self._base is None:
            return
        try:
            self._stop_postmaster()
        finally:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None
            self.port = None

    def pause(self) -> None:
        """Shut the server down (fast), keeping its data and port: an outage, as a restart of
        the database host makes one; `resume()` ends it."""
        self._stop_postmaster()

    def resume(self) -> None:
        assert self.port is not None, "never started"
        self._start_postmaster(self.port)

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

    @property
    def _data(self) -> Path:
        assert self._base is not None
        return self._base / "data"

    @property
    def _log(self) -> Path:
        assert self._base is not None
        return self._base / "postgres.log"

    def _check_binaries(self) -> None:
        tools = ("initdb", "pg_ctl", "postgres")
        missing = [t for t in tools if not os.access(self.bin_dir / t, os.X_OK)]
        if missing:
            raise RuntimeError(
                f"PostgreSQL 15 server binaries not found ({', '.join(missing)} missing in "
                f"{self.bin_dir}): install Debian's postgresql package "
                "(apt-get install postgresql; `make test` installs it when run as root)"
            )

    def _start_postmaster(self, port: int) -> None:
        settings = {
            **_SERVER_SETTINGS,
            "port": str(port),
            "unix_socket_directories": str(self._base),
        }
        options = [a for k, v in settings.items() for a in ("-c", f"{k}={v}")]
        cmd = [*self._run_as, str(self.bin_dir / "postgres"), "-D", str(self._data), *options]
        with self._log.open("wb") as log:  # the child keeps its own copy of the descriptor
            self._proc = subprocess.Popen(
                cmd,
                cwd=self._base,
                env=_clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C on pytest must not shut it down mid-test
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._ready():
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                raise self._error(f"postgres exited with code {code} while starting", cmd)
            if time.monotonic() > deadline:
                self._stop_postmaster()
                raise self._error(f"postgres not ready after {START_TIMEOUT_S}s", cmd)
            time.sleep(0.05)

    def _ready(self) -> bool:
        """What ``pg_ctl start -w`` checks: postmaster.pid's status line says ``ready``."""
        try:
            lines = (self._data / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def _stop_postmaster(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        pid = _postmaster_pid(self._data)
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self._data), "-m", "fast", "-w", "stop")
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_TIMEOUT_S)
            return
        # pg_ctl failed: immediate shutdown (SIGQUIT), then SIGKILL, by postmaster.pid's PID.
        extra = [] if pid is None else [pid]
        stop_process(proc, (signal.SIGQUIT, signal.SIGKILL), timeout_s=10, extra_pids=extra)

    def _run(self, tool: str, *args: str) -> None:
        cmd = [*self._run_as, str(self.bin_dir / tool), *args]
        result = subprocess.run(
            cmd,
            cwd=self._base,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S + STOP_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise self._error(f"{tool} failed (exit {result.returncode}):\n{output}", cmd)

    def _error(self, what: str, cmd: list[str]) -> RuntimeError:
        try:
            lines = self._log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        except OSError:
            lines = []
        log = f"\n--- postgres log (last {len(lines)} lines) ---\n" + "\n".join(lines)
        return RuntimeError(f"{what}\ncommand: {shlex.join(cmd)}" + (log if lines else ""))


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


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
