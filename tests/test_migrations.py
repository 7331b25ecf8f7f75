"""Alembic migrations at open time, on a real SQLite file and a real PostgreSQL server: the head
matches the models, a database made by the old create_all keeps its rows, and the edge and
cloud chains live side by side."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect, text

from appliance.cloud.schema import CLOUD_MIGRATIONS
from appliance.edge.store import (
    CameraRow,
    Database,
    Store,
    StoreError,
    StoreTotals,
    open_database,
    sqlite_url,
)
from appliance.edge.store.database import EDGE_MIGRATIONS
from appliance.edge.store.migrate import Migrations, current_revision, head_revision
from appliance.edge.store.schema import Base
from tests.test_store import det, event, frame

OLD_TABLES = ("cameras", "events", "frames", "detections")
LATER_COLUMNS = (("events", "confirmed_at"),)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "data")
    db_url: str = request.getfixturevalue("postgres_db_url")
    return db_url


@pytest.fixture
def opened(url: str) -> Iterator[list[Database]]:
    databases: list[Database] = []
    yield databases
    for database in databases:
        database.dispose()


def differences(database: Database, migrations: Migrations) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "version_table": migrations.version_table}
        )
        return list(compare_metadata(context, migrations.metadata))


def revision(database: Database, migrations: Migrations) -> str | None:
    with database.engine.connect() as connection:
        return current_revision(connection, migrations)


@pytest.mark.parametrize("migrations", [EDGE_MIGRATIONS, CLOUD_MIGRATIONS], ids=["edge", "cloud"])
def test_upgrade_reaches_the_models(
    url: str, opened: list[Database], migrations: Migrations
) -> None:
    database = open_database(url, migrations)
    opened.append(database)
    assert differences(database, migrations) == []
    assert revision(database, migrations) == head_revision(migrations)


def test_edge_and_cloud_chains_share_a_database(url: str, opened: list[Database]) -> None:
    opened.append(open_database(url))
    opened.append(open_database(url, CLOUD_MIGRATIONS))
    opened.append(open_database(url))  # reopening changes nothing
    tables = set(inspect(opened[0].engine).get_table_names())
    assert {"outbox", "cloud_events", "alembic_version_edge", "alembic_version_cloud"} <= tables
    assert revision(opened[0], EDGE_MIGRATIONS) == head_revision(EDGE_MIGRATIONS)
    assert revision(opened[0], CLOUD_MIGRATIONS) == head_revision(CLOUD_MIGRATIONS)


def test_create_all_database_is_upgraded_and_keeps_its_rows(
    url: str, opened: list[Database]
) -> None:
    # The schema as create_all made it before migrations: the four tables, no version table.
    old = MetaData()
    for name in OLD_TABLES:
        Base.metadata.tables[name].to_metadata(old)
    frames = old.tables["frames"]
    frames.indexes = {i for i in frames.indexes if i.name != "ix_frames_camera_captured"}
    engine = create_engine(url)
    old.create_all(engine)
    legacy = Database(engine)
    store = Store(legacy)
    store.ensure_cameras([CameraRow("cam1", "Front door"), CameraRow("cam2", "Yard")])
    store.record_analysis(frame(), [det(), det(0.7, 2)], [event()])
    legacy.dispose()
    with engine.begin() as connection:  # columns that later revisions added
        for table, column in LATER_COLUMNS:
            connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))

    upgraded = open_database(url)
    opened.append(upgraded)
    totals = replace(Store(upgraded).totals(), database_mb=None)
    assert totals == StoreTotals(cameras=2, frames=1, detections=2, events=1)
    assert Store(upgraded).get_event(event().id) == event()
    assert differences(upgraded, EDGE_MIGRATIONS) == []
    assert revision(upgraded, EDGE_MIGRATIONS) == head_revision(EDGE_MIGRATIONS)


def test_unknown_revision_stops_with_a_store_error(url: str, opened: list[Database]) -> None:
    opened.append(open_database(url))
    with opened[0].engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version_edge SET version_num = 'edge_9999'"))
    with pytest.raises(StoreError, match="edge_9999"):
        open_database(url)


def test_concurrent_opens_on_postgres_migrate_once(postgres_db_url: str) -> None:
    def open_and_count() -> int:
        database = open_database(postgres_db_url, CLOUD_MIGRATIONS)
        try:
            with database.engine.connect() as connection:
                return int(
                    connection.execute(text("SELECT count(*) FROM alembic_version_cloud")).scalar()
                    or 0
                )
        finally:
            database.dispose()

    with ThreadPoolExecutor(max_workers=3) as pool:
        assert list(pool.map(lambda _: open_and_count(), range(3))) == [1, 1, 1]
