"""Argument parsing for `appliance bench`; each benchmark lives in its own module."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_CACHE_DIR = Path("data/bench-cache")


def add_bench_parser(roles: Any) -> None:
    bench = roles.add_parser("bench", help="measure the appliance (see docs/benchmarks.md)")
    benchmarks = bench.add_subparsers(dest="bench", required=True, metavar="BENCHMARK")
    _add_filter(benchmarks)


def _add_filter(benchmarks: Any) -> None:
    parser = benchmarks.add_parser(
        "filter", help="camera-node frame filter vs every frame, a fixed threshold, every k-th"
    )
    parser.add_argument("--video", default="vtest", help="sample (vtest, bikes) or a file path")
    parser.add_argument("--frames", type=int, help="use only the first N frames")
    parser.add_argument(
        "--jpeg-quality", type=int, default=85, help="JPEG quality (camera node default: 85)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE_DIR,
        help=f"where per-clip analyses are cached (default: {DEFAULT_CACHE_DIR})",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="analyse the clip again and refresh its cache"
    )
    parser.set_defaults(handler=_filter)


def _filter(args: argparse.Namespace) -> int:
    # Imported here: the benchmark pulls in OpenCV and the detector, other roles need neither.
    from appliance.bench.filter import run_filter_command

    return run_filter_command(args)
