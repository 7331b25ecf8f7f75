"""One decoding pass over a clip for the replay benchmarks, cached on disk.

Per frame: the full detector on the original frame (the reference), the JPEG the camera node
would send (its size, and the full detector on it decoded as the edge decodes it) and the
difference filter's signature. Frames are not kept; the result is small and is cached under a
key made of the file (path, size, mtime), the frame limit, the JPEG settings and the
detector's and filter's settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from appliance.bench.frame_total import frames_to_read
from appliance.edge.config import DetectorConfig
from appliance.edge.detector import build_edge_detector
from appliance.progress import SILENT, Progress
from cameras.jpeg import JpegSettings
from cameras.sources import VideoSource
from pipelines.frame_difference import DifferenceSettings, FrameDifferenceFilter, Image
from pipelines.replay import ClipAnalysis
from pipelines.types import Box, Detection
from pipelines.weak_detections import SplitDetections, split_weak

log = logging.getLogger(__name__)

CACHE_VERSION = 2
WEAK = ("raw_weak", "jpeg_weak")


@dataclass(frozen=True)
class AnalysisTimings:
    """Per-frame costs measured while the clip was analysed (possibly by an earlier run)."""

    analysis_s: float
    detect_ms_per_frame: float
    """One full-detector call (the pass makes two per frame: original and JPEG)."""
    jpeg_ms_per_frame: float
    signature_ms_per_frame: float


@dataclass(frozen=True)
class AnalysedClip:
    clip: ClipAnalysis
    fps: float
    timings: AnalysisTimings
    cached: bool


def cache_key(
    video: Path,
    frames: int | None,
    jpeg: JpegSettings,
    detector: DetectorConfig,
    difference: DifferenceSettings,
    weak_floor: float | None = None,
) -> str:
    stat = video.stat()
    fields = {
        "version": CACHE_VERSION,
        "video": str(video.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "frames": frames,
        "jpeg_quality": jpeg.quality,
        "jpeg_chroma": jpeg.chroma,
        "detector": detector_key(detector),
        "signature": [difference.width, difference.height, difference.blur_kernel],
        **({} if weak_floor is None else {"weak_floor": weak_floor}),
    }
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    return f"{video.stem}-{digest[:16]}"


def detector_key(config: DetectorConfig) -> dict[str, Any]:
    """The detector's settings and, for a model, its file's size and time (a rebuilt model
    invalidates the cached analyses)."""
    key: dict[str, Any] = config.model_dump(mode="json")
    path = Path(config.yolo_onnx.model_path or "")
    if config.kind == "yolo-onnx" and path.is_file():
        stat = path.stat()
        key["model_file"] = [stat.st_size, stat.st_mtime_ns]
    return key


def analyse_video(
    video: Path,
    frames: int | None,
    jpeg: JpegSettings,
    detector_config: DetectorConfig,
    difference: DifferenceSettings,
    progress: Progress = SILENT,
    weak_floor: float | None = None,
) -> AnalysedClip:
    """Decode `video` once (at most `frames` frames) and analyse every frame; with
    `weak_floor`, the detector runs down to it and keeps its weak detections apart."""
    built = build_edge_detector(detector_config, Path("data"), weak_floor)
    detector, reported_from = built.make(), built.reported_from
    frame_filter = FrameDifferenceFilter(difference)
    sums = {"detect": 0.0, "jpeg": 0.0, "signature": 0.0}
    raw: list[SplitDetections] = []
    on_jpeg: list[SplitDetections] = []
    sizes: list[int] = []
    signatures: list[Image] = []
    started = time.perf_counter()
    total = frames_to_read(video, frames)
    with VideoSource(str(video)) as source, progress.stage("analysing the clip", total) as stage:
        fps = source.fps
        while frames is None or len(sizes) < frames:
            frame = source.read()
            if frame is None:
                break
            image = frame.image
            t0 = time.perf_counter()
            signatures.append(frame_filter.signature(image))
            t1 = time.perf_counter()
            encoded, decoded = jpeg.round_trip(image)  # as the camera sends it, the edge sees it
            t2 = time.perf_counter()
            raw.append(split_weak(detector.detect(image), reported_from))
            on_jpeg.append(split_weak(detector.detect(decoded), reported_from))
            t3 = time.perf_counter()
            sizes.append(int(encoded.size))
            sums["signature"] += t1 - t0
            sums["jpeg"] += t2 - t1
            sums["detect"] += (t3 - t2) / 2
            stage.advance()
    n = max(len(sizes), 1)
    timings = AnalysisTimings(
        analysis_s=time.perf_counter() - started,
        detect_ms_per_frame=1000 * sums["detect"] / n,
        jpeg_ms_per_frame=1000 * sums["jpeg"] / n,
        signature_ms_per_frame=1000 * sums["signature"] / n,
    )
    timestamps = [i / fps for i in range(len(sizes))]
    clip = ClipAnalysis(
        timestamps,
        [s.reported for s in raw],
        [s.reported for s in on_jpeg],
        sizes,
        signatures,
        None if weak_floor is None else [s.weak for s in raw],
        None if weak_floor is None else [s.weak for s in on_jpeg],
    )
    return AnalysedClip(clip, fps, timings, cached=False)


def load_or_analyse(
    video: Path,
    frames: int | None,
    jpeg: JpegSettings,
    detector: DetectorConfig,
    difference: DifferenceSettings,
    cache_dir: Path,
    refresh: bool = False,
    progress: Progress = SILENT,
    weak_floor: float | None = None,
) -> AnalysedClip:
    """The cached analysis when there is one (unless `refresh`), else analyse and cache it."""
    key = cache_key(video, frames, jpeg, detector, difference, weak_floor)
    path = cache_dir / f"{key}.npz"
    if not refresh and path.is_file():
        try:
            return _load(path)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("ignoring unreadable bench cache %s: %s", path, exc)
    analysed = analyse_video(video, frames, jpeg, detector, difference, progress, weak_floor)
    _save(path, analysed)
    return analysed


def _detections_to_arrays(
    per_frame: Sequence[Sequence[Detection]], prefix: str
) -> dict[str, npt.NDArray[Any]]:
    flat = [d for frame in per_frame for d in frame]
    values = [[d.confidence, d.box.x1, d.box.y1, d.box.x2, d.box.y2] for d in flat]
    return {
        f"{prefix}_counts": np.array([len(f) for f in per_frame], dtype=np.int64),
        f"{prefix}_values": np.array(values, dtype=np.float64).reshape(-1, 5),
        f"{prefix}_labels": np.array([d.label for d in flat], dtype=np.str_),
    }


def _detections_from_arrays(data: Any, prefix: str) -> list[list[Detection]]:
    counts = data[f"{prefix}_counts"].tolist()
    values = data[f"{prefix}_values"].tolist()
    labels = data[f"{prefix}_labels"].tolist()
    detections = [
        Detection(str(label), float(v[0]), Box(*(float(x) for x in v[1:])))
        for label, v in zip(labels, values, strict=True)
    ]
    out: list[list[Detection]] = []
    start = 0
    for count in counts:
        out.append(detections[start : start + count])
        start += count
    return out


def _save(path: Path, analysed: AnalysedClip) -> None:
    clip = analysed.clip
    meta = {"fps": analysed.fps, "timings": dataclasses.asdict(analysed.timings)}
    arrays: dict[str, npt.NDArray[Any]] = {
        "meta": np.array(json.dumps(meta)),
        "jpeg_sizes": np.array(clip.jpeg_sizes, dtype=np.int64),
        "signatures": np.array(clip.signatures, dtype=np.uint8),
        **_detections_to_arrays(clip.raw_detections, "raw"),
        **_detections_to_arrays(clip.jpeg_detections, "jpeg"),
    }
    for prefix, weak in zip(WEAK, (clip.raw_weak, clip.jpeg_weak), strict=True):
        if weak is not None:
            arrays.update(_detections_to_arrays(weak, prefix))
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a run killed midway must not leave a truncated cache behind.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez_compressed(file, allow_pickle=False, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load(path: Path) -> AnalysedClip:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        fps = float(meta["fps"])
        sizes = [int(s) for s in data["jpeg_sizes"].tolist()]
        signatures = list(np.asarray(data["signatures"], dtype=np.uint8))
        raw = _detections_from_arrays(data, "raw")
        jpeg = _detections_from_arrays(data, "jpeg")
        weak = [
            _detections_from_arrays(data, p) if f"{p}_counts" in data.files else None for p in WEAK
        ]
    timestamps = [i / fps for i in range(len(sizes))]
    clip = ClipAnalysis(timestamps, raw, jpeg, sizes, signatures, *weak)
    return AnalysedClip(clip, fps, AnalysisTimings(**meta["timings"]), cached=True)
