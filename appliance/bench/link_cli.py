"""`appliance bench link`'s arguments and command: the end-to-end Edgent run over a shaped link."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from appliance.bench.cli_types import positive_float
from appliance.bench.defaults import DEFAULT_CACHE_DIR
from cameras.detector_config import DEFAULT_MODEL_PATH


def rate_phases(text: str) -> list[tuple[float, float]]:
    """`40:15,1:15,40:15`: Mbit/s and seconds per phase."""
    phases = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        rate, _, seconds = part.partition(":")
        try:
            phases.append((positive_float(rate), positive_float(seconds)))
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"{part!r}: give RATE_MBIT:SECONDS ({exc})") from None
    if not phases:
        raise argparse.ArgumentTypeError(f"{text!r}: give RATE_MBIT:SECONDS, comma-separated")
    return phases


def add_link_parser(benchmarks: Any) -> None:
    parser = benchmarks.add_parser(
        "link",
        help="a camera node planning Edgent against an edge over a tc-shaped link (needs root)",
    )
    parser.add_argument("--video", default="vtest", help="sample (vtest, bikes) or a path")
    parser.add_argument(
        "--phases", type=rate_phases, default=[(40.0, 15.0), (1.0, 15.0), (40.0, 15.0)],
        help="the link's rate over time: RATE_MBIT:SECONDS, comma-separated"
        " (default: 40:15,1:15,40:15)",
    )  # fmt: skip
    parser.add_argument(
        "--deadline", type=positive_float, default=300.0, help="latency requirement, ms"
    )
    parser.add_argument(
        "--camera-slowdown", type=positive_float, default=5.0,
        help="the camera node's CPU quota makes it this many times slower (default: 5)",
    )  # fmt: skip
    parser.add_argument("--encoding", default="float16", choices=["float32", "float16", "int8"])
    parser.add_argument(
        "--models-dir", type=Path, default=Path(DEFAULT_MODEL_PATH).parent,
        help="where the default exits are built and measured (default: data/models)",
    )  # fmt: skip
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE_DIR,
        help=f"where the reference detections are cached (default: {DEFAULT_CACHE_DIR})",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    parser.set_defaults(handler=run_link_command)


def run_link_command(args: argparse.Namespace) -> int:
    from appliance.bench.built_clips import bench_video
    from appliance.bench.cpu_quota import CpuQuotaError
    from appliance.bench.link import LinkBenchSettings, RatePhase, run_link_bench
    from appliance.bench.link_processes import LinkRunError
    from appliance.bench.link_report import format_link_report
    from appliance.models.errors import ModelToolError
    from appliance.plan.errors import PlanError
    from appliance.progress import progress_from

    try:
        settings = LinkBenchSettings(
            video=bench_video(args.video, args.cache_dir),
            models_dir=args.models_dir,
            cache_dir=args.cache_dir,
            phases=tuple(RatePhase(rate, seconds) for rate, seconds in args.phases),
            deadline_ms=args.deadline,
            camera_slowdown=args.camera_slowdown,
            encoding=args.encoding,
        )
        report = run_link_bench(settings, progress_from(args))
    except (LinkRunError, CpuQuotaError, PlanError, ModelToolError, OSError) as exc:
        print(f"appliance: bench link: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report) if args.json else format_link_report(report))
    return 0
