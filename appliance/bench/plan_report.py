"""Summary, table and plot of `appliance bench plan` (the run itself is in `plan.py`)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.edgent.planner import STRATEGIES

if TYPE_CHECKING:
    from appliance.bench.plan_types import PlanBenchSettings, Row

FIXED = tuple(s for s in STRATEGIES if s != "edgent")


def summarise(
    rows: list[Row], regression: dict[str, float], settings: PlanBenchSettings, elapsed: float
) -> dict[str, Any]:
    by_setting: dict[tuple[float, float], dict[str, Row]] = defaultdict(dict)
    for row in rows:
        by_setting[(row.bandwidth_mbps, row.deadline_ms)][row.strategy] = row
    feasible = [
        group for group in by_setting.values()
        if group["edgent"].predicted_ms <= group["edgent"].deadline_ms
        or any(r.met for r in group.values())
    ]  # fmt: skip
    strategies = {name: _strategy(name, feasible) for name in STRATEGIES}
    return {
        "deadline_met_rate": strategies["edgent"]["deadline_met_rate"],
        "prediction_error": _prediction_error(rows),
        "regression_error": {k: round(v, 4) for k, v in regression.items()},
        "held_out": list(settings.held_out),
        "strategies": strategies,
        "settings": len(by_setting),
        "feasible_settings": len(feasible),
        "camera_slowdown": settings.camera_slowdown,
        "margin": settings.margin,
        "encoding": settings.encoding,
        "exits": {e.name: e.accuracy for e in settings.exits},
        "elapsed_s": round(elapsed, 1),
        "table": [_rounded(asdict(r)) for r in rows],
    }


def _strategy(name: str, feasible: list[dict[str, Row]]) -> dict[str, float]:
    mine = [group[name] for group in feasible]
    met = [r for r in mine if r.met]
    count = max(len(mine), 1)
    return {
        "deadline_met_rate": round(len(met) / count, 4),
        # Frame by frame: each timed run of the plan counts, not its median.
        "runs_met_rate": round(sum(r.runs_met or 0.0 for r in mine) / count, 4),
        # Accuracy delivered in time: a missed requirement delivers nothing.
        "accuracy_in_time": round(sum(r.accuracy for r in met) / count, 4),
    }


def _prediction_error(rows: list[Row]) -> float | None:
    """Median |predicted - measured| / measured over the distinct plans run."""
    seen: dict[tuple[float, str, int], float] = {}
    for r in rows:
        if r.measured_ms is not None:
            seen[(r.bandwidth_mbps, r.exit, r.cut)] = (
                abs(r.predicted_ms - r.measured_ms) / r.measured_ms
            )
    return round(statistics.median(seen.values()), 4) if seen else None


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in values.items()}


def format_table(summary: dict[str, Any]) -> str:
    head = f"{'Mbit/s':>7} {'req ms':>6}  {'strategy':<15}{'exit':<13}{'partition':<34}"
    lines = [head + f"{'pred ms':>8} {'meas ms':>8} {'acc':>5}  met"]
    for r in summary["table"]:
        measured = "-" if r["measured_ms"] is None else f"{r['measured_ms']:.0f}"
        lines.append(
            f"{r['bandwidth_mbps']:>7g} {r['deadline_ms']:>6g}  {r['strategy']:<15}"
            f"{r['exit']:<13}{r['partition'][:33]:<34}{r['predicted_ms']:>8.0f} {measured:>8}"
            f" {r['accuracy']:>5.2f}  {'yes' if r['met'] else 'no'}"
        )
    lines.append("")
    for name, figures in summary["strategies"].items():
        lines.append(
            f"{name:<15} deadline met {figures['deadline_met_rate']:.0%} of feasible settings"
            f" ({figures['runs_met_rate']:.0%} of runs), accuracy in time"
            f" {figures['accuracy_in_time']:.3f}"
        )
    lines.append(f"deadline_met_rate {summary['deadline_met_rate']}")
    lines.append(f"prediction_error  {summary['prediction_error']}")
    held = set(summary.get("held_out", []))
    errors = ", ".join(
        f"{k} {v:+.1%}{' (held out)' if k in held else ''}"
        for k, v in summary["regression_error"].items()
    )
    lines.append(f"regression error per model (predicted vs measured, edge): {errors}")
    return "\n".join(lines)


def write_plot(summary: dict[str, Any], path: Path) -> None:
    """Edgent-style figure: accuracy delivered in time per strategy vs bandwidth, one panel per
    requirement, and predicted against measured latency of the plans Edgent chose."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = summary["table"]
    deadlines = sorted({r["deadline_ms"] for r in table})
    columns = 3
    rows = -(-(len(deadlines) + 1) // columns)
    figure, grid = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    axes = list(grid.flat)
    for axis in axes[len(deadlines) + 1 :]:
        axis.set_visible(False)
    for axis, deadline in zip(axes, deadlines, strict=False):
        for name in STRATEGIES:
            points = sorted(
                (r["bandwidth_mbps"], r["accuracy"] if r["met"] else 0.0)
                for r in table if r["strategy"] == name and r["deadline_ms"] == deadline
            )  # fmt: skip
            axis.plot(*zip(*points, strict=True), marker="o", label=name)
        axis.set_xscale("log")
        axis.set_title(f"requirement {deadline:g} ms")
        axis.set_xlabel("bandwidth (Mbit/s)")
        axis.set_ylabel("accuracy in time")
    axes[0].legend(fontsize=7)
    chosen = [r for r in table if r["strategy"] == "edgent" and r["measured_ms"] is not None]
    last = axes[len(deadlines)]
    last.scatter([r["measured_ms"] for r in chosen], [r["predicted_ms"] for r in chosen], s=12)
    top = max([r["measured_ms"] for r in chosen] + [1.0])
    last.plot([0, top], [0, top], color="grey", linewidth=0.8)
    last.set_xlabel("measured latency (ms)")
    last.set_ylabel("predicted latency (ms)")
    last.set_title("Edgent's plans")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
