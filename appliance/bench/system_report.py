"""The figures `appliance bench system` reports for the system and each baseline, and its text."""

from __future__ import annotations

from typing import Any

from pipelines.query_baselines import Baseline
from pipelines.replay import ClipAnalysis
from pipelines.system_score import SystemScore


def scored(frames_sent: int, bytes_sent: int, frames: int, score: SystemScore) -> dict[str, Any]:
    """The keys every scheme reports, the system and each baseline alike."""
    events = score.events
    return {
        "frames_sent": frames_sent,
        "sent_fraction": round(frames_sent / max(frames, 1), 4),
        "bytes_sent": bytes_sent,
        "boxes": {"f1": _r(score.boxes.f1), "f1_busy": _r(score.boxes.f1_busy)},
        "counts": {
            "accuracy": _r(score.counts.accuracy),
            "mae_per_second": _r(score.counts.mae_per_second),
        },
        "events": {
            "recall": _r(events.recall),
            "precision": _r(events.precision),
            "p95_delay_s": None if events.p95_delay_s is None else _r(events.p95_delay_s),
            "paired_recall": _r(events.paired_recall),
            "reference": events.reference_events,
            "reported": events.reported_events,
        },
    }


def baseline_rows(
    baselines: dict[str, Baseline], clip: ClipAnalysis, detect_ms: float | None = None
) -> dict[str, Any]:
    """Each baseline's figures; `detect_ms`: the full detector's time per frame, to report
    its time per input frame."""
    rows = {}
    for name, b in baselines.items():
        row = {
            **scored(len(b.sent), clip.sent_bytes(b.sent), clip.frames, b.score),
            "parameter": b.parameter,
            "reached": b.reached,
        }
        if detect_ms is not None:
            row["detector_ms_per_input_frame"] = round(detect_ms * len(b.sent) / clip.frames, 2)
        rows[name] = row
    return rows


def _r(value: float) -> float:
    return round(value, 4)


def format_system_report(report: dict[str, Any]) -> str:
    control = report["control"]
    lines = [
        f"{report['video']}: {report['frames']} frames at {report['fps']:.1f} fps,"
        f" query {report['query']} (target {control['accuracy_target']},"
        f" estimated {_maybe(control.get('estimated_accuracy'))})",
        f"{'scheme':<18}{'frames':>8}{'sent':>8}{'bytes':>11}{'box f1':>8}{'busy':>7}"
        f"{'count':>7}{'mae/s':>7}{'recall':>8}{'prec':>7}{'p95 s':>7}",
    ]
    schemes = {"system": report, **report["baselines"]}
    for name, row in schemes.items():
        events = row["events"]
        lines.append(
            f"{name:<18}{row['frames_sent']:>8}{row['sent_fraction']:>8.3f}{row['bytes_sent']:>11}"
            f"{row['boxes']['f1']:>8.3f}{row['boxes']['f1_busy']:>7.3f}"
            f"{row['counts']['accuracy']:>7.3f}{row['counts']['mae_per_second']:>7.3f}"
            f"{events['recall']:>8.3f}{events['precision']:>7.3f}{_maybe(events['p95_delay_s']):>7}"
        )
    lines.append(f"baselines tuned to the system's {report['query']} accuracy {report['tuned_to']}")
    if "detector_ms_per_input_frame" in report:
        lines.append(f"edge detector {report['detector_ms_per_input_frame']} ms per input frame")
    node = report.get("node", {})
    if node.get("detector_ms_per_input_frame") is not None:
        lines.append(
            f"camera's own detector {node['detector_ms_per_input_frame']} ms per input frame"
        )
    if node.get("follow_ms_per_input_frame"):
        lines.append(
            f"camera following the tracked boxes {node['follow_ms_per_input_frame']} ms"
            " per input frame"
        )
    reasons = node.get("sent_by_reason")
    if reasons:
        lines.append("sent because: " + ", ".join(f"{r} {n}" for r, n in reasons.items()))
    return "\n".join(lines)


def _maybe(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
