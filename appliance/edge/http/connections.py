"""Connection limits uvicorn does not have: a cap on open connections and a deadline for a
request's headers.

Without them, a LAN device opening a thousand idle sockets used up the edge's file descriptors:
`/health` and frame uploads timed out and asyncio logged every failed accept. A connection past
the cap is closed as soon as it is accepted; one that has not sent a whole request line and
headers within `header_timeout_s` of its first byte (or of being opened) is closed.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

WANTED_OPEN_FILES = 8192
"""Soft limit on open files the edge asks for at start (systemd's default soft limit is 1024;
the unit sets LimitNOFILE too)."""


def guarded_protocol(
    max_connections: int, header_timeout_s: float, refused: Callable[[str], None]
) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the cap and the header deadline; `refused(reason)` counts
    each connection closed by them ("too_many_connections", "header_timeout")."""

    class GuardedH11Protocol(H11Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._header_timer: asyncio.TimerHandle | None = None
            self._timed_cycle: object = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                refused("too_many_connections")
                transport.abort()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
                self._arm()  # the first bytes of the next request on a kept-alive connection
            super().data_received(data)
            if self._header_timer is not None and self.cycle is not self._timed_cycle:
                self._disarm()  # its headers arrived: a request cycle began

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._timed_cycle = self.cycle
            self._header_timer = self.loop.call_later(header_timeout_s, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                refused("header_timeout")
                self.transport.close()

    return GuardedH11Protocol


def raise_open_files_limit(wanted: int = WANTED_OPEN_FILES) -> int:
    """Raise this process's soft limit on open files toward `wanted` (never above the hard
    limit); the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    log.debug("open files limit: %s", soft)
    return int(soft)
