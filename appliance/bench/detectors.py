"""`appliance bench detectors`: the default detector against OpenCV's HOG on the same frames.

Both run as the edge builds them (`build_edge_detector`), alternately on every frame of the clip,
so machine load touches both alike. Reported per detector: time per frame, detections per frame
by label, people per frame, and steadiness (f1 of each frame's raw detections against the
previous frame's, IoU 0.5, the scorer every benchmark uses). With `--picture N` it also draws
frame N with each detector's boxes side by side, the picture docs/benchmarks.md shows.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from appliance.bench.frame_total import frames_to_read
from appliance.edge.config import DetectorConfig
from appliance.edge.detector import build_edge_detector
from appliance.progress import SILENT, Progress, progress_from
from cameras.sources import VideoSource
from pipelines.detectors import Detector
from pipelines.frame_difference import Image
from pipelines.metrics import LabelledBox, labelled, score_frame
from pipelines.types import Detection

HOG_CONFIG = DetectorConfig(kind="hog")


@dataclass
class _Tally:
    name: str
    detector: Detector
    summary: dict[str, Any]
    seconds: float = 0.0
    labels: Counter[str] = field(default_factory=Counter)
    steadiness: list[float] = field(default_factory=list)
    current: list[LabelledBox] | None = None
    """The boxes of the frame run last (None before the first)."""
    shown: list[Detection] = field(default_factory=list)
    agreement: list[float] = field(default_factory=list)
    """Per frame: f1 of this detector's boxes against the default detector's (IoU 0.5)."""

    def run(self, image: Image, keep: bool) -> None:
        started = time.perf_counter()
        found = self.detector.detect(image)
        self.seconds += time.perf_counter() - started
        self.labels.update(d.label for d in found)
        boxes = labelled(found)
        if self.current is not None:
            self.steadiness.append(score_frame(boxes, self.current).f1)
        self.current = boxes
        if keep:
            self.shown = found

    def report(self, frames: int) -> dict[str, Any]:
        return {
            "detector": self.summary,
            "ms_per_frame": round(1000 * self.seconds / frames, 2),
            "detections_per_frame": {k: round(v / frames, 3) for k, v in self.labels.items()},
            "people_per_frame": round(self.labels["person"] / frames, 3),
            "consecutive_f1": round(float(np.mean(self.steadiness)), 4)
            if self.steadiness
            else None,
            "f1_against_default": round(float(np.mean(self.agreement)), 4)
            if self.agreement
            else None,
        }


def run_detector_bench(
    video: Path,
    frames: int | None,
    config: DetectorConfig,
    data_dir: Path,
    picture: int | None = None,
    picture_path: Path | None = None,
    other: DetectorConfig = HOG_CONFIG,
    progress: Progress = SILENT,
) -> dict[str, Any]:
    """`config`'s detector (reported as `default`) against `other` (HOG unless given)."""
    tallies = [_tally("default", config, data_dir), _tally("other", other, data_dir)]
    count, shown = 0, None
    total = frames_to_read(video, frames)
    with (
        VideoSource(str(video)) as source,
        progress.stage("frames through both detectors", total) as stage,
    ):
        while frames is None or count < frames:
            frame = source.read()
            if frame is None:
                break
            keep = count == picture
            order = tallies if count % 2 == 0 else tallies[::-1]  # neither always runs first
            for tally in order:
                tally.run(frame.image, keep)
            tallies[1].agreement.append(
                score_frame(tallies[1].current or [], tallies[0].current or []).f1
            )
            if keep:
                shown = frame.image
            count += 1
            stage.advance()
    report: dict[str, Any] = {"video": str(video), "frames": count}
    report.update({t.name: t.report(max(count, 1)) for t in tallies})
    default, other_ms = report["default"]["ms_per_frame"], report["other"]["ms_per_frame"]
    report["time_ratio"] = round(default / other_ms, 3) if other_ms else None
    if shown is not None and picture_path is not None:
        write_picture(shown, tallies, picture_path)
        report["picture"] = {"frame": picture, "path": str(picture_path)}
    return report


def _tally(name: str, config: DetectorConfig, data_dir: Path) -> _Tally:
    built = build_edge_detector(config, data_dir)
    return _Tally(name, built.make(), asdict(built.status))


def write_picture(image: Image, tallies: list[_Tally], path: Path) -> None:
    """The frame once per detector, side by side, each with its boxes and a title."""
    panels = []
    for tally in tallies:
        panel = image.copy()
        for d in tally.shown:
            b = d.box
            colour = (0, 220, 0) if d.label == "person" else (0, 180, 255)
            corners = (int(b.x1), int(b.y1)), (int(b.x2), int(b.y2))
            cv2.rectangle(panel, corners[0], corners[1], colour, 2)
            cv2.putText(panel, f"{d.label} {d.confidence:.2f}", (int(b.x1), max(int(b.y1) - 4, 10)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)  # fmt: skip
        title = f"{tally.name}: {tally.summary.get('model') or tally.summary['kind']}"
        cv2.putText(panel, title, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
        panels.append(panel)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.hstack(panels))


def detector_text(report: dict[str, Any]) -> str:
    rows = [f"{report['video']}: {report['frames']} frames"]
    for name in ("default", "other"):
        r = report[name]
        rows.append(
            f"  {name:8s} {r['ms_per_frame']:7.1f} ms/frame"
            f"  people/frame {r['people_per_frame']:.2f}"
            f"  consecutive f1 {r['consecutive_f1']}  {r['detections_per_frame']}"
        )
    rows.append(f"  other vs default: f1 {report['other']['f1_against_default']}")
    rows.append(f"  time ratio default/other {report['time_ratio']}")
    if "picture" in report:
        rows.append(f"  picture of frame {report['picture']['frame']}: {report['picture']['path']}")
    return "\n".join(rows)


def run_detectors_command(args: Any) -> int:
    import json

    from appliance.bench.edge import bench_edge_config
    from appliance.sample_clips import resolve_video

    config = bench_edge_config(args.config)
    other = bench_edge_config(args.other).detector if args.other else HOG_CONFIG
    report = run_detector_bench(
        resolve_video(args.video), args.frames, config.detector, config.data_dir,
        args.picture, args.picture_out, other, progress_from(args),
    )  # fmt: skip
    print(json.dumps(report) if args.json else detector_text(report))
    return 0
