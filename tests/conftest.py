"""Shared fixtures. PostgreSQL: a real throwaway server (see pg_server.py), started on first use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg_server import PostgresServer, fresh_database


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Superuser URL of a PostgreSQL 15 server that lives for the test session."""
    with PostgresServer() as server:
        yield server.url


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """URL of a new, empty database for this test only (dropped afterwards)."""
    with fresh_database(postgres_url) as url:
        yield url
