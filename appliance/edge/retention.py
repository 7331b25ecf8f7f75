"""Retention: what the edge box keeps, and the background job that removes the rest, oldest
first, so the box never fills its disk by itself.

Each sweep removes frames (with their detections) received more than `frames_days` ago, ended
events last seen more than `events_days` ago (with their snapshots), snapshots of ended events
older than `snapshots_days`, then the oldest ended events' snapshots while all snapshots
together exceed `snapshots_max_mb` (the events stay, without a picture), and files under
snapshots/ that no event names (left by a crash) once an hour old. Open events keep theirs.
A row is changed before its file is removed, so no event names a missing file.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from appliance.edge.store import StoreError
from appliance.edge.store.retention import EndedSnapshot, StoreRetention

log = logging.getLogger(__name__)

DAY_S = 86_400.0
ORPHAN_GRACE_S = 3600.0
"""A file no event names is left this long: a snapshot is written just before its row."""


class RetentionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frames_days: float | None = Field(
        7.0, gt=0, description="Days analysed frames and their detections are kept; none: ever."
    )
    events_days: float | None = Field(
        90.0, gt=0, description="Days ended events are kept (with snapshots); none: ever."
    )
    snapshots_days: float | None = Field(
        30.0, gt=0, description="Days ended events keep their snapshot picture; none: ever."
    )
    snapshots_max_mb: float | None = Field(
        2048.0,
        gt=0,
        description="Most disk all snapshots may use, MB; beyond it the oldest ended events'"
        " snapshots go first; none: no quota.",
    )
    interval_s: float = Field(
        600.0, ge=1, le=86_400, description="Seconds between retention sweeps (one at start)."
    )


@dataclass(frozen=True)
class RetentionSweep:
    frames: int = 0
    events: int = 0
    snapshots: int = 0
    """Snapshot files removed (with their events, by age, or by the quota)."""
    orphans: int = 0
    snapshot_bytes: int = 0
    """What the snapshots use after the sweep."""


class RetentionJob:
    """Sweeps on a thread every `interval_s` until `close()`; `sweep()` runs one now."""

    def __init__(
        self,
        config: RetentionConfig,
        store: StoreRetention,
        data_dir: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.data_dir = data_dir
        self.snapshot_dir = data_dir / "snapshots"
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._last: RetentionSweep | None = None
        self._last_at: float | None = None

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def snapshot(self) -> dict[str, Any]:
        """The last sweep, for /api/v1/stats."""
        return {
            "last_sweep_at": self._last_at,
            "last_sweep": None if self._last is None else asdict(self._last),
        }

    def sweep(self) -> RetentionSweep:
        now = self.clock()
        frames = self._frames(now)
        events, gone = self._events(now)
        aged = self._aged_snapshots(now)
        over = self._over_quota()
        orphans = self._orphans(now)
        result = RetentionSweep(frames, events, gone + aged + over, orphans, _size(self._files()))
        self._last, self._last_at = result, now
        if frames or events or result.snapshots or orphans:
            log.info("retention removed %s", asdict(result))
        return result

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except (StoreError, OSError) as exc:  # the next sweep tries again
                log.warning("retention sweep failed: %s", exc)
            self._stop.wait(self.config.interval_s)

    def _frames(self, now: float) -> int:
        days = self.config.frames_days
        return 0 if days is None else self.store.delete_frames_received_before(now - days * DAY_S)

    def _events(self, now: float) -> tuple[int, int]:
        days = self.config.events_days
        if days is None:
            return 0, 0
        removed = self.store.delete_events_ended_before(now - days * DAY_S)
        return len(removed), self._unlink(self.data_dir / p for p in removed)

    def _aged_snapshots(self, now: float) -> int:
        days = self.config.snapshots_days
        if days is None:
            return 0
        cutoff = now - days * DAY_S
        old = [s for s in self.store.ended_snapshots() if _mtime(self._path(s)) < cutoff]
        return self._remove(old)

    def _over_quota(self) -> int:
        quota_mb = self.config.snapshots_max_mb
        if quota_mb is None:
            return 0
        excess = _size(self._files()) - quota_mb * 1e6
        chosen: list[EndedSnapshot] = []
        for snapshot in self.store.ended_snapshots():
            if excess <= 0:
                break
            chosen.append(snapshot)
            excess -= _file_size(self._path(snapshot))
        return self._remove(chosen)

    def _orphans(self, now: float) -> int:
        named = {self.data_dir / p for p in self.store.referenced_snapshots()}
        stray = [f for f in self._files() if f not in named and _mtime(f) < now - ORPHAN_GRACE_S]
        return self._unlink(stray)

    def _remove(self, snapshots: list[EndedSnapshot]) -> int:
        if not snapshots:
            return 0
        self.store.forget_snapshots([s.event_id for s in snapshots])
        return self._unlink(self._path(s) for s in snapshots)

    def _path(self, snapshot: EndedSnapshot) -> Path:
        return self.data_dir / snapshot.path

    def _files(self) -> list[Path]:
        if not self.snapshot_dir.is_dir():
            return []
        return [p for p in self.snapshot_dir.rglob("*") if p.is_file()]

    @staticmethod
    def _unlink(paths: Iterable[Path]) -> int:
        removed = 0
        for path in paths:
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")  # already gone: never "old"


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _size(paths: Iterable[Path]) -> int:
    return sum(_file_size(p) for p in paths)
