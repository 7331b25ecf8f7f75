"""`appliance bench filter`: the camera node's frame filter against its baselines on a clip.

Schemes (sets of frames sent to the edge), each scored per frame against the full detector on
every frame passed through the edge's tracker (docs/architecture.md, "How results are measured"):
`all_frames`; `system` (the camera node's difference filter with the camera config defaults);
`static_threshold` (one fixed threshold, no keepalive) and `uniform` (every k-th frame), each
searched for the fewest frames that reach the system's f1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path
from typing import Any

from appliance.bench.clip import AnalysedClip, load_or_analyse
from appliance.bench.quiet_clip import quiet_clip
from appliance.bench.regions import replay_with_regions
from appliance.edge.config import DetectorConfig, FilterControlConfig, TrackerConfig
from appliance.edge.detector import detector_summary
from appliance.sample_clips import FootageError, resolve_video
from cameras.config import DifferenceFilterConfig, RegionConfig, TinyDetectorConfig
from cameras.jpeg import JpegSettings
from pipelines.closed_loop import replay_system
from pipelines.frame_difference import DifferenceSettings
from pipelines.metrics import score_clip
from pipelines.replay import (
    ClipAnalysis,
    Reference,
    SchemeResult,
    consecutive_agreement,
    evaluate,
    reason_counts,
    reference,
)
from pipelines.replay_search import SearchResult, search_static_threshold, search_uniform
from pipelines.selection import FrameSelector
from pipelines.tracker import TrackerSettings

SCHEMES = ("system", "all_frames", "static_threshold", "uniform")
TARGET_F1 = 0.90
TARGET_COUNT_ACCURACY = 0.95
TARGET_FRAMES_RATIO = 0.5
TARGET_BYTES_FRACTION = 0.10


def run_filter_command(args: argparse.Namespace) -> int:
    video = quiet_clip(args.cache_dir) if args.video == "quiet" else resolve_video(args.video)
    jpeg = JpegSettings(args.jpeg_quality, args.jpeg_chroma)
    report = run_filter_bench(video, args.frames, jpeg, args.cache_dir, args.no_cache, args.regions)
    print(json.dumps(report) if args.json else format_report(report))
    return 0


def _regions_scheme(
    video: Path,
    frames: int | None,
    jpeg: JpegSettings,
    ref: Reference,
    all_frames: SchemeResult,
) -> dict[str, Any]:
    """The default system (changed regions on) on the real frames, against the same reference."""
    config = RegionConfig()
    replay = replay_with_regions(video, frames, jpeg, config)
    score = score_clip(replay.answers, ref.tracked)
    return {
        "frames_sent": len(replay.sent),
        "sent_fraction": _round(len(replay.sent) / max(len(ref.tracked), 1)),
        "region_frames": replay.region_frames,
        "bytes_sent": replay.bytes_sent,
        "bytes_vs_all_frames": _round(replay.bytes_sent / max(all_frames.bytes_sent, 1)),
        "f1": _round(score.f1),
        "count_accuracy": _round(score.count_accuracy),
        "settings": config.model_dump(),
    }


def run_filter_bench(
    video: Path,
    frames: int | None,
    jpeg: JpegSettings,
    cache_dir: Path,
    refresh: bool,
    regions: bool = False,
) -> dict[str, Any]:
    started = time.perf_counter()
    detector = DetectorConfig()
    difference = DifferenceFilterConfig().settings()
    tracker = TrackerConfig().settings()
    analysed = load_or_analyse(video, frames, jpeg, detector, difference, cache_dir, refresh)
    clip = analysed.clip
    if clip.frames == 0:
        raise FootageError(f"no frames could be decoded from {video}")
    ref = reference(clip, tracker)
    score_ms = _selection_ms_per_frame(clip, difference, TinyDetectorConfig())
    system, system_entry = _default_system(clip, ref, difference, tracker)
    all_frames = evaluate(clip, tuple(range(clip.frames)), ref, tracker)
    static = search_static_threshold(clip, ref, difference, tracker, system.f1)
    uniform = search_uniform(clip, ref, tracker, system.f1)
    timings = analysed.timings
    report: dict[str, Any] = {
        "video": str(video),
        "frames": clip.frames,
        "fps": analysed.fps,
        "jpeg_quality": jpeg.quality,
        "jpeg_chroma": jpeg.chroma,
        "reference": _reference_summary(analysed, ref),
        "system": system_entry,
        "all_frames": _scheme(all_frames),
        "static_threshold": _searched(static, "threshold"),
        "uniform": _searched(uniform, "every"),
        "targets": _targets(system, all_frames, static, uniform),
        "filter_ms_per_frame": _round(timings.signature_ms_per_frame + score_ms),
        "signature_ms_per_frame": _round(timings.signature_ms_per_frame),
        "score_ms_per_frame": _round(score_ms),
        "detect_ms_per_frame": _round(timings.detect_ms_per_frame),
        "jpeg_ms_per_frame": _round(timings.jpeg_ms_per_frame),
        "tracker": dataclasses.asdict(tracker),
        "detector": detector_summary(detector),
        "cached": analysed.cached,
        "analysis_s": _round(timings.analysis_s),
    }
    if regions:
        report["system_regions"] = _regions_scheme(video, frames, jpeg, ref, all_frames)
    report["elapsed_s"] = _round(time.perf_counter() - started)
    return report


def _default_system(
    clip: ClipAnalysis, ref: Reference, difference: DifferenceSettings, tracker: TrackerSettings
) -> tuple[SchemeResult, dict[str, Any]]:
    """The camera and edge with their default configs, replayed on the cached analysis."""
    tiny = TinyDetectorConfig()
    control_config = FilterControlConfig()
    control = control_config.settings(difference.threshold) if control_config.enabled else None
    replayed = replay_system(clip, difference, tracker, control, tiny.settings(), tiny.arrival_area)
    result = evaluate(clip, replayed.sent, ref, tracker)
    return result, {
        **_scheme(result),
        "settings": dataclasses.asdict(difference),
        "control": None if control is None else dataclasses.asdict(control),
        "median_threshold": _round(statistics.median(replayed.thresholds)),
        "reasons": reason_counts(replayed.decisions),
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


def _round(value: float) -> float:
    return round(value, 4)


def _reference_summary(analysed: AnalysedClip, ref: Reference) -> dict[str, float]:
    n = analysed.clip.frames
    return {
        "detections_per_frame": _round(sum(len(f) for f in ref.raw) / n),
        "tracked_boxes_per_frame": _round(sum(len(f) for f in ref.tracked) / n),
        "coasting_boxes_per_frame": _round(ref.coasting / n),
        "raw_consecutive_f1": _round(consecutive_agreement(ref.raw)),
        "tracked_consecutive_f1": _round(consecutive_agreement(ref.tracked)),
    }


def _scheme(result: SchemeResult) -> dict[str, Any]:
    return {
        "frames_sent": result.frames_sent,
        "sent_fraction": _round(result.sent_fraction),
        "bytes_sent": result.bytes_sent,
        "f1": _round(result.f1),
        "f1_raw": _round(result.f1_raw),
        "count_accuracy": _round(result.count_accuracy),
    }


def _searched(search: SearchResult, parameter: str) -> dict[str, Any]:
    value: float | int = search.parameter
    if parameter == "every":
        value = int(search.parameter)
    return {
        **_scheme(search.result),
        parameter: value,
        "target_f1": _round(search.target_f1),
        "reached": search.reached,
        "candidates": search.candidates,
    }


def _targets(
    system: SchemeResult, all_frames: SchemeResult, static: SearchResult, uniform: SearchResult
) -> dict[str, Any]:
    """The issue's targets, computed from the figures above (None: not measurable)."""
    reached = [s.result.frames_sent for s in (static, uniform) if s.reached]
    fewest = min(reached, default=0)
    ratio = system.frames_sent / fewest if fewest else None
    bytes_fraction = system.bytes_sent / all_frames.bytes_sent if all_frames.bytes_sent else None
    return {
        "f1": TARGET_F1,
        "f1_met": system.f1 >= TARGET_F1,
        "count_accuracy": TARGET_COUNT_ACCURACY,
        "count_accuracy_met": system.count_accuracy >= TARGET_COUNT_ACCURACY,
        "frames_vs_best_baseline": None if ratio is None else _round(ratio),
        "frames_met": ratio is not None and ratio <= TARGET_FRAMES_RATIO,
        "bytes_fraction_of_all_frames": None if bytes_fraction is None else _round(bytes_fraction),
        "bytes_met": bytes_fraction is not None and bytes_fraction <= TARGET_BYTES_FRACTION,
    }


def format_report(report: dict[str, Any]) -> str:
    """A readable table of the schemes, then the reference, targets and timings."""
    header = f"{'scheme':<17}{'sent':>7}{'sent%':>8}{'MB':>9}{'f1':>8}{'f1_raw':>8}{'count':>8}"
    lines = [f"video {report['video']}: {report['frames']} frames at {report['fps']:g} fps", header]
    for name in SCHEMES:
        s = report[name]
        note = _scheme_note(name, s)
        lines.append(
            f"{name:<17}{s['frames_sent']:>7}{100 * s['sent_fraction']:>7.1f}%"
            f"{s['bytes_sent'] / 1e6:>9.2f}{s['f1']:>8.3f}{s['f1_raw']:>8.3f}"
            f"{s['count_accuracy']:>8.3f}  {note}"
        )
    ref, targets = report["reference"], report["targets"]
    lines.append(
        f"reference: {ref['detections_per_frame']:.2f} detections and "
        f"{ref['tracked_boxes_per_frame']:.2f} tracked boxes per frame "
        f"({ref['coasting_boxes_per_frame']:.2f} held unmatched); consecutive-frame f1 "
        f"raw {ref['raw_consecutive_f1']:.3f}, tracked {ref['tracked_consecutive_f1']:.3f}"
    )
    lines.append("targets: " + ", ".join(f"{k}={v}" for k, v in targets.items()))
    lines.append(
        f"filter {report['filter_ms_per_frame']:.3f} ms/frame, detector "
        f"{report['detect_ms_per_frame']:.1f} ms/call, analysis {report['analysis_s']:.1f} s "
        f"({'cached' if report['cached'] else 'this run'}), total {report['elapsed_s']:.1f} s"
    )
    return "\n".join(lines)


def _scheme_note(name: str, scheme: dict[str, Any]) -> str:
    if name == "system":
        settings = scheme["settings"]
        return f"threshold={settings['threshold']:g} keepalive={settings['max_interval_s']:g}s"
    if name == "static_threshold":
        return f"threshold={scheme['threshold']:g} reached={scheme['reached']}"
    if name == "uniform":
        return f"every={scheme['every']} reached={scheme['reached']}"
    return ""
