"""What `appliance bench soak` reads while it runs: /proc of the edge, its logs, the figures.

A sample is the edge process as the kernel sees it (resident memory, open file descriptors,
threads) at one moment; the figures summarise the samples after the warm-up. Linux only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback \(most recent call last\)")
"""A line that counts as an error in an edge's or a node's output."""
KEPT_ERROR_LINES = 20


@dataclass(frozen=True)
class ProcessSample:
    t_s: float
    """Seconds since the cameras started."""
    rss_mb: float
    fds: int
    sockets: int
    """Of `fds`, the sockets (the listener and HTTP connections)."""
    threads: int


def sample_process(pid: int, t_s: float) -> ProcessSample | None:
    """The process's VmRSS, open fds and threads from /proc, or None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
        links = _fd_links(pid)
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = dict(_status_field(line) for line in status.splitlines() if ":" in line)
    rss_kb = int(fields["VmRSS"].split()[0])
    return ProcessSample(
        t_s=round(t_s, 1),
        rss_mb=round(rss_kb / 1024, 2),
        fds=len(links),
        sockets=sum(1 for link in links if link.startswith("socket:")),
        threads=int(fields["Threads"]),
    )


def _status_field(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name, value.strip()


def _fd_links(pid: int) -> list[str]:
    folder = f"/proc/{pid}/fd"
    links = []
    for name in os.listdir(folder):
        try:
            links.append(os.readlink(f"{folder}/{name}"))
        except FileNotFoundError:  # closed between listing and reading
            continue
    return links


class LogWatch:
    """Error lines appended to a log file since the last look (the file may not exist yet)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self.count = 0
        self.lines: list[str] = []

    def scan(self) -> int:
        """Reads what was appended; returns how many new error lines it held."""
        try:
            with self.path.open("rb") as log:
                log.seek(self._offset)
                chunk = log.read()
        except FileNotFoundError:
            return 0
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits
        self._offset += len(complete)
        found = [
            line
            for line in complete.decode("utf-8", errors="replace").splitlines()
            if ERROR_LINE.search(line)
        ]
        self.count += len(found)
        room = KEPT_ERROR_LINES - len(self.lines)
        self.lines.extend(f"{self.path.name}: {line}" for line in found[:room])
        return len(found)


def edge_counters(stats: dict[str, Any]) -> dict[str, Any]:
    """The counters of `GET /api/v1/stats` a soak reports: frames, rejections, shed work, store."""
    edge = stats["edge"]
    return {
        "frames_received": int(edge["frames_received"]),
        "frames_analysed": int(edge["frames_analysed"]),
        "rejected": dict(edge["rejected"]),
        "dropped": dict(edge["dropped"]),
        "store": dict(stats["store"]),
        "edge_peak_rss_mb": edge["memory"]["peak_rss_mb"],
    }


def warmup_seconds(duration_s: float) -> float:
    """The first 20% of the run, at least a minute, but never more than half the run."""
    return max(0.2 * duration_s, min(60.0, 0.5 * duration_s))


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, per hour; None under two points."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    covariance = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return covariance / spread * 3600


class Timed(Protocol):
    @property
    def t_s(self) -> float: ...


T = TypeVar("T", bound=Timed)


def after_warmup(samples: list[T], warmup_s: float) -> list[T]:
    """The samples from the one closest before the warm-up's end (the run's baseline) on."""
    before = [s for s in samples if s.t_s <= warmup_s]
    start = before[-1] if before else samples[0]
    return [s for s in samples if s.t_s >= start.t_s]


def growth_figures(samples: list[ProcessSample], warmup_s: float) -> dict[str, Any]:
    """Memory, fds and threads after the warm-up (the sample closest before its end starts)."""
    after = after_warmup(samples, warmup_s)
    start, final = after[0], after[-1]
    slope = slope_per_hour([(s.t_s, s.rss_mb) for s in after])
    return {
        "samples": len(samples),
        "samples_after_warmup": len(after),
        "rss_mb_at_warmup_end": start.rss_mb,
        "rss_mb_max": max(s.rss_mb for s in after),
        "rss_mb_final": final.rss_mb,
        "rss_growth_pct": round(100 * (final.rss_mb - start.rss_mb) / start.rss_mb, 2),
        "rss_slope_mb_per_hour": None if slope is None else round(slope, 2),
        "fds": _span([s.fds for s in after]),
        "sockets": _span([s.sockets for s in after]),
        "other_fds": _span([s.fds - s.sockets for s in after]),
        "threads": _span([s.threads for s in after]),
    }


def _span(values: list[int]) -> dict[str, int]:
    return {"min": min(values), "max": max(values), "span": max(values) - min(values)}


def shed_share(counters: dict[str, Any]) -> float | None:
    """Work the edge dropped unanalysed, as a share of the frames it analysed or dropped."""
    dropped = sum(counters["dropped"].values())
    handled = dropped + counters["frames_analysed"]
    return round(dropped / handled, 4) if handled else None
