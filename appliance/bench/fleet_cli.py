"""`appliance bench scale` and `soak`'s arguments: many real camera node processes against one
edge box process, for seconds (throughput, shedding) or for minutes (leaks)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from appliance.bench.cli_types import int_list, int_within, name_list, positive_float
from appliance.bench.defaults import DEFAULT_CACHE_DIR


def add_fleet_parsers(benchmarks: Any) -> None:
    _add_scale(benchmarks)
    _add_soak(benchmarks)


def _add_scale(benchmarks: Any) -> None:
    parser = benchmarks.add_parser(
        "scale", help="N real camera nodes in real time against one edge box on this machine"
    )
    parser.add_argument(
        "--video",
        default="vtest",
        help="sample (vtest, bikes; quiet, distractors: built from vtest) or a path",
    )
    parser.add_argument(
        "--cameras",
        type=int_list,
        default=[1],
        help="number of cameras, or a comma-separated list to try in turn (e.g. 1,2,4,8)",
    )
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="seconds of the clip each camera replays"
    )
    parser.add_argument(
        "--no-early-exit",
        action="store_true",
        help="baseline: detect every frame sent (no regions exit, no result cache)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="edge YAML to run the edge box with (e.g. an INT8 detector); its cameras, listen"
        " and data_dir are the benchmark's (default: built-in)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    parser.set_defaults(handler=_scale)


def _scale(args: argparse.Namespace) -> int:
    from appliance.bench.scale import run_scale_command

    return run_scale_command(args)


def _add_soak(benchmarks: Any) -> None:
    parser = benchmarks.add_parser(
        "soak", help="one edge box under N real-time cameras for minutes: memory, fds, threads"
    )
    parser.add_argument(
        "--cameras", type=int_within(1, 64), default=8, help="camera nodes (default: 8)"
    )
    parser.add_argument(
        "--minutes", type=positive_float, default=30.0, help="length of the run (default: 30)"
    )
    parser.add_argument(
        "--sample-s", type=positive_float, default=10.0,
        help="seconds between samples of the edge process (default: 10)",
    )  # fmt: skip
    parser.add_argument(
        "--videos", type=name_list, default=["vtest", "bikes"],
        help="clips the cameras replay in turn, comma-separated (default: vtest,bikes)",
    )  # fmt: skip
    parser.add_argument(
        "--config", type=Path,
        help="edge YAML to start from (listen, data_dir, cameras and api_token are the soak's;"
        " without database_url a fresh SQLite store, with one that database, which must be"
        " empty: put its password in ${ENV} as in any edge YAML)",
    )  # fmt: skip
    parser.add_argument(
        "--work-dir", type=Path,
        help="keep configs, logs and the store here (default: a temporary folder, removed)",
    )  # fmt: skip
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE_DIR,
        help=f"where looped clips are built (default: {DEFAULT_CACHE_DIR})",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    parser.set_defaults(handler=_soak)


def _soak(args: argparse.Namespace) -> int:
    from appliance.bench.soak import run_soak_command

    return run_soak_command(args)
