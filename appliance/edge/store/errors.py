"""The one exception type the store raises to its callers."""

from __future__ import annotations

DISK_FULL_SQLSTATE = "53100"
"""PostgreSQL's disk_full."""
_DISK_FULL_WORDS = ("database or disk is full", "no space left on device", "could not extend file")


class StoreError(Exception):
    """A database could not be opened or a write was refused; the message is safe to show."""

    def __init__(self, message: str, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full
        """The database's disk is full: the write may succeed once space returns."""


def is_disk_full(error: BaseException) -> bool:
    """Whether a driver's error (SQLite's SQLITE_FULL, PostgreSQL's 53100) says the disk is full."""
    if getattr(error, "sqlstate", None) == DISK_FULL_SQLSTATE:
        return True
    text = str(error).lower()
    return any(words in text for words in _DISK_FULL_WORDS)
