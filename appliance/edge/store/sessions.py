"""Transactions that turn any database error into a StoreError naming what failed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .database import Database
from .errors import StoreError, is_disk_full


@contextmanager
def write_session(db: Database, what: str) -> Iterator[Session]:
    """A transaction that commits on success and rolls back on any error."""
    try:
        with db.sessions.begin() as session:
            yield session
    except SQLAlchemyError as exc:
        raise store_error(what, exc) from exc


@contextmanager
def read_session(db: Database, what: str) -> Iterator[Session]:
    try:
        with db.sessions() as session:
            yield session
    except SQLAlchemyError as exc:
        raise store_error(what, exc) from exc


def store_error(what: str, exc: SQLAlchemyError) -> StoreError:
    inner = getattr(exc, "orig", None) or exc
    return StoreError(f"{what} failed: {reason(exc)}", disk_full=is_disk_full(inner))


def reason(exc: SQLAlchemyError) -> str:
    """The driver's message on one line (no SQL statement, no parameters)."""
    inner = getattr(exc, "orig", None) or exc
    return " ".join(str(inner).split())
