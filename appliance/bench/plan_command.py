"""`appliance bench plan` as a command: exits resolved, the benchmark run, the report printed."""

from __future__ import annotations

import argparse
import json
import sys

from appliance.bench.plan_report import format_table, write_plot
from appliance.progress import progress_from


def run_plan_command(args: argparse.Namespace) -> int:
    try:
        from appliance.bench.plan import run_plan_bench
        from appliance.bench.plan_types import ExitModel, PlanBenchSettings
        from appliance.models.errors import ModelToolError
        from appliance.plan.default_exits import default_planned_exits
        from appliance.plan.errors import PlanError
        from appliance.plan.exit_accuracies import resolve_exits
    except ModuleNotFoundError as exc:
        print(f"appliance: bench: needs the plan extra: pip install -e '.[plan]' ({exc})",
              file=sys.stderr)  # fmt: skip
        return 1
    progress = progress_from(args)
    try:
        if args.exit:
            planned = resolve_exits(args.exit, args.accuracy_file)
        else:  # the trained default detector's exits, every accuracy measured on footage
            with progress.timed("default exits: built, accuracy measured (once)"):
                planned = default_planned_exits(args.models_dir)
        settings = PlanBenchSettings(
            exits=tuple(ExitModel(e.name, e.path, e.accuracy) for e in planned),
            bandwidths_mbps=tuple(args.bandwidths),
            deadlines_ms=tuple(args.deadlines),
            camera_slowdown=args.camera_slowdown,
            encoding=args.encoding,
            runs=args.runs,
            margin=args.margin,
            held_out=tuple(args.held_out),
        )
        unknown = set(settings.held_out) - {e.name for e in settings.exits}
        if unknown:
            raise PlanError(f"--held-out {sorted(unknown)[0]}: no such exit")
        summary = run_plan_bench(settings, progress)
        summary["exits"] = {e.name: {"accuracy": e.accuracy, "source": e.source} for e in planned}
    except (PlanError, ModelToolError, OSError, ValueError) as exc:
        print(f"appliance: bench: {exc}", file=sys.stderr)
        return 1
    if args.plot:
        write_plot(summary, args.plot)
    print(json.dumps(summary) if args.json else format_table(summary))
    return 0
