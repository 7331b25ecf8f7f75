"""`appliance`: one command, a subcommand per role."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from appliance.config_loader import ConfigError, load_config
from appliance.malloc_arenas import limit_malloc_arenas

log = logging.getLogger("appliance")

EXIT_RUNTIME_ERROR = 1
EXIT_CONFIG_ERROR = 2


def _edge(args: argparse.Namespace) -> int:
    from appliance.edge.config import EdgeConfig

    # The config first: a mistake in it is reported before the box's modules load (seconds).
    config = load_config(args.config, EdgeConfig)
    from appliance.edge.box import EdgeBox
    from appliance.edge.server import serve

    if args.port is not None:
        config.listen.port = args.port
    if args.data_dir is not None:
        config.data_dir = args.data_dir
    box = EdgeBox(config)
    serve(box, config.listen.host, config.listen.port, args.log_level.lower())
    return 0


def _camera(args: argparse.Namespace) -> int:
    from cameras.config import CameraConfig

    config = load_config(args.config, CameraConfig)  # before the node's modules, as the edge's
    from appliance.service.liveness import ServiceLiveness
    from cameras.process_memory import peak_rss_mb
    from cameras.runtime import run_camera_node

    stop = threading.Event()
    # Under systemd: READY=1 at the first frame, watchdog fed while frames (or retries) go on.
    with ServiceLiveness.from_environment(f"camera node {config.id}") as live:

        def terminate(*_: object) -> None:
            stop.set()
            live.stopping()

        signal.signal(signal.SIGTERM, terminate)
        stats = run_camera_node(config, max_frames=args.frames, stop=stop, heartbeat=live.beat)
    print(json.dumps({**asdict(stats), "peak_rss_mb": peak_rss_mb()}))
    return 0


def _ui(args: argparse.Namespace) -> int:
    from appliance.ui_launcher import run_ui
    from ui.config import UiConfig

    config = load_config(args.config, UiConfig)
    if args.port is not None:
        config.port = args.port
    return run_ui(args.config, config)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="appliance",
        description="Smart-camera video analytics edge appliance.",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    roles = parser.add_subparsers(dest="role", required=True, metavar="ROLE")

    edge = roles.add_parser("edge", help="run the edge box: frame API, detection, tracking, store")
    edge.add_argument("--config", type=Path, default=Path("configs/edge.yaml"))
    edge.add_argument("--port", type=int, help="override listen.port")
    edge.add_argument("--data-dir", type=Path, help="override data_dir")
    edge.set_defaults(handler=_edge)

    camera = roles.add_parser("camera", help="run a camera node: read, filter, send to the edge")
    camera.add_argument("--config", type=Path, default=Path("configs/camera.yaml"))
    camera.add_argument("--frames", type=int, help="stop after this many frames")
    camera.set_defaults(handler=_camera)

    from appliance.demo_cli import add_demo_parser

    add_demo_parser(roles)

    ui = roles.add_parser("ui", help="run the monitoring UI (Streamlit) on the edge's HTTP API")
    ui.add_argument("--config", type=Path, default=Path("configs/ui.yaml"))
    ui.add_argument("--port", type=int, help="override port")
    ui.set_defaults(handler=_ui)

    from appliance.bench.cli import add_bench_parser
    from appliance.cloud.cli import add_cloud_parser
    from appliance.models.cli import add_models_parser
    from appliance.plan.cli import add_plan_parser
    from appliance.service.cli import add_service_parser

    add_bench_parser(roles)
    add_cloud_parser(roles)
    add_models_parser(roles)
    add_plan_parser(roles)
    add_service_parser(roles)
    return parser


KNOWN_ERRORS = (
    ("appliance.sample_clips", "FootageError"),
    ("appliance.edge.store", "StoreError"),
    ("cameras.sources", "SourceError"),
    ("cameras.edge_client", "UplinkError"),
    ("pipelines.detectors.yolo_settings", "ModelError"),
    ("appliance.models.errors", "ModelToolError"),
)
"""Errors a role reports in one line. A role's install may lack another role's packages (a
camera node has no SQLAlchemy, maybe no onnxruntime): those errors cannot occur there."""


def _known_errors() -> tuple[type[Exception], ...]:
    found: list[type[Exception]] = []
    for module, name in KNOWN_ERRORS:
        try:
            found.append(getattr(importlib.import_module(module), name))
        except ImportError:
            continue
    return tuple(found)


def main(argv: Sequence[str] | None = None) -> int:
    limit_malloc_arenas()  # before any thread starts: their arenas are what grows
    args = build_parser().parse_args(argv)
    # --quiet (long commands): stderr then carries warnings and errors only, unless asked for more.
    quiet = getattr(args, "quiet", False) and args.log_level == "INFO"
    logging.basicConfig(
        level="WARNING" if quiet else args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.log_level != "DEBUG":
        # httpx logs every request at INFO: a camera node would log each frame it sends.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"appliance: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except _known_errors() as exc:
        print(f"appliance: {args.role}: {exc}", file=sys.stderr)
        return EXIT_RUNTIME_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error of ours, and nothing left to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
