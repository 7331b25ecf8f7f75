"""What `appliance bench soak` reads of the edge's store: its rows and its size on disk, and
whether retention keeps no more than it was configured to keep.

A store that only grows fills an appliance's disk in days. With `retention.frames_days` shorter
than the run, the frames stored at the end may be at most those the edge analysed within that
horizon plus one sweep interval (a sweep removes what is older than the horizon; between sweeps
the rows of one interval pile up), and one sampling interval of slack (frames analysed are read
from the samples, taken `sample_s` apart). Longer horizons are reported, not checked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.bench.soak_sampling import after_warmup
from appliance.edge.retention import DAY_S, RetentionConfig


@dataclass(frozen=True)
class StoreSample:
    t_s: float
    """Seconds since the cameras started."""
    disk_mb: float
    """The edge's data directory on disk: snapshots, and a SQLite database with its journal."""
    database_mb: float | None
    """The database on disk as the edge reads it (`store.database_mb`): SQLite's file, or a
    PostgreSQL database's own size, which lies outside the data directory."""
    frames: int
    detections: int
    events: int
    """Rows stored when sampled (`store` of `GET /api/v1/stats`)."""
    frames_analysed: int
    """Frames the edge had analysed since it started."""


def folder_mb(path: Path) -> float:
    """Bytes of the regular files under `path`, in MB (0 when it does not exist yet)."""
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except FileNotFoundError:  # removed by a sweep while this walked
                continue
    return round(total / 1e6, 2)


def store_sample(t_s: float, data_dir: Path, stats: dict[str, Any]) -> StoreSample:
    store = stats["store"]
    return StoreSample(
        t_s=round(t_s, 1),
        disk_mb=folder_mb(data_dir),
        database_mb=store.get("database_mb"),
        frames=int(store["frames"]),
        detections=int(store["detections"]),
        events=int(store["events"]),
        frames_analysed=int(stats["edge"]["frames_analysed"]),
    )


def retention_of(base: dict[str, Any]) -> RetentionConfig:
    """The retention the edge runs with: its YAML's `retention`, else the defaults."""
    return RetentionConfig.model_validate(base.get("retention") or {})


def store_figures(
    samples: list[StoreSample], warmup_s: float, retention: RetentionConfig, sample_s: float
) -> dict[str, Any]:
    """The store after the warm-up and, for a frames horizon shorter than the run, the most
    frames retention may leave at the end (`frames_bound`) and whether it held."""
    after = after_warmup(samples, warmup_s)
    start, final = after[0], after[-1]
    sizes = [s.database_mb for s in after if s.database_mb is not None]
    return {
        "disk_mb_at_warmup_end": start.disk_mb,
        "disk_mb_max": max(s.disk_mb for s in after),
        "disk_mb_final": final.disk_mb,
        "database_mb_at_warmup_end": start.database_mb,
        "database_mb_max": max(sizes) if sizes else None,
        "database_mb_final": final.database_mb,
        "frames_at_warmup_end": start.frames,
        "frames_max": max(s.frames for s in after),
        "frames_final": final.frames,
        "events_final": final.events,
        "retention": _retention_figures(samples, retention, sample_s),
    }


def _retention_figures(
    samples: list[StoreSample], retention: RetentionConfig, sample_s: float
) -> dict[str, Any]:
    final = samples[-1]
    horizon = None if retention.frames_days is None else retention.frames_days * DAY_S
    figures: dict[str, Any] = {
        "frames_s": horizon,
        "interval_s": retention.interval_s,
        "frames_bound": None,
        "holds": None,
    }
    if horizon is None:
        return figures
    window = horizon + retention.interval_s + sample_s
    since = final.t_s - window
    if since <= samples[0].t_s:
        return figures  # the run is shorter than what retention keeps: nothing to check
    # The last sample at or before the window opened: its count is at most the true one then,
    # so the bound errs on the generous side.
    opened = [s for s in samples if s.t_s <= since][-1]
    bound = final.frames_analysed - opened.frames_analysed
    figures.update(frames_bound=bound, holds=final.frames <= bound)
    return figures
