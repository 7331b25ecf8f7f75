"""`appliance bench edge`: the edge's early-exit cascade against detecting every frame.

Every frame of the clip reaches the edge (as a camera node with no filter would send it: JPEG
at the camera's quality, decoded as the edge decodes it). The baseline runs the full detector
on every frame; the system runs the cascade the edge box is configured with (result cache,
regions, full). Both feed the edge's tracker; the system's answer for each frame is scored
against the baseline's (F1 at IoU 0.5 and count accuracy on confirmed tracks; `f1_raw`
compares raw detections). The two are timed frame by frame, alternately, so both see the same
machine. `detector_calls` counts whole-frame detector runs; `exits` how each frame was
answered; `scanned_fraction` the share of frame pixels the detector looked at.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from appliance.bench.frame_total import frames_to_read
from appliance.edge.config import EdgeConfig
from appliance.edge.detector import build_detector
from appliance.progress import SILENT, Progress, progress_from
from appliance.sample_clips import resolve_video
from cameras.jpeg import DEFAULT_JPEG_CHROMA, JpegSettings
from cameras.sources import VideoSource
from pipelines.metrics import labelled, score_clip
from pipelines.replay import tracked_answers
from pipelines.tracker import TrackerSettings
from pipelines.types import Detection

TARGET_CALLS_RATIO = 1 / 3
TARGET_MS_RATIO = 1 / 2
TARGET_F1 = 0.95


@dataclass
class _Run:
    """One scheme's answers and costs over the clip."""

    answers: list[list[Detection]] = field(default_factory=list)
    seconds: float = 0.0
    exits: Counter[str] = field(default_factory=Counter)
    scanned: float = 0.0


def replay(
    video: Path,
    frames: int | None,
    jpeg_quality: int,
    config: EdgeConfig,
    progress: Progress = SILENT,
) -> dict[str, Any]:
    # One detector for both, as the edge shares one model session: two onnxruntime sessions
    # taking turns slow each other (the idle one's threads spin) and skew the ratio.
    baseline_detector = build_detector(config.detector, config.data_dir)
    cascade = config.cascade(baseline_detector)
    baseline, system = _Run(), _Run()
    times: list[float] = []
    total = frames_to_read(video, frames)
    with (
        VideoSource(str(video)) as source,
        progress.stage("full detector and cascade", total) as stage,
    ):
        fps = source.fps
        while frames is None or len(times) < frames:
            captured = source.read()
            if captured is None:
                break
            _, image = JpegSettings(jpeg_quality, DEFAULT_JPEG_CHROMA).round_trip(captured.image)
            t = len(times) / fps
            times.append(t)
            started = time.perf_counter()
            baseline.answers.append(baseline_detector.detect(image))
            baseline.seconds += time.perf_counter() - started
            baseline.exits["full"] += 1
            baseline.scanned += 1.0
            started = time.perf_counter()
            answer = cascade.run(image, t)
            cascade.commit(answer)
            system.seconds += time.perf_counter() - started
            system.answers.append(answer.detections)
            system.exits[answer.exit.value] += 1
            system.scanned += answer.scanned
            stage.advance()
    return _report(video, fps, times, baseline, system, config)


def _summary(
    run: _Run, reference: _Run, times: list[float], settings: TrackerSettings
) -> dict[str, Any]:
    n = len(times)
    every = tuple(range(n))
    tracked = score_clip(
        tracked_answers(run.answers, times, every, settings),
        tracked_answers(reference.answers, times, every, settings),
    )
    raw = score_clip([labelled(a) for a in run.answers], [labelled(a) for a in reference.answers])
    return {
        "frames": n,
        "detector_calls": run.exits["full"],
        "cache_hits": run.exits["cache"],
        "exits": {name: run.exits[name] for name in ("cache", "regions", "full")},
        "scanned_fraction": round(run.scanned / n, 4) if n else None,
        "f1": round(tracked.f1, 4),
        "count_accuracy": round(tracked.count_accuracy, 4),
        "f1_raw": round(raw.f1, 4),
        "ms_per_frame": round(1000 * run.seconds / n, 2) if n else None,
    }


def _report(
    video: Path, fps: float, times: list[float], baseline: _Run, system: _Run, config: EdgeConfig
) -> dict[str, Any]:
    settings = config.tracker.settings()
    base = _summary(baseline, baseline, times, settings)
    ours = _summary(system, baseline, times, settings)
    calls_ratio = (
        ours["detector_calls"] / base["detector_calls"] if base["detector_calls"] else None
    )
    ms_ratio = ours["ms_per_frame"] / base["ms_per_frame"] if base["ms_per_frame"] else None
    return {
        "video": video.name,
        "fps": fps,
        **ours,
        "baseline": base,
        "detector": config.detector.kind,
        "early_exit": config.early_exit.model_dump(),
        "machine": f"{platform.machine()}, {cv2.getNumThreads()} OpenCV threads",
        "targets": {
            "detector_calls_ratio": round(calls_ratio, 4) if calls_ratio is not None else None,
            "ms_ratio": round(ms_ratio, 4) if ms_ratio is not None else None,
            "met": calls_ratio is not None
            and ms_ratio is not None
            and calls_ratio <= TARGET_CALLS_RATIO
            and ms_ratio <= TARGET_MS_RATIO
            and ours["f1"] >= TARGET_F1,
        },
    }


def format_report(report: dict[str, Any]) -> str:
    lines = [f"{report['video']}: {report['frames']} frames, every frame sent to the edge"]
    for name, row in (("cascade", report), ("baseline", report["baseline"])):
        lines.append(
            f"  {name:9s} full={row['detector_calls']:4d} exits={row['exits']} "
            f"scanned={row['scanned_fraction']:.2f} ms/frame={row['ms_per_frame']:.1f} "
            f"f1={row['f1']:.3f} count={row['count_accuracy']:.3f}"
        )
    t = report["targets"]
    lines.append(
        f"  targets: detector calls {t['detector_calls_ratio']} (<= 0.333), "
        f"ms {t['ms_ratio']} (<= 0.5), f1 >= 0.95: {'met' if t['met'] else 'NOT met'}"
    )
    return "\n".join(lines)


def bench_edge_config(path: Path | None) -> EdgeConfig:
    """The edge config a benchmark runs: the user's YAML, or the built-in defaults."""
    from appliance.config_loader import load_config

    if path is not None:
        return load_config(path, EdgeConfig)
    return EdgeConfig.model_validate({"cameras": [{"id": "bench", "token": "bench-token"}]})


def run_edge_command(args: argparse.Namespace) -> int:
    config = bench_edge_config(args.config)
    video = resolve_video(args.video)
    report = replay(video, args.frames, args.jpeg_quality, config, progress_from(args))
    print(json.dumps(report) if args.json else format_report(report))
    return 0
