"""`appliance bench encoding`: what the camera's JPEG settings cost the edge's full detector.

For every `every`-th frame of a clip the edge's full detector runs on the original frame (the
reference) and on the frame as each JPEG setting (quality x chroma subsampling) delivers it,
decoded as the edge decodes it. Per setting: precision, recall and F1 of those detections
against the original frame's at IoU 0.5 (pooled over the frames), and bytes per frame. A
camera's `jpeg_quality` and `jpeg_chroma` are best chosen from this: the fewest bytes for the
accuracy wanted, for the detector the edge actually runs.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from appliance.bench.edge import bench_edge_config
from appliance.bench.frame_total import frames_to_read
from appliance.edge.config import EdgeConfig
from appliance.edge.detector import build_edge_detector
from appliance.progress import SILENT, Progress, progress_from
from appliance.sample_clips import FootageError, resolve_video
from cameras.jpeg import JpegChroma, JpegSettings
from cameras.sources import VideoSource
from pipelines.detectors import Detector
from pipelines.metrics import labelled, match_count


@dataclass
class _Tally:
    matched: int = 0
    found: int = 0
    expected: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class EncodingResult:
    quality: int
    chroma: JpegChroma
    precision: float
    recall: float
    f1: float
    kb_per_frame: float
    bytes_vs_default: float
    """Bytes against the camera node's default setting."""


def measure(
    video: Path,
    detector: Detector,
    settings: list[JpegSettings],
    every: int = 1,
    frames: int | None = None,
    progress: Progress = SILENT,
) -> tuple[int, dict[JpegSettings, _Tally]]:
    """Frames measured and, per setting, the detections matched against the original's."""
    tallies = {s: _Tally() for s in settings}
    measured = 0
    read = frames_to_read(video, frames)
    total = None if read is None else -(-read // every)  # frames 0, every, 2 * every, ...
    with (
        VideoSource(str(video)) as source,
        progress.stage("frames at every JPEG setting", total) as stage,
    ):
        index = -1
        while frames is None or index + 1 < frames:
            captured = source.read()
            if captured is None:
                break
            index += 1
            if index % every:
                continue
            measured += 1
            reference = labelled(detector.detect(captured.image))
            for setting, tally in tallies.items():
                encoded, decoded = setting.round_trip(captured.image)
                found = labelled(detector.detect(decoded))
                tally.matched += match_count(found, reference, 0.5)
                tally.found += len(found)
                tally.expected += len(reference)
                tally.bytes += int(encoded.size)
            stage.advance()
    return measured, tallies


def _result(
    setting: JpegSettings, tally: _Tally, frames: int, default_bytes: int
) -> EncodingResult:
    precision = tally.matched / tally.found if tally.found else 1.0
    recall = tally.matched / tally.expected if tally.expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return EncodingResult(
        setting.quality,
        setting.chroma,
        round(precision, 4),
        round(recall, 4),
        round(f1, 4),
        round(tally.bytes / max(frames, 1) / 1000, 2),
        round(tally.bytes / default_bytes, 4) if default_bytes else 0.0,
    )


def run_encoding_bench(
    video: Path,
    config: EdgeConfig,
    qualities: list[int],
    chromas: list[JpegChroma],
    every: int = 1,
    frames: int | None = None,
    progress: Progress = SILENT,
) -> dict[str, Any]:
    started = time.perf_counter()
    default = JpegSettings()  # the camera node's
    settings = sorted({JpegSettings(q, c) for q in qualities for c in chromas} | {default},
                      key=lambda s: (s.chroma, s.quality))  # fmt: skip
    built = build_edge_detector(config.detector, config.data_dir)  # one model load for both
    measured, tallies = measure(video, built.make(), settings, every, frames, progress)
    if measured == 0:
        raise FootageError(f"no frames could be decoded from {video}")
    default_bytes = tallies[default].bytes
    results = [_result(s, tallies[s], measured, default_bytes) for s in settings]
    return {
        "video": str(video),
        "frames_measured": measured,
        "every": every,
        "detector": asdict(built.status),
        "camera_default": asdict(default),
        "detections_on_originals": tallies[default].expected,
        "settings": [asdict(r) for r in results],
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"{report['video']}: {report['frames_measured']} frames (every {report['every']}), "
        f"detector {report['detector']}, against its {report['detections_on_originals']} "
        "detections on the original frames",
        "  quality chroma precision recall     f1  kB/frame  bytes vs camera default",
    ]
    for row in report["settings"]:
        lines.append(
            f"  {row['quality']:7d} {row['chroma']:>6s} {row['precision']:9.3f} "
            f"{row['recall']:6.3f} {row['f1']:6.3f} {row['kb_per_frame']:9.1f} "
            f"{row['bytes_vs_default']:18.2f}"
        )
    return "\n".join(lines)


def run_encoding_command(args: argparse.Namespace) -> int:
    report = run_encoding_bench(
        resolve_video(args.video),
        bench_edge_config(args.config),
        args.qualities,
        args.chromas,
        args.every,
        args.frames,
        progress_from(args),
    )
    print(json.dumps(report) if args.json else format_report(report))
    return 0
