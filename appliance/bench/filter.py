"""`appliance bench filter`: the camera node's frame filter against its baselines, replayed.

A fast replay on the clip's cached analysis (docs/architecture.md, "How results are measured"):
the node's selector and the edge's query control step frame by frame
(`pipelines.closed_loop`), each frame sent answered by the full detector on its JPEG. Scored,
with the baselines (every frame, every k-th, one fixed threshold, tuned in hindsight to the
system's accuracy on the query), by the one scorer `appliance bench system` uses. The whole
system as it ships (regions, the edge's cascade, HTTP, the store) is `bench system`; this
replay isolates the filter and costs seconds once the clip is analysed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path
from typing import Any

from appliance.bench.built_clips import bench_video
from appliance.bench.clip import AnalysedClip, load_or_analyse
from appliance.bench.system_report import baseline_rows, format_system_report, scored
from appliance.edge.config import DetectorConfig, TrackerConfig
from appliance.edge.detector import detector_summary
from appliance.edge.filter_control import FilterControlConfig
from appliance.progress import SILENT, Progress, progress_from
from appliance.sample_clips import FootageError
from cameras.config import DifferenceFilterConfig, TinyDetectorConfig
from cameras.jpeg import JpegSettings
from pipelines.closed_loop import replay_system
from pipelines.feedback import Query
from pipelines.frame_difference import DifferenceSettings
from pipelines.query_baselines import BaselineSearch
from pipelines.replay import ClipAnalysis, reason_counts
from pipelines.selection import FrameSelector
from pipelines.system_score import query_reference, score_replayed


def run_filter_command(args: argparse.Namespace) -> int:
    video = bench_video(args.video, args.cache_dir)
    jpeg = JpegSettings(args.jpeg_quality, args.jpeg_chroma)
    query = Query(args.query)
    progress = progress_from(args)
    report = run_filter_bench(
        video, args.frames, jpeg, args.cache_dir, args.no_cache, query, progress
    )
    print(json.dumps(report) if args.json else format_filter_report(report))
    return 0


def run_filter_bench(
    video: Path,
    frames: int | None,
    jpeg: JpegSettings,
    cache_dir: Path,
    refresh: bool,
    query: Query = Query.EVENTS,
    progress: Progress = SILENT,
) -> dict[str, Any]:
    started = time.perf_counter()
    detector = DetectorConfig()
    difference = DifferenceFilterConfig().settings()
    tracker = TrackerConfig().settings()
    analysed = load_or_analyse(
        video, frames, jpeg, detector, difference, cache_dir, refresh, progress
    )
    clip = analysed.clip
    if clip.frames == 0:
        raise FootageError(f"no frames could be decoded from {video}")
    reference = query_reference(clip.timestamps, clip.raw_detections, tracker)
    tiny = TinyDetectorConfig()
    control = FilterControlConfig(query=query).settings(difference.threshold)
    with progress.timed("replaying the filter, tuning the baselines"):
        replayed = replay_system(
            clip, difference, tracker, control, tiny.settings(), tiny.arrival_area
        )
        system = score_replayed(clip.jpeg_detections, replayed.sent, reference, tracker)
        search = BaselineSearch(clip, reference, tracker, query)
        target = system.accuracy(query)
        baselines = search.tuned(difference, target)
    score_ms = _selection_ms_per_frame(clip, difference, tiny)  # timed: no bar redrawn meanwhile
    return {
        "video": str(video),
        "frames": clip.frames,
        "fps": analysed.fps,
        "query": query.value,
        "control": dataclasses.asdict(control),
        **scored(len(replayed.sent), clip.sent_bytes(replayed.sent), clip.frames, system),
        "median_threshold": round(statistics.median(replayed.thresholds), 4),
        "reasons": reason_counts(replayed.decisions),
        "baselines": baseline_rows(baselines, clip),
        "tuned_to": round(target, 4),
        "jpeg_quality": jpeg.quality,
        "jpeg_chroma": jpeg.chroma,
        **_timings(analysed, score_ms),
        "detector": detector_summary(detector),
        "elapsed_s": round(time.perf_counter() - started, 2),
    }


def _timings(analysed: AnalysedClip, score_ms: float) -> dict[str, Any]:
    timings = analysed.timings
    return {
        "filter_ms_per_frame": round(timings.signature_ms_per_frame + score_ms, 3),
        "signature_ms_per_frame": round(timings.signature_ms_per_frame, 3),
        "score_ms_per_frame": round(score_ms, 3),
        "detect_ms_per_frame": round(timings.detect_ms_per_frame, 2),
        "jpeg_ms_per_frame": round(timings.jpeg_ms_per_frame, 2),
        "cached": analysed.cached,
        "analysis_s": round(timings.analysis_s, 2),
    }


def _selection_ms_per_frame(
    clip: ClipAnalysis, difference: DifferenceSettings, tiny: TinyDetectorConfig
) -> float:
    """What the camera spends per frame after the signature: scoring and the tiny detector."""
    selector = FrameSelector(difference, tiny.settings(), tiny.arrival_area)
    started = time.perf_counter()
    for signature, timestamp in zip(clip.signatures, clip.timestamps, strict=True):
        height, width = signature.shape[:2]
        if selector.decide_signature(signature, width, height, timestamp).decision.send:
            selector.commit_last()
    return 1000 * (time.perf_counter() - started) / clip.frames


def format_filter_report(report: dict[str, Any]) -> str:
    return "\n".join(
        [
            format_system_report(report),
            "reasons: " + ", ".join(f"{k}={v}" for k, v in report["reasons"].items() if v),
            f"filter {report['filter_ms_per_frame']:.3f} ms/frame, detector"
            f" {report['detect_ms_per_frame']:.1f} ms/call, analysis {report['analysis_s']:.1f} s"
            f" ({'cached' if report['cached'] else 'this run'}), total {report['elapsed_s']:.1f} s",
        ]
    )
