"""Alembic migrations run at open time, programmatically (no alembic.ini needed).

Two chains use this: the edge store (``appliance/edge/store/migrations``) and the cloud database
(``appliance/cloud/migrations``). Each keeps its revision in its own version table, so the two
could even share one database. A database made by the old ``create_all`` (tables present, no
version table) is stamped at the chain's baseline first, then upgraded: no row is lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, MetaData, inspect, text

if TYPE_CHECKING:  # alembic is imported when first used: importing it logs at INFO
    from alembic.config import Config

logger = logging.getLogger(__name__)

# Any constant works: it only has to be the same for every process migrating one database.
_PG_LOCK_KEY = 7_246_031_455


class MigrationError(Exception):
    """The database's revision is unknown to this version, or a revision failed."""


@dataclass(frozen=True)
class Migrations:
    """One chain of revisions and what tells a pre-migrations database apart."""

    location: Path
    """The directory holding env.py and versions/."""
    version_table: str
    metadata: MetaData
    """The models the chain's head must match (used by env.py and the tests)."""
    baseline: str | None = None
    """Revision a database created by ``create_all`` before migrations existed is stamped at."""
    baseline_tables: tuple[str, ...] = ()
    """Tables that such a database has (all of them, or it is not recognised as one)."""


def upgrade(engine: Engine, migrations: Migrations) -> None:
    """Bring the database to the chain's head; concurrent callers on PostgreSQL take turns."""
    _quiet_alembic()
    from alembic import command
    from alembic.util.exc import CommandError

    try:
        before, after = _upgrade(engine, migrations, command)
    except CommandError as exc:
        raise MigrationError(str(exc)) from None
    if before != after:
        logger.info("database schema migrated from %s to %s", before or "empty", after)


def _upgrade(engine: Engine, migrations: Migrations, command: Any) -> tuple[str | None, str | None]:
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two workers starting together must not both create the tables.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        config = alembic_config(migrations, connection)
        if _needs_baseline(connection, migrations):
            logger.info("database predates migrations: stamping %s", migrations.baseline)
            command.stamp(config, migrations.baseline or "base")
        before = current_revision(connection, migrations)
        command.upgrade(config, "head")
        after = current_revision(connection, migrations)
    return before, after


def run_in_context(config: Config) -> None:
    """Body of env.py: run the migrations on the connection ``upgrade`` handed over."""
    from alembic import context

    connection: Connection | None = config.attributes.get("connection")
    migrations: Migrations | None = config.attributes.get("migrations")
    if connection is None or migrations is None:
        raise RuntimeError("these migrations run through appliance.edge.store.migrate.upgrade()")
    context.configure(
        connection=connection,
        target_metadata=migrations.metadata,
        version_table=migrations.version_table,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def current_revision(connection: Connection, migrations: Migrations) -> str | None:
    table = migrations.version_table
    if not inspect(connection).has_table(table):
        return None
    return connection.execute(text(f"SELECT version_num FROM {table}")).scalar()


def head_revision(migrations: Migrations) -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(migrations.location)).get_current_head()
    assert head is not None, f"no revisions in {migrations.location}"
    return head


def alembic_config(migrations: Migrations, connection: Connection) -> Config:
    """A Config that env.py reads: the connection, the version table and the target models."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations.location))
    config.attributes["connection"] = connection
    config.attributes["migrations"] = migrations
    return config


def _quiet_alembic() -> None:
    """Alembic narrates every plugin and context at INFO; keep its warnings only, unless the
    user set a level for it."""
    alembic_logger = logging.getLogger("alembic")
    if alembic_logger.level == logging.NOTSET:
        alembic_logger.setLevel(logging.WARNING)


def _needs_baseline(connection: Connection, migrations: Migrations) -> bool:
    if migrations.baseline is None:
        return False
    tables = set(inspect(connection).get_table_names())
    if migrations.version_table in tables:
        return False
    return bool(migrations.baseline_tables) and set(migrations.baseline_tables) <= tables
