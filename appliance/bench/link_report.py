"""`appliance bench link`'s figures: per phase of the link's rate, the plans the camera ran, the
bandwidth it measured, how many frames met the requirement, and what the edge stored scored
against the reference; then the whole clip by the one scorer (`pipelines.system_score`)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from appliance.bench.clip import AnalysedClip
from appliance.bench.link_processes import CAMERA_ID
from appliance.bench.stored_run import read_stored_run
from appliance.edge.config import TrackerConfig
from appliance.edge.store import open_database, sqlite_url
from appliance.edge.store.schema import Frame
from appliance.edge.store.sessions import read_session
from pipelines.metrics import ClipScore, LabelledBox, score_clip
from pipelines.system_score import (
    QueryReference,
    analysed_f1,
    held_answers,
    query_reference,
)

if TYPE_CHECKING:
    from appliance.bench.link import LinkBenchSettings

FOLLOWED_WITHIN = 3.0
"""The planner has seen a new rate once its estimate is within this factor of it."""


@dataclass(frozen=True)
class PlanSample:
    """The camera's plan report at one moment, as the edge showed it."""

    at: float
    phase: int
    exit: str
    cut: int
    cut_label: str
    accuracy: float
    predicted_ms: float
    bandwidth_mbps: float
    frames_timed: int
    frames_met: int


def link_report(
    settings: LinkBenchSettings,
    data_dir: Path,
    clip: AnalysedClip,
    samples: Sequence[PlanSample],
    boundaries: Sequence[float],
) -> dict[str, Any]:
    tracker = TrackerConfig().settings()
    reference = query_reference(clip.clip.timestamps, clip.clip.raw_detections, tracker)
    database = open_database(sqlite_url(data_dir))
    try:
        stored = read_stored_run(database, CAMERA_ID, clip.fps, tracker)
        with read_session(database, "read the link benchmark's frames") as session:
            rows = session.execute(
                select(Frame.seq, Frame.captured_at, Frame.jpeg_bytes).where(
                    Frame.camera_id == CAMERA_ID
                )
            ).all()
    finally:
        database.dispose()
    start = min((at - seq / clip.fps for seq, at, _ in rows), default=boundaries[0])
    frames = clip.clip.frames
    windows = [
        _window(start, clip.fps, frames, boundaries[k], boundaries[k + 1])
        for k in range(len(boundaries) - 1)
    ]
    held = held_answers(stored.analysed, len(reference.answers))
    phases = [
        _phase(settings, k, window, samples, stored.analysed, held, reference, boundaries)
        for k, window in enumerate(windows)
    ]
    # The phases only: before them the camera was starting under its quota.
    run = range(windows[0].start, windows[-1].stop) if windows else range(0)
    boxes = _boxes(held, reference, run)
    first, last = samples[0] if samples else None, samples[-1] if samples else None
    timed = last.frames_timed - first.frames_timed if first and last else 0
    met = last.frames_met - first.frames_met if first and last else 0
    return {
        "video": str(settings.video),
        "frames": len(run),
        "deadline_ms": settings.deadline_ms,
        "camera_slowdown": settings.camera_slowdown,
        "encoding": settings.encoding,
        "phases": phases,
        "frames_timed": timed,
        "met_rate": _rate(met, timed),
        "frames_analysed": sum(1 for i in run if i in stored.analysed),
        "bytes_sent": sum(size for seq, _, size in rows if seq in run),
        "analysed_f1": _round(analysed_f1(stored.analysed, reference, run)),
        "boxes": {"f1": round(boxes.f1, 4), "f1_busy": round(boxes.f1_busy, 4)},
    }


def _window(start: float, fps: float, frames: int, begins: float, ends: float) -> range:
    """The clip's frame indices captured between `begins` and `ends` (epoch seconds)."""
    first = max(0, min(frames, round((begins - start) * fps)))
    last = max(first, min(frames, round((ends - start) * fps)))
    return range(first, last)


def _phase(
    settings: LinkBenchSettings,
    index: int,
    window: range,
    samples: Sequence[PlanSample],
    analysed: dict[int, Any],
    held: list[list[LabelledBox]],
    reference: QueryReference,
    boundaries: Sequence[float],
) -> dict[str, Any]:
    """`held`: each frame's answer (`held_answers`), shared by every phase."""
    rate = settings.phases[index].mbit_per_s
    mine = [s for s in samples if s.phase == index]
    before = [s for s in samples if s.phase < index]
    # Counted from the last report before the phase (the first one in it for the first phase).
    base = before[-1] if before else (mine[0] if mine else None)
    timed = mine[-1].frames_timed - base.frames_timed if mine and base else 0
    met = mine[-1].frames_met - base.frames_met if mine and base else 0
    boxes = _boxes(held, reference, window)
    plans = Counter(f"{s.exit} {s.cut_label}" for s in mine)
    settled = mine[len(mine) // 2 :]
    return {
        "rate_mbps": rate,
        "seconds": round(boundaries[index + 1] - boundaries[index], 1),
        "bandwidth_mbps": _round(statistics.median(s.bandwidth_mbps for s in settled))
        if settled
        else None,
        "followed_after_s": _followed(mine, rate, boundaries[index]),
        "plans": {plan: round(n / len(mine), 3) for plan, n in plans.most_common()},
        "planned_accuracy": _round(statistics.fmean(s.accuracy for s in mine)) if mine else None,
        "predicted_ms": _round(statistics.median(s.predicted_ms for s in mine)) if mine else None,
        "frames_timed": timed,
        "met_rate": _rate(met, timed),
        "frames": len(window),
        "frames_analysed": sum(1 for i in window if i in analysed),
        "analysed_f1": _round(analysed_f1(analysed, reference, window)),
        "boxes_f1": round(boxes.f1, 4),
    }


def _boxes(held: list[list[LabelledBox]], reference: QueryReference, frames: range) -> ClipScore:
    return score_clip([held[i] for i in frames], [reference.answers[i] for i in frames])


def _followed(samples: Sequence[PlanSample], rate: float, begins: float) -> float | None:
    for sample in samples:
        if rate / FOLLOWED_WITHIN <= sample.bandwidth_mbps <= rate * FOLLOWED_WITHIN:
            return round(sample.at - begins, 1)
    return None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def format_link_report(report: dict[str, Any]) -> str:
    lines = [
        f"{report['video']}: {report['frames']} frames, requirement {report['deadline_ms']:.0f} ms,"
        f" camera {report['camera_slowdown']:g}x slower (CPU quota), {report['encoding']}",
        f"{'rate':>7} {'measured':>9} {'seen after':>10} {'met':>6} {'frames':>7}"
        f" {'analysed F1':>11} {'boxes F1':>8}  plans",
    ]
    for p in report["phases"]:
        plans = ", ".join(f"{name} {share:.0%}" for name, share in p["plans"].items())
        lines.append(
            f"{p['rate_mbps']:>7g} {_text(p['bandwidth_mbps']):>9}"
            f" {_text(p['followed_after_s']):>10}"
            f" {_text(p['met_rate']):>6} {p['frames_analysed']:>3}/{p['frames']:<3}"
            f" {_text(p['analysed_f1']):>11} {p['boxes_f1']:>8.3f}  {plans}"
        )
    lines.append(
        f"all phases: met {_text(report['met_rate'])} of {report['frames_timed']} frames;"
        f" {report['frames_analysed']}/{report['frames']} frames analysed,"
        f" {report['bytes_sent'] / 1e6:.2f} MB; analysed F1 {_text(report['analysed_f1'])};"
        f" boxes F1 {report['boxes']['f1']:.3f} (busy frames {report['boxes']['f1_busy']:.3f})"
    )
    return "\n".join(lines)


def _text(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
