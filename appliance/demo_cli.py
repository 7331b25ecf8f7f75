"""`appliance demo [--ui]`: its arguments and how they reach appliance/demo.py and demo_ui.py."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from appliance.config_loader import load_config
from appliance.progress import add_quiet_argument

UI_ONLY = ("ui_port",)
SUMMARY_ONLY = ("json", "frames")


def add_demo_parser(roles: Any) -> None:
    """`roles`: the subparsers of `appliance` (argparse's private type)."""
    demo: argparse.ArgumentParser = roles.add_parser(
        "demo", help="edge box + camera node on real sample footage (--ui: with the UI, looping)"
    )
    demo.add_argument("--config", type=Path, help="demo YAML (default: built-in settings)")
    demo.add_argument(
        "--video",
        action="append",
        help="sample name (vtest, bikes) or video file path (default vtest; with --ui, repeat"
        " it for several cameras, default vtest and bikes)",
    )
    demo.add_argument("--frames", type=int, help="stop after this many frames")
    demo.add_argument("--data-dir", type=Path, help="where run folders are created")
    demo.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    demo.add_argument(
        "--ui",
        action="store_true",
        help="loop the clips as live cameras and serve the monitoring UI until Ctrl-C",
    )
    demo.add_argument("--ui-port", type=_port, help="the UI's port (default 8501, else a free one)")
    add_quiet_argument(demo)
    demo.set_defaults(handler=_demo, demo_parser=demo)


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port (1 to 65535)")
    return port


def _check(args: argparse.Namespace) -> None:
    parser: argparse.ArgumentParser = args.demo_parser
    wrong = SUMMARY_ONLY if args.ui else UI_ONLY
    for name in wrong:
        if getattr(args, name) not in (None, False):
            other = "without --ui" if args.ui else "with --ui"
            parser.error(f"--{name.replace('_', '-')} works only {other}")
    if not args.ui and args.video and len(args.video) > 1:
        parser.error("--video: one clip without --ui (with --ui, one camera per --video)")


def _demo(args: argparse.Namespace) -> int:
    from appliance.demo_config import DemoConfig

    _check(args)
    config = load_config(args.config, DemoConfig) if args.config else DemoConfig()
    overrides = {"frames": args.frames, "data_dir": args.data_dir}
    if args.video and not args.ui:
        overrides["video"] = args.video[0]
    config = config.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    if args.ui:
        from appliance.demo_ui import UI_SAMPLES, run_demo_ui

        return run_demo_ui(config, args.video or UI_SAMPLES, args.ui_port, args.quiet)
    from appliance.demo import format_summary, run_demo

    summary = run_demo(config, quiet=args.quiet)
    print(json.dumps(asdict(summary)) if args.json else format_summary(summary))
    return 0
