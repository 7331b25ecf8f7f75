"""Argument parsing for `appliance bench`; each benchmark lives in its own module."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from appliance.bench.cli_types import (
    chroma_list,
    float_list,
    int_within,
    quality_list,
    size_list,
)
from appliance.bench.defaults import DEFAULT_CACHE_DIR
from appliance.bench.fleet_cli import add_fleet_parsers
from appliance.bench.link_cli import add_link_parser
from appliance.plan.cli import add_exit_arguments
from appliance.progress import add_quiet_argument
from cameras.detector_config import DEFAULT_MODEL_PATH
from cameras.jpeg import CHROMAS, DEFAULT_JPEG_CHROMA, DEFAULT_JPEG_QUALITY
from pipelines.feedback import Query


def add_bench_parser(roles: Any) -> None:
    bench = roles.add_parser("bench", help="measure the appliance (see docs/benchmarks.md)")
    benchmarks = bench.add_subparsers(dest="bench", required=True, metavar="BENCHMARK")
    _add_system(benchmarks)
    _add_filter(benchmarks)
    _add_edge(benchmarks)
    add_fleet_parsers(benchmarks)
    _add_uplink(benchmarks)
    _add_plan(benchmarks)
    add_link_parser(benchmarks)
    _add_encoding(benchmarks)
    _add_detectors(benchmarks)
    _add_tiny(benchmarks)
    for parser in benchmarks.choices.values():
        add_quiet_argument(parser)  # progress bars on stderr otherwise, on a terminal


def _add_system(benchmarks: Any) -> None:
    parser = benchmarks.add_parser(
        "system", help="the shipped camera node and edge end to end, scored per query"
    )
    parser.add_argument(
        "--video",
        default="vtest",
        help="sample (vtest, bikes; quiet, distractors: built from vtest) or a path",
    )
    parser.add_argument("--frames", type=int_within(1, None), help="use the first N frames")
    parser.add_argument(
        "--config",
        type=Path,
        nargs=2,
        metavar=("CAMERA_YAML", "EDGE_YAML"),
        help="the camera node's and the edge's configs (default: built-in defaults)",
    )
    _add_query_argument(parser, default=None)
    parser.add_argument("--realtime", action="store_true", help="play the clip at its frame rate")
    _add_cache_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    parser.set_defaults(handler=_system)


def _add_query_argument(parser: argparse.ArgumentParser, default: str | None) -> None:
    parser.add_argument(
        "--query",
        choices=[q.value for q in Query],
        default=default,
        help="what users ask of the camera: events, counts or boxes (default: "
        + (default or "the edge config's, events")
        + ")",
    )


def _system(args: argparse.Namespace) -> int:
    from appliance.bench.system import run_system_command

    return run_system_command(args)


def _add_cache_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE_DIR,
        help=f"where per-clip analyses are cached (default: {DEFAULT_CACHE_DIR})",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="analyse the clip again and refresh its cache"
    )


def _add_filter(benchmarks: Any) -> None:
    parser = benchmarks.add_parser(
        "filter", help="camera-node frame filter vs every frame, a fixed threshold, every k-th"
    )
    parser.add_argument(
        "--video",
        default="vtest",
        help="sample (vtest, bikes; quiet, distractors: built from vtest) or a path",
    )
    parser.add_argument("--frames", type=int_within(1, None), help="use the first N frames")
    parser.add_argument(
        "--jpeg-quality",
        type=int_within(10, 100),
        default=DEFAULT_JPEG_QUALITY,
        help=f"JPEG quality of frames sent, 10-100 (camera node default: {DEFAULT_JPEG_QUALITY})",
    )
    parser.add_argument(
        "--jpeg-chroma", choices=CHROMAS, default=DEFAULT_JPEG_CHROMA,
        help=f"chroma subsampling of frames sent (camera node default: {DEFAULT_JPEG_CHROMA})",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    _add_cache_arguments(parser)
    _add_query_argument(parser, default=Query.EVENTS.value)
    parser.set_defaults(handler=_filter)


def _add_edge(benchmarks: Any) -> None:
    parser = benchmarks.add_parser(
        "edge", help="edge early-exit cascade and cache vs detecting every frame"
    )
    parser.add_argument("--video", default="vtest", help="sample (vtest, bikes) or a path")
    parser.add_argument("--frames", type=int_within(1, None), help="use the first N frames")
    parser.add_argument(
        "--jpeg-quality",
        type=int_within(10, 100),
        default=DEFAULT_JPEG_QUALITY,
        help=f"JPEG quality the frames arrive in, 10-100 (camera default: {DEFAULT_JPEG_QUALITY})",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="edge YAML whose detector and early_exit to use (default: built-in)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    parser.set_defaults(handler=_edge)


def _edge(args: argparse.Namespace) -> int:
    from appliance.bench.edge import run_edge_command

    return run_edge_command(args)


def _add_detectors(benchmarks: Any) -> None:
    parser = benchmarks.add_parser(
        "detectors", help="the configured detector against OpenCV's HOG: time, finds, steadiness"
    )
    parser.add_argument("--video", default="vtest", help="sample (vtest, bikes) or a path")
    parser.add_argument("--frames", type=int_within(1, None), help="use the first N frames")
    parser.add_argument(
        "--config", type=Path, help="edge YAML whose detector to measure (default: built-in)"
    )
    parser.add_argument(
        "--other",
        type=Path,
        help="edge YAML whose detector to compare it with (default: OpenCV's HOG)",
    )
    parser.add_argument(
        "--picture", type=int_within(0, None), help="draw this frame with both detectors' boxes"
    )
    parser.add_argument(
        "--picture-out",
        type=Path,
        default=Path("docs/detectors-vtest.jpg"),
        help="where the picture goes (default: docs/detectors-vtest.jpg)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    parser.set_defaults(handler=_detectors)


def _detectors(args: argparse.Namespace) -> int:
    from appliance.bench.detectors import run_detectors_command

    return run_detectors_command(args)


def _add_tiny(benchmarks: Any) -> None:
    parser = benchmarks.add_parser(
        "tiny",
        help="the camera's tiny detectors (motion blobs, small YOLO) on the frames it passes",
    )
    parser.add_argument("--video", default="vtest", help="sample (vtest, bikes) or a path")
    parser.add_argument("--frames", type=int_within(1, None), help="use the first N frames")
    parser.add_argument(
        "--config", type=Path, help="edge YAML whose detector is the reference (default: built-in)"
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=Path(DEFAULT_MODEL_PATH),
        help=f"the tiny YOLO model in ONNX (default: {DEFAULT_MODEL_PATH})",
    )
    parser.add_argument(
        "--sizes",
        type=size_list,
        default=[224, 256, 320],
        help="input sides to run it at, comma-separated multiples of 32 (default: 224,256,320)",
    )
    parser.add_argument(
        "--labels",
        type=lambda text: [part.strip() for part in text.split(",") if part.strip()],
        help="labels of interest for the reference and the model, comma-separated (default:"
        " the camera's: person, bicycle, car, motorbike, bus, truck)",
    )
    parser.add_argument(
        "--threads", type=int_within(1, 256), help="onnxruntime threads (default: one per core)"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE_DIR,
        help=f"where the quiet clip is built (default: {DEFAULT_CACHE_DIR})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    parser.set_defaults(handler=_tiny)


def _tiny(args: argparse.Namespace) -> int:
    from appliance.bench.tiny import run_tiny_command

    return run_tiny_command(args)


def _add_uplink(benchmarks: Any) -> None:
    parser = benchmarks.add_parser(
        "uplink", help="bytes to the cloud per camera-hour vs the video and all frames as JPEG"
    )
    parser.add_argument("--video", default="vtest", help="sample (vtest, bikes) or a path")
    parser.add_argument("--frames", type=int_within(1, None), help="use the first N frames")
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    parser.set_defaults(handler=_uplink)


def _uplink(args: argparse.Namespace) -> int:
    from appliance.bench.uplink import run_uplink_command

    return run_uplink_command(args)


def _add_plan(benchmarks: Any) -> None:
    parser = benchmarks.add_parser(
        "plan", help="Edgent exit and partition vs device-only, edge-only, partition, exit only"
    )
    add_exit_arguments(parser, required=False)
    parser.add_argument(
        "--models-dir", type=Path, default=Path(DEFAULT_MODEL_PATH).parent,
        help="where the default exits are built and measured (default: data/models)",
    )  # fmt: skip
    parser.add_argument(
        "--bandwidths", type=float_list, default=[0.25, 0.5, 1, 2, 5, 10, 20, 50],
        help="uplink rates in Mbit/s, comma-separated (default: 0.25 to 50)",
    )  # fmt: skip
    parser.add_argument(
        "--deadlines", type=float_list, default=[100, 200, 300, 500, 1000],
        help="latency requirements in ms, comma-separated (default: 100 to 1000)",
    )  # fmt: skip
    parser.add_argument(
        "--camera-slowdown", type=float, default=10.0,
        help="the camera node is emulated as this many times slower than this CPU (default: 10)",
    )  # fmt: skip
    parser.add_argument("--encoding", default="float16", choices=["float32", "float16", "int8"])
    parser.add_argument(
        "--margin", type=float, default=0.1,
        help="plan for the requirement less this fraction (default: 0.1; 0: none)",
    )  # fmt: skip
    parser.add_argument("--runs", type=int_within(1, 50), default=3, help="timed runs per plan")
    parser.add_argument(
        "--held-out", action="append", default=[], metavar="EXIT",
        help="fit the profile without this exit's model, to measure the regression's error on a"
        " model it never saw (repeatable)",
    )  # fmt: skip
    parser.add_argument("--plot", type=Path, help="write an Edgent-style figure (PNG)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    parser.set_defaults(handler=_plan)


def _add_encoding(benchmarks: Any) -> None:
    parser = benchmarks.add_parser(
        "encoding", help="the edge's detector on the camera's JPEGs (quality, chroma) vs originals"
    )
    parser.add_argument("--video", default="vtest", help="sample (vtest, bikes) or a path")
    parser.add_argument("--frames", type=int_within(1, None), help="use the first N frames")
    parser.add_argument(
        "--every", type=int_within(1, None), default=1, help="measure every N-th frame"
    )
    parser.add_argument(
        "--qualities", type=quality_list, default=[60, 70, 75, 80, 85, 90, 95],
        help="JPEG qualities to try, comma-separated 10-100 (default: 60 to 95)",
    )  # fmt: skip
    parser.add_argument(
        "--chromas", type=chroma_list, default=list(CHROMAS),
        help="chroma subsamplings to try, comma-separated: 420, 444 (default: both)",
    )  # fmt: skip
    parser.add_argument(
        "--config", type=Path, help="edge YAML whose detector to use (default: built-in)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    parser.set_defaults(handler=_encoding)


def _encoding(args: argparse.Namespace) -> int:
    from appliance.bench.encoding import run_encoding_command

    return run_encoding_command(args)


def _plan(args: argparse.Namespace) -> int:
    from appliance.bench.plan_command import run_plan_command

    return run_plan_command(args)


def _filter(args: argparse.Namespace) -> int:
    # Imported here: the benchmark pulls in OpenCV and the detector, other roles need neither.
    from appliance.bench.filter import run_filter_command

    return run_filter_command(args)
