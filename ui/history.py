"""Samples of the edge's stats kept in the browser session, for the charts over time."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

MAX_SAMPLES = 360


@dataclass(frozen=True)
class Sample:
    at: float
    camera: str
    frames_received: int
    p95_ms: float | None
    queue_depth: int


def samples_of(stats: dict[str, Any], now: float | None = None) -> list[Sample]:
    at = time.time() if now is None else now
    edge = stats["edge"]
    depth = int(edge.get("scheduler", {}).get("queue_depth", 0))
    return [
        Sample(at, cid, c["frames_received"], c["latency_ms"]["p95"], depth)
        for cid, c in edge["cameras"].items()
    ]


def record(history: list[Sample], stats: dict[str, Any]) -> list[Sample]:
    """`history` with the samples of `stats` added, the oldest beyond MAX_SAMPLES dropped."""
    history = [*history, *samples_of(stats)]
    cameras = max(1, len({s.camera for s in history}))
    return history[-MAX_SAMPLES * cameras :]


def frames_per_second(history: list[Sample]) -> pd.DataFrame:
    """Frames received per second per camera between consecutive samples (time x camera)."""
    rows = []
    last: dict[str, Sample] = {}
    for sample in history:
        before = last.get(sample.camera)
        if before is not None and sample.at > before.at:
            fps = (sample.frames_received - before.frames_received) / (sample.at - before.at)
            rows.append({"time": _time(sample.at), "camera": sample.camera, "fps": max(fps, 0.0)})
        last[sample.camera] = sample
    return _pivot(rows, "fps")


def latency_p95(history: list[Sample]) -> pd.DataFrame:
    rows = [
        {"time": _time(s.at), "camera": s.camera, "p95": s.p95_ms}
        for s in history
        if s.p95_ms is not None
    ]
    return _pivot(rows, "p95")


def _time(epoch: float) -> pd.Timestamp:
    """Whole seconds: the charts' time axis then reads as clock times, not milliseconds."""
    return pd.Timestamp(round(epoch), unit="s", tz="UTC")


def _pivot(rows: list[dict[str, Any]], value: str) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    return frame.pivot_table(index="time", columns="camera", values=value, aggfunc="last")
