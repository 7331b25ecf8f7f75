"""Engine and session factory: SQLite (WAL) by default, any SQLAlchemy URL (PostgreSQL) too."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .errors import StoreError
from .migrate import MigrationError, Migrations, upgrade
from .schema import Base

logger = logging.getLogger(__name__)

DB_FILENAME = "appliance.db"
PG_CONNECT_TIMEOUT_S = 10

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)
_USERINFO_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")

EDGE_MIGRATIONS = Migrations(
    location=Path(__file__).resolve().parent / "migrations",
    version_table="alembic_version_edge",
    metadata=Base.metadata,
    baseline="edge_0001",
    baseline_tables=("cameras", "frames", "detections", "events"),
)


def sqlite_url(data_dir: Path) -> str:
    """URL of ``appliance.db`` inside ``data_dir``; creates the directory."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create data directory {data_dir}: {exc}") from exc
    return f"sqlite:///{(data_dir / DB_FILENAME).resolve()}"


def mask_url(url: str | URL) -> str:
    """The URL with any password replaced by ``***`` (also for strings that do not parse)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return _USERINFO_PASSWORD.sub(r"\1***@", str(url))


class Database:
    """An engine plus a session factory; ``url`` is safe to log (password masked)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)
        self.url = mask_url(engine.url)

    def dispose(self) -> None:
        """Close every pooled connection; the object must not be used afterwards."""
        self.engine.dispose()
        logger.debug("database %s disposed", self.url)

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url!r})"


def open_database(url: str, migrations: Migrations = EDGE_MIGRATIONS) -> Database:
    """Connect, migrate to the newest schema and return the database; failures raise
    StoreError."""
    masked = mask_url(url)
    try:
        parsed = make_url(url)
    except (SQLAlchemyError, ValueError) as exc:
        raise StoreError(f"invalid database URL {masked}: {exc}") from None
    engine = _create_engine(parsed, masked)
    try:
        upgrade(engine, migrations)
    except MigrationError as exc:
        engine.dispose()
        raise StoreError(f"cannot migrate database {masked}: {exc}") from None
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open database {masked}: {_reason(exc, parsed)}") from exc
    logger.info("database %s open (%s)", masked, engine.dialect.name)
    return Database(engine)


def _create_engine(url: URL, masked: str) -> Engine:
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    try:
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except ImportError as exc:
        raise StoreError(f"database driver for {masked} is not installed: {exc}") from None
    except (SQLAlchemyError, ValueError, TypeError) as exc:
        raise StoreError(f"invalid database URL {masked}: {_reason(exc, url)}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def _set_sqlite_pragmas(dbapi_connection: Any, _connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _reason(exc: BaseException, url: URL) -> str:
    """The driver's own message (no SQL, no traceback), with the password scrubbed."""
    inner = exc.orig if isinstance(exc, DBAPIError) else exc
    reason = " ".join(str(inner).split()) or type(inner).__name__
    if url.password:
        reason = reason.replace(str(url.password), "***")
    return reason
