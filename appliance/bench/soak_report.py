"""The human table of `appliance bench soak` (the JSON report holds the same and the series)."""

from __future__ import annotations

from typing import Any


def format_soak_report(report: dict[str, Any]) -> str:
    lines = [
        f"soak: {report['cameras']} cameras ({', '.join(report['videos'])}, real time) for "
        f"{report['elapsed_s'] / 60:.1f} min on {report['cpu_cores']} cores; warm-up "
        f"{report['warmup_s']:.0f} s" + (" (interrupted)" if report["interrupted"] else ""),
    ]
    if "rss_mb_final" in report:
        lines += _process_rows(report)
    lines += _work_rows(report)
    if report.get("storage"):
        lines += _storage_rows(report["storage"])
    errors = report["errors"]
    lines.append(f"  {'errors':<24} {errors['count']}")
    lines += [f"    {line}" for line in errors["lines"]]
    failed = [name for name, ok in report["checks"].items() if not ok]
    verdict = "targets met" if not failed else "targets missed: " + ", ".join(failed)
    lines.append(verdict)
    return "\n".join(lines)


def _process_rows(report: dict[str, Any]) -> list[str]:
    targets = report["targets"]
    slope = report["rss_slope_mb_per_hour"]
    slope_text = "n/a" if slope is None else f"{slope:+.1f} MB/hour"
    return [
        f"  {'samples (after warm-up)':<24} {report['samples']} ({report['samples_after_warmup']})",
        f"  {'RSS at warm-up end':<24} {report['rss_mb_at_warmup_end']:.1f} MB",
        f"  {'RSS max / final':<24} {report['rss_mb_max']:.1f} / {report['rss_mb_final']:.1f} MB",
        f"  {'RSS growth':<24} {report['rss_growth_pct']:+.2f}% (target <= "
        f"{targets['max_rss_growth_pct']:.0f}%), slope {slope_text}",
        _span_row("open fds", report["fds"], None),
        _span_row("  sockets", report["sockets"], targets["socket_tolerance"]),
        _span_row("  other", report["other_fds"], targets["other_fd_tolerance"]),
        _span_row("threads", report["threads"], targets["thread_tolerance"]),
    ]


def _span_row(name: str, span: dict[str, int], tolerance: float | None) -> str:
    limit = "" if tolerance is None else f" (flat: span <= {tolerance:.0f})"
    return f"  {name:<24} {span['min']}-{span['max']}, span {span['span']}{limit}"


def _work_rows(report: dict[str, Any]) -> list[str]:
    if "frames_received" not in report:
        return []
    dropped = report["dropped"]
    shed = report["shed_share"]
    store = report["store"]
    nodes = report["nodes"]
    return [
        f"  {'frames received':<24} {report['frames_received']}"
        f" (nodes read {int(nodes.get('frames_read', 0))} in {nodes['runs']} runs)",
        f"  {'frames analysed':<24} {report['frames_analysed']}",
        f"  {'shed by the edge':<24} {sum(dropped.values())} {dropped}"
        + ("" if shed is None else f", {100 * shed:.1f}% of the work"),
        f"  {'rejected':<24} {sum(report['rejected'].values())} {report['rejected']}",
        f"  {'store':<24} " + ", ".join(f"{k} {v}" for k, v in store.items()),
    ]


def _storage_rows(storage: dict[str, Any]) -> list[str]:
    retention = storage["retention"]
    horizon = retention["frames_s"]
    if horizon is None:
        kept = "frames kept for ever"
    elif retention["frames_bound"] is None:
        kept = f"frames kept {horizon:.0f} s: longer than the run, not checked"
    else:
        verdict = "held" if retention["holds"] else "MISSED"
        kept = (
            f"frames kept {horizon:.0f} s, swept every {retention['interval_s']:.0f} s: at most "
            f"{retention['frames_bound']} may be left, {storage['frames_final']} are ({verdict})"
        )
    return [
        f"  {'store on disk':<24} {storage['disk_mb_at_warmup_end']:.1f} MB at warm-up end, "
        f"max {storage['disk_mb_max']:.1f}, final {storage['disk_mb_final']:.1f} MB",
        f"  {'database on disk':<24} {_mb(storage['database_mb_at_warmup_end'])} at warm-up end, "
        f"max {_mb(storage['database_mb_max'])}, final {_mb(storage['database_mb_final'])}",
        f"  {'frames stored':<24} {storage['frames_at_warmup_end']} at warm-up end, "
        f"max {storage['frames_max']}, final {storage['frames_final']}",
        f"  {'retention':<24} {kept}",
    ]


def _mb(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.1f} MB"
