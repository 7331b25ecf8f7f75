"""`appliance bench soak`: one edge box under N real-time cameras for minutes, watched for leaks.

The edge box runs as it ships (`appliance edge`, its default settings, a fresh SQLite store,
an api_token) with N `appliance camera` processes replaying the sample clips in real time,
started again at each clip's end (a camera that reconnects). Every `--sample-s` the soak reads
the edge's resident memory, open file descriptors and threads from /proc and its counters
from `GET /api/v1/stats`. The first 20% of the run (at least a minute, at most half) is
warm-up: the model loads, caches and pools fill. After it, the targets are: resident memory
grows at most 5%, descriptors and threads stay flat (within what live connections and idle
worker threads legitimately vary by: the `*_tolerance` targets), and no errors:
no ERROR or Traceback line in any output, no process exiting other than 0, no stats request
failing. Shedding under load is the scheduler doing its job, not an error: it is reported.
The store's rows and size on disk are sampled too; when the edge YAML's `retention` keeps
frames for less than the run, the frames stored at the end must be within what that horizon
allows (`appliance.bench.soak_store`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from appliance.bench.built_clips import bench_video
from appliance.bench.edge_yaml import edge_yaml
from appliance.bench.soak_processes import SoakEdge, SoakNode, looped_clip, node_config
from appliance.bench.soak_report import format_soak_report
from appliance.bench.soak_sampling import (
    LogWatch,
    ProcessSample,
    edge_counters,
    growth_figures,
    sample_process,
    shed_share,
    warmup_seconds,
)
from appliance.bench.soak_store import StoreSample, retention_of, store_figures, store_sample
from appliance.edge.retention import RetentionConfig
from appliance.edge.store import StoreError
from appliance.progress import SILENT, Progress, counted, progress_from

log = logging.getLogger(__name__)

MAX_RSS_GROWTH_PCT = 5.0
OTHER_FD_TOLERANCE = 4
"""Files, pipes and event fds besides sockets: the store's files, logs and the model are
steady; a snapshot being written or another pooled SQLite connection (its database and WAL
files) come and go."""
SOCKETS_PER_NODE = 2
"""A node holds up to two keep-alive connections (frames, status reports; an idle one closes
after 5 s), none while it restarts. The listener and the soak's own stats connection are
steady."""
THREAD_TOLERANCE = 4
"""Worker threads of the edge's thread pool (status reports, stats reads) start on demand
and end after 10 s idle."""
EXIT_INTERRUPTED = 130


@dataclass
class SoakRun:
    samples: list[ProcessSample] = field(default_factory=list)
    store: list[StoreSample] = field(default_factory=list)
    counters: dict[str, Any] | None = None
    stats_failures: int = 0
    edge_gone_at_s: float | None = None
    interrupted: bool = False
    elapsed_s: float = 0.0


def run_soak_command(args: argparse.Namespace) -> int:
    if args.work_dir is not None and args.work_dir.exists() and any(args.work_dir.iterdir()):
        # Its logs and store would mix with the new run's.
        print(f"appliance: bench soak: --work-dir {args.work_dir} is not empty", file=sys.stderr)
        return 2
    videos = [
        looped_clip(bench_video(name, args.cache_dir), args.cache_dir) for name in args.videos
    ]
    base = edge_yaml(args.config)
    report = run_soak(
        args.cameras, args.minutes * 60, args.sample_s, videos, base, args.work_dir,
        progress_from(args),
    )  # fmt: skip
    print(json.dumps(report) if args.json else format_soak_report(report))
    if report["interrupted"]:
        return EXIT_INTERRUPTED
    return 0 if report["meets_targets"] else 1


def run_soak(
    cameras: int,
    duration_s: float,
    sample_s: float,
    videos: list[Path],
    base: dict[str, Any],
    work_dir: Path | None = None,
    progress: Progress = SILENT,
) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with _workdir(work_dir) as workdir, _stop_signals() as stopping:
        edge = SoakEdge(workdir, cameras, base)
        nodes: list[SoakNode] = []
        try:
            run = SoakRun(interrupted=True)
            if edge.wait_healthy(stopping):
                _require_empty_store(edge)
                nodes = _nodes(workdir, edge, videos)
                for node in nodes:
                    node.start()
                with progress.timed(f"soak, {counted(cameras, 'camera')}", duration_s):
                    run = _watch(edge, nodes, duration_s, sample_s, stopping)
        finally:
            for node in nodes:
                node.stop()
            edge.stop()
        watches = [LogWatch(edge.log_path), *(LogWatch(n.log_path) for n in nodes)]
        for watch in watches:
            watch.scan()
        retention = retention_of(base)
        return _report(cameras, duration_s, sample_s, videos, run, edge, nodes, watches, retention)


def _require_empty_store(edge: SoakEdge) -> None:
    """The soak reads the store's rows as the run's own: a database named in the YAML must
    hold none yet (a fresh SQLite store always does)."""
    stats = edge.stats()
    frames = 0 if stats is None else int(stats["store"]["frames"])
    if frames:
        raise StoreError(
            f"database_url: the database holds {frames} frames already; the soak counts the"
            " store's rows as its own and needs an empty one"
        )


def _nodes(workdir: Path, edge: SoakEdge, videos: list[Path]) -> list[SoakNode]:
    """One node per camera, the clips taken in turn (not started yet)."""
    nodes = []
    for i, (camera_id, token) in enumerate(edge.tokens.items()):
        config = node_config(camera_id, token, videos[i % len(videos)], edge.url)
        nodes.append(SoakNode(workdir, camera_id, config))
    return nodes


@contextmanager
def _workdir(work_dir: Path | None) -> Iterator[Path]:
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
        yield work_dir
        return
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        yield Path(tmp)


@contextmanager
def _stop_signals() -> Iterator[threading.Event]:
    """SIGINT and SIGTERM end the run early (processes stopped, a partial report printed)."""
    stopping = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopping
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def stop(signum: int, _frame: object) -> None:
        log.warning("signal %d: stopping the soak", signum)
        stopping.set()

    for sig in previous:
        signal.signal(sig, stop)
    try:
        yield stopping
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _watch(
    edge: SoakEdge,
    nodes: list[SoakNode],
    duration_s: float,
    sample_s: float,
    stopping: threading.Event,
) -> SoakRun:
    run = SoakRun()
    started = time.monotonic()
    next_sample = 0.0
    while True:
        elapsed = time.monotonic() - started
        done = elapsed >= duration_s
        if elapsed >= next_sample or done:
            if not _sample(edge, run, elapsed):
                break
            next_sample += sample_s
        if done:
            break
        for node in nodes:
            node.keep_running()
        if stopping.wait(min(1.0, max(0.0, next_sample - elapsed))):
            run.interrupted = True
            _sample(edge, run, time.monotonic() - started)
            break
    run.elapsed_s = round(time.monotonic() - started, 1)
    return run


def _sample(edge: SoakEdge, run: SoakRun, elapsed: float) -> bool:
    """One sample of the edge (False when it is gone: the run ends)."""
    sample = sample_process(edge.pid, elapsed) if edge.process.poll() is None else None
    if sample is None:
        log.error("the edge box exited (code %s) after %.0f s", edge.process.poll(), elapsed)
        run.edge_gone_at_s = round(elapsed, 1)
        return False
    run.samples.append(sample)
    stats = edge.stats()
    if stats is None:
        run.stats_failures += 1
    else:
        run.counters = edge_counters(stats)
        run.store.append(store_sample(elapsed, edge.data_dir, stats))
    analysed = run.counters["frames_analysed"] if run.counters else None
    log.info(
        "%5.0f s: rss %.1f MB, %d fds (%d sockets), %d threads, %s frames analysed",
        elapsed, sample.rss_mb, sample.fds, sample.sockets, sample.threads, analysed,
    )  # fmt: skip
    return True


def _report(
    cameras: int,
    duration_s: float,
    sample_s: float,
    videos: list[Path],
    run: SoakRun,
    edge: SoakEdge,
    nodes: list[SoakNode],
    watches: list[LogWatch],
    retention: RetentionConfig,
) -> dict[str, Any]:
    warmup_s = warmup_seconds(duration_s)
    figures = growth_figures(run.samples, warmup_s) if run.samples else {}
    storage = store_figures(run.store, warmup_s, retention, sample_s) if run.store else {}
    errors = _errors(run, edge, nodes, watches)
    tolerances = {
        "max_rss_growth_pct": MAX_RSS_GROWTH_PCT,
        "other_fd_tolerance": OTHER_FD_TOLERANCE,
        "socket_tolerance": SOCKETS_PER_NODE * cameras,
        "thread_tolerance": THREAD_TOLERANCE,
    }
    checks = _checks(figures, errors["count"], tolerances, storage)
    counters = run.counters or {}
    return {
        "cameras": cameras,
        "videos": [video.name for video in videos],
        "minutes": round(duration_s / 60, 2),
        "elapsed_s": run.elapsed_s,
        "sample_s": sample_s,
        "warmup_s": round(warmup_s, 1),
        "interrupted": run.interrupted,
        "cpu_cores": os.cpu_count(),
        **figures,
        "errors": errors,
        **counters,
        "shed_share": shed_share(counters) if counters else None,
        "nodes": _node_totals(nodes),
        "targets": tolerances,
        "checks": checks,
        "meets_targets": all(checks.values()),
        "series": [asdict(sample) for sample in run.samples],
        "storage": storage,
        "store_series": [asdict(sample) for sample in run.store],
    }


def _errors(
    run: SoakRun, edge: SoakEdge, nodes: list[SoakNode], watches: list[LogWatch]
) -> dict[str, Any]:
    failures = {n.camera_id: n.failures for n in nodes if n.failures}
    edge_failed = edge.returncode not in (0, None) or run.edge_gone_at_s is not None
    logged = sum(w.count for w in watches)
    count = logged + sum(len(f) for f in failures.values()) + run.stats_failures + edge_failed
    return {
        "count": count,
        "log_lines": logged,
        "node_exit_codes": failures,
        "edge_exit_code": edge.returncode,
        "edge_gone_at_s": run.edge_gone_at_s,
        "stats_failures": run.stats_failures,
        "lines": [line for w in watches for line in w.lines][:20],
    }


def _checks(
    figures: dict[str, Any], errors: int, tolerances: dict[str, float], storage: dict[str, Any]
) -> dict[str, bool]:
    # Retention is checked only when the run outlasted its horizon (`soak_store`).
    holds = storage.get("retention", {}).get("holds")
    retention = {} if holds is None else {"retention_holds": holds}
    if not figures:
        return {"samples": False, "no_errors": errors == 0, **retention}
    return {
        "samples": figures["samples_after_warmup"] >= 2,
        "rss_growth": figures["rss_growth_pct"] <= tolerances["max_rss_growth_pct"],
        "fds_flat": figures["other_fds"]["span"] <= tolerances["other_fd_tolerance"]
        and figures["sockets"]["span"] <= tolerances["socket_tolerance"],
        "threads_flat": figures["threads"]["span"] <= tolerances["thread_tolerance"],
        "no_errors": errors == 0,
        **retention,
    }


def _node_totals(nodes: list[SoakNode]) -> dict[str, Any]:
    totals: dict[str, float] = {}
    for node in nodes:
        for key, value in node.totals().items():
            totals[key] = totals.get(key, 0) + value
    return {
        "runs": sum(n.starts for n in nodes),
        **{key: round(value, 3) for key, value in totals.items()},
    }
