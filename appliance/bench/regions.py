"""The system with changed-region uploads, replayed on the real frames (not the cache).

Regions change what the edge's detector sees (a composite of fresh regions on its last
picture), so the cached per-frame detections cannot stand in: this pass decodes the clip
again and runs, frame by frame, what the camera node and the edge do, without HTTP: the node's
selector and region planner, the JPEG round trip, the edge's early-exit cascade on the
composite, its tracker and the reply step they share (`reply_after`, `FrameSelector.follow`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from appliance.bench.edge import bench_edge_config
from appliance.edge.detector import build_detector
from cameras.config import DifferenceFilterConfig, RegionConfig, TinyDetectorConfig
from cameras.jpeg import JpegSettings
from cameras.sources import VideoSource
from pipelines.feedback import Gap, HeldAnswer, reply_after
from pipelines.frame_difference import Image
from pipelines.metrics import LabelledBox
from pipelines.region_uploads import RegionPlanner, composite, mask_outside
from pipelines.selection import FrameSelector
from pipelines.tracker import IouTracker
from pipelines.types import Box

Answers = list[list[LabelledBox]]


@dataclass(frozen=True)
class RegionReplay:
    sent: tuple[int, ...]
    bytes_sent: int
    region_frames: int
    """Frames sent as regions rather than whole."""
    answers: Answers


def replay_with_regions(
    video: Path,
    frames: int | None,
    jpeg: JpegSettings,
    config: RegionConfig,
) -> RegionReplay:
    system = _System(config, jpeg)
    answers: Answers = []
    with VideoSource(str(video)) as source:
        while frames is None or len(answers) < frames:
            frame = source.read()
            if frame is None:
                break
            # Clip time, as the cached analysis uses.
            answers.append(system.step(frame.index, frame.image, frame.index / source.fps))
    return RegionReplay(tuple(system.sent), system.bytes_sent, system.region_frames, answers)


class _System:
    """The camera node's choices and the edge's analysis, in one process, frame by frame."""

    def __init__(self, config: RegionConfig, jpeg: JpegSettings) -> None:
        tiny = TinyDetectorConfig()
        difference = DifferenceFilterConfig().settings()
        self.selector = FrameSelector(difference, tiny.settings(), tiny.arrival_area)
        self.planner = RegionPlanner(config.settings())
        edge = bench_edge_config(None)
        # The edge's cascade on the composite, as the edge analyses a regions upload.
        self.cascade = edge.cascade(build_detector(edge.detector, edge.data_dir))
        self.tracker = IouTracker(edge.tracker.settings())
        self.held = HeldAnswer()
        self.controller = edge.filter_control.controller(difference.threshold)
        self.last_sent, self.last_t = 0, 0.0
        self.jpeg = jpeg
        self.canvas: Image | None = None
        self.sent: list[int] = []
        self.bytes_sent = 0
        self.region_frames = 0

    def step(self, index: int, image: Image, t: float) -> list[LabelledBox]:
        """One frame; returns what the edge knows at its time."""
        selection = self.selector.decide(image, t)
        if selection.decision.send:
            features = selection.features
            blobs = [b.box for b in features.blobs] if features else []
            self._send(image, blobs, features.foreground if features else 1.0, t, index)
            self.selector.commit_last()
            self.sent.append(index)
        return [LabelledBox(o.label, o.box) for o in self.tracker.predict(t)]

    def _send(
        self, image: Image, blobs: list[Box], foreground: float, t: float, index: int
    ) -> None:
        height, width = image.shape[:2]
        regions = self.planner.plan(blobs, foreground, width, height, t)
        masked = mask_outside(image, regions) if regions else image
        encoded, decoded = self.jpeg.round_trip(masked)
        if regions and self.canvas is not None:
            decoded = composite(self.canvas, decoded, regions)
        self.canvas = decoded
        self.planner.sent(regions, blobs, t)
        answer = self.cascade.run(decoded, t)
        self.cascade.commit(answer)
        _, held = self.held.update(self.tracker, answer.detections, t)
        gap = Gap(index - self.last_sent, t - self.last_t)
        self.selector.follow(reply_after(self.tracker, self.controller, held, gap))
        self.last_sent, self.last_t = index, t
        self.bytes_sent += int(encoded.size)
        self.region_frames += bool(regions)
