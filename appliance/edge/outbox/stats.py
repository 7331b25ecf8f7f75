"""Counters of what the publisher sent, for the edge's /api/v1/stats."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

HOUR_S = 3600.0


@dataclass
class UplinkStats:
    cameras: Sequence[str]
    broker: str
    clock: Callable[[], float] = time.time
    started_at: float = 0.0
    connected: bool = False
    connects: int = 0
    disconnects: int = 0
    messages_sent: int = 0
    records_sent: int = 0
    bytes_sent: int = 0
    throttled: int = 0
    """Times the bytes-per-minute cap held messages back."""
    refused: int = 0
    """Messages the broker answered with a failure reason (sent again later)."""
    unsubscribed: int = 0
    """Messages no subscriber took (a broker without the cloud's subscription; sent again)."""
    camera_bytes: Counter[str] = field(default_factory=Counter)
    camera_records: Counter[str] = field(default_factory=Counter)
    kind_bytes: Counter[str] = field(default_factory=Counter)
    """Bytes sent per kind: events, counts, health."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.started_at = self.clock()

    def connection(self, up: bool) -> None:
        with self._lock:
            if up != self.connected:
                self.connects += up
                self.disconnects += not up
            self.connected = up

    def acknowledged(self, camera_id: str, kind: str, records: int, wire_bytes: int) -> None:
        with self._lock:
            self.kind_bytes[kind] += wire_bytes
            self.messages_sent += 1
            self.records_sent += records
            self.bytes_sent += wire_bytes
            self.camera_bytes[camera_id] += wire_bytes
            self.camera_records[camera_id] += records

    def note_throttled(self) -> None:
        with self._lock:
            self.throttled += 1

    def note_refused(self) -> None:
        with self._lock:
            self.refused += 1

    def note_unsubscribed(self) -> None:
        with self._lock:
            self.unsubscribed += 1

    def snapshot(self, pending: int | None, in_flight: int) -> dict[str, Any]:
        with self._lock:
            hours = max(self.clock() - self.started_at, 1e-9) / HOUR_S
            camera_hours = hours * max(len(self.cameras), 1)
            return {
                "enabled": True,
                "broker": self.broker,
                "connected": self.connected,
                "connects": self.connects,
                "disconnects": self.disconnects,
                "messages_sent": self.messages_sent,
                "records_sent": self.records_sent,
                "bytes_sent": self.bytes_sent,
                "bytes_per_camera_hour": round(self.bytes_sent / camera_hours, 1),
                "bytes_by_kind": dict(self.kind_bytes),
                "pending": pending,
                "in_flight": in_flight,
                "throttled": self.throttled,
                "refused": self.refused,
                "unsubscribed": self.unsubscribed,
                "cameras": {
                    camera: {
                        "records_sent": self.camera_records[camera],
                        "bytes_sent": self.camera_bytes[camera],
                        "bytes_per_camera_hour": round(self.camera_bytes[camera] / hours, 1),
                    }
                    for camera in self.cameras
                },
            }
