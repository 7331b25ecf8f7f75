"""`appliance bench tiny`: the camera's tiny detectors on the frames its difference filter passes.

Every frame of the clip goes through the camera's difference filter and its motion-blob
background model, as on a camera node (camera config defaults, no keepalive frames). On each
frame the filter passes (changed above the threshold, or objects that came or went), each tiny
detector answers: the motion blobs, and the YOLO model at each input size asked for, as
`tiny_detector.kind: yolo-onnx` runs it. The reference is the edge's detector on the same
original frame; both keep the same labels of interest (`--labels`; default the camera's).

Reported per tiny detector: its cost; of the passed frames that show objects, how many it keeps
(it finds anything); of those that show none, how many it drops; how many of the reference's
boxes it finds (IoU >= 0.3, labels set aside since motion blobs have none; the scorer every
benchmark uses); and how many lie in one of its boxes (centre inside: a blob around a group
covers each of its people). The motion row's cost is the whole filter's (signature,
difference, background model and blobs, on every frame); a YOLO row's is its model's on the
passed frames, on top of that.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from appliance.bench.frame_total import frames_to_read
from appliance.edge.config import DetectorConfig
from appliance.edge.detector import build_edge_detector
from appliance.progress import SILENT, Progress, progress_from
from cameras.config import DifferenceFilterConfig, TinyDetectorConfig
from cameras.detector_config import YoloOnnxConfig
from cameras.sources import VideoSource
from pipelines.detectors import Detector
from pipelines.detectors.onnx_yolo import YoloOnnxDetector
from pipelines.frame_difference import Image
from pipelines.metrics import LabelledBox, match_count
from pipelines.selection import LOOKED_AT, FrameSelector
from pipelines.types import Box, Detection

FIND_IOU = 0.3
"""A motion blob is a loose box around what moved, often a group: IoU 0.3 counts it as found."""


@dataclass
class _Tally:
    name: str
    seconds: float = 0.0
    with_objects: int = 0
    kept: int = 0
    empty: int = 0
    dropped: int = 0
    reference_boxes: int = 0
    found: int = 0
    covered: int = 0

    def score(self, found: Sequence[Detection], reference: Sequence[Detection]) -> None:
        if reference:
            self.with_objects += 1
            self.kept += bool(found)
        else:
            self.empty += 1
            self.dropped += not found
        self.reference_boxes += len(reference)
        self.found += match_count(_unlabelled(found), _unlabelled(reference), FIND_IOU)
        self.covered += sum(any(_inside(r.box, f.box) for f in found) for r in reference)

    def report(self, frames: int, passed: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "ms_per_passed_frame": _ratio(1000 * self.seconds, passed, 2),
            "ms_per_clip_frame": _ratio(1000 * self.seconds, frames, 2),
            "frames_with_objects_kept": _ratio(self.kept, self.with_objects, 4),
            "empty_frames_dropped": _ratio(self.dropped, self.empty, 4),
            "reference_boxes_found": _ratio(self.found, self.reference_boxes, 4),
            "reference_boxes_covered": _ratio(self.covered, self.reference_boxes, 4),
        }


def _inside(box: Box, around: Box) -> bool:
    """The centre of `box` lies in `around`: a blob around a group covers each of them."""
    x, y = (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2
    return around.x1 <= x <= around.x2 and around.y1 <= y <= around.y2


def _ratio(part: float, whole: int, digits: int) -> float | None:
    return round(part / whole, digits) if whole else None


def _unlabelled(detections: Sequence[Detection]) -> list[LabelledBox]:
    return [LabelledBox("object", d.box) for d in detections]


@dataclass(frozen=True)
class TinyYolo:
    """The tiny detector a camera with `kind: yolo-onnx` at `input_size: size` would run."""

    model: Path
    size: int
    labels: tuple[str, ...]
    threads: int | None = None

    def build(self) -> Callable[[Image], list[Detection]]:
        config = YoloOnnxConfig(
            model_path=str(self.model), input_size=self.size, threads=self.threads
        )
        return YoloOnnxDetector(replace(config.settings(), interest=self.labels)).detect


@dataclass
class _Passed:
    """What the first pass learned: which frames the filter passed and the reference there."""

    frames: int = 0
    reference: dict[int, list[Detection]] = field(default_factory=dict)


def run_tiny_bench(
    video: Path,
    frames: int | None,
    reference: DetectorConfig,
    data_dir: Path,
    models: list[TinyYolo],
    progress: Progress = SILENT,
) -> dict[str, Any]:
    """The motion blobs (camera defaults) and each of `models`, one pass each: a YOLO model is
    timed with no other onnxruntime session alive (idle sessions' threads slow a running one)."""
    edge = build_edge_detector(reference, data_dir)
    status = asdict(edge.status)
    with progress.stage("filter, motion and reference", frames_to_read(video, frames)) as stage:
        motion, passed = _first_pass(video, frames, edge.make(), stage.tick)
    del edge  # the reference's session too
    tallies = [motion]
    for model in models:
        tally = _Tally(f"yolo-{model.size}")
        detect = model.build()
        with progress.stage(tally.name, passed.frames) as stage:
            for index, image, _ in _frames(video, passed.frames):
                truth = passed.reference.get(index)
                if truth is not None:
                    started = time.perf_counter()
                    found = detect(image)
                    tally.seconds += time.perf_counter() - started
                    tally.score(found, truth)
                stage.advance()
        del detect  # its session goes before the next one starts
        tallies.append(tally)
    count = len(passed.reference)
    return {
        "video": str(video),
        "frames": passed.frames,
        "frames_passed": count,
        "reference": status,
        "detectors": [t.report(passed.frames, count) for t in tallies],
    }


def _first_pass(
    video: Path, frames: int | None, full: Detector, frame_done: Callable[[], None]
) -> tuple[_Tally, _Passed]:
    """The node's filter and motion blobs on every frame, the reference on the passed ones."""
    tiny = TinyDetectorConfig()
    difference = replace(DifferenceFilterConfig().settings(), max_interval_s=0.0)
    selector = FrameSelector(difference, tiny.settings(), tiny.arrival_area)
    selector.set_tracking(True)  # every change counts as passed: the detectors decide here
    motion, passed = _Tally("motion"), _Passed()
    for index, image, timestamp in _frames(video, frames):
        started = time.perf_counter()
        height, width = image.shape[:2]
        signature = selector.filter.signature(image)
        selection = selector.decide_signature(signature, width, height, timestamp)
        motion.seconds += time.perf_counter() - started
        passed.frames += 1
        if selection.decision.send:
            selector.commit_last()  # the node's reference is the last frame it sent
        if selection.decision.reason in LOOKED_AT:
            truth = full.detect(image)
            passed.reference[index] = truth
            motion.score(selection.found(), truth)
        frame_done()
    return motion, passed


def _frames(video: Path, limit: int | None) -> Iterator[tuple[int, Image, float]]:
    """(index, image, capture time) of the clip's first `limit` frames (None: all)."""
    with VideoSource(str(video)) as source:
        index = 0
        while (limit is None or index < limit) and (frame := source.read()) is not None:
            yield index, frame.image, frame.timestamp
            index += 1


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"{report['video']}: {report['frames_passed']} of {report['frames']} frames passed"
        " the difference filter",
        "detector | ms/passed frame | ms/clip frame | frames with objects kept"
        " | empty frames dropped | reference boxes found | covered",
    ]
    for row in report["detectors"]:
        lines.append(
            f"{row['name']} | {row['ms_per_passed_frame']} | {row['ms_per_clip_frame']}"
            f" | {row['frames_with_objects_kept']} | {row['empty_frames_dropped']}"
            f" | {row['reference_boxes_found']} | {row['reference_boxes_covered']}"
        )
    return "\n".join(lines)


def run_tiny_command(args: Any) -> int:
    import json

    from appliance.bench.built_clips import bench_video
    from appliance.bench.edge import bench_edge_config

    config = bench_edge_config(args.config)
    labels = args.labels or TinyDetectorConfig().labels
    reference = config.detector.model_copy(update={"labels": labels})
    models = [TinyYolo(args.model, size, tuple(labels), args.threads) for size in args.sizes]
    video = bench_video(args.video, args.cache_dir)
    report = run_tiny_bench(
        video, args.frames, reference, config.data_dir, models, progress_from(args)
    )
    print(json.dumps(report) if args.json else format_report(report))
    return 0
