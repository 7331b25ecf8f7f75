"""Real `appliance cloud` workers as subprocesses, the edge's `cloud:` section for tests, and
reads of both sides' databases (the edge's SQLite outbox, the cloud's PostgreSQL)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.edge_process import PROJECT_ROOT, appliance_command
from tests.server_process import stop_process, wait_for

PREFIX = "fleet"
SITE = "site-a"
STARTUP_S = 30.0


def cloud_section(broker_port: int, **extra: Any) -> dict[str, Any]:
    """An edge's `cloud:` settings for tests: fast polling and reconnects."""
    return {
        "enabled": True,
        "site_id": SITE,
        "topic_prefix": PREFIX,
        "broker": {"port": broker_port, "reconnect_min_s": 1, "reconnect_max_s": 2},
        "poll_interval_s": 0.1,
        "drain_timeout_s": 60,
        **extra,
    }


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    stats: dict[str, Any] = field(default_factory=dict)
    """The counts it printed when it stopped."""

    @property
    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(
            errors="replace"
        )


@contextmanager
def cloud_worker(
    work_dir: Path,
    broker_port: int,
    database_url: str,
    client_id: str,
    log_level: str = "INFO",
    **extra: Any,
) -> Iterator[WorkerProcess]:
    """Start `appliance cloud`, wait until it subscribed; SIGTERM and read its counts after."""
    work_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "broker": {"port": broker_port, "reconnect_min_s": 1, "reconnect_max_s": 2},
        "database_url": database_url,
        "topic_prefix": PREFIX,
        **extra,
    }
    config_path = work_dir / f"{client_id}.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    out, err = work_dir / f"{client_id}.stdout", work_dir / f"{client_id}.stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [*appliance_command(), "--log-level", log_level, "cloud", "--config", str(config_path),
             "--client-id", client_id],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )  # fmt: skip
    worker = WorkerProcess(process, out, err)
    try:
        wait_for(
            lambda: "subscribed to" in worker.output or process.poll() is not None,
            STARTUP_S,
            f"cloud worker {client_id} to subscribe",
        )
        assert process.poll() is None, f"cloud worker exited:\n{worker.output}"
        yield worker
    finally:
        stop_process(process, (signal.SIGTERM, signal.SIGKILL), timeout_s=15)
        lines = out.read_text().strip().splitlines()
        worker.stats = json.loads(lines[-1]) if lines else {}


def cloud_rows(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(text(sql))]
    finally:
        engine.dispose()


def cloud_record_ids(database_url: str) -> list[str]:
    sql = " UNION ALL ".join(
        f"SELECT record_id FROM {t}" for t in ("cloud_events", "cloud_counts", "cloud_health")
    )
    return [r[0] for r in cloud_rows(database_url, sql)]


def edge_rows(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db_path, timeout=10)) as connection:
        return [tuple(r) for r in connection.execute(sql)]


def outbox_ids(db_path: Path, pending_only: bool = False) -> list[str]:
    where = " WHERE sent_at IS NULL" if pending_only else ""
    return [r[0] for r in edge_rows(db_path, f"SELECT message_id FROM outbox{where}")]
