"""Argument parsing for `appliance plan`: profile this machine, choose a plan for conditions."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from appliance.plan.errors import DEFAULT_PROFILES, PlanError
from appliance.progress import add_quiet_argument, counted, progress_from


def add_plan_parser(roles: Any) -> None:
    plan = roles.add_parser(
        "plan", help="Edgent: profile layer latencies, choose exit and partition point"
    )
    commands = plan.add_subparsers(dest="plan", required=True, metavar="COMMAND")
    _add_profile(commands)
    _add_layout(commands)
    _add_accuracy(commands)
    _add_choose(commands)
    _add_distill(commands)
    for parser in commands.choices.values():
        add_quiet_argument(parser)


def _add_profile(commands: Any) -> None:
    parser = commands.add_parser(
        "profile", help="measure per-layer latency of ONNX models here and fit the regressions"
    )
    parser.add_argument(
        "--model", action="append", required=True, type=Path, help="ONNX model (repeatable)"
    )
    parser.add_argument("--device", required=True, help="role or name of this machine (edge, cam1)")
    parser.add_argument(
        "--output", type=Path, help=f"profile JSON (default: {DEFAULT_PROFILES}/DEVICE.json)"
    )
    parser.add_argument("--runs", type=int, default=20, help="profiled runs per model")
    parser.add_argument("--threads", type=int, help="onnxruntime intra-op threads (default: all)")
    parser.add_argument(
        "--idle-gap-ms", type=float, default=100.0,
        help="idle time before each timed run, as between a camera's frames (default: 100)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.set_defaults(handler=_profile)


def _add_layout(commands: Any) -> None:
    parser = commands.add_parser(
        "layout", help="a model's layers and cut points as JSON (plan without the onnx package)"
    )
    parser.add_argument("--model", required=True, type=Path, help="ONNX model")
    parser.add_argument("--output", required=True, type=Path, help="layout JSON to write")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.set_defaults(handler=_layout)


def _add_accuracy(commands: Any) -> None:
    parser = commands.add_parser(
        "accuracy", help="each exit's detection F1 against the full model on real footage"
    )
    parser.add_argument("--full", required=True, type=Path, help="the full model (ONNX)")
    parser.add_argument(
        "--exit", action="append", required=True, metavar="NAME=MODEL.onnx",
        help="an exit and its model (repeatable)",
    )  # fmt: skip
    parser.add_argument("--video", default="vtest", help="sample (vtest, bikes) or a path")
    parser.add_argument("--frames", type=int, default=50, help="frames to compare (default: 50)")
    parser.add_argument("--step", type=int, default=1, help="use every N-th frame (default: 1)")
    parser.add_argument(
        "--output", type=Path, metavar="FILE",
        help="write the figures as JSON for `plan choose` / `bench plan --accuracy-file`",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_accuracy)


def _add_choose(commands: Any) -> None:
    parser = commands.add_parser(
        "choose", help="the most accurate (exit, partition) that meets a latency requirement"
    )
    add_exit_arguments(parser)
    parser.add_argument("--device-profile", type=Path, required=True)
    parser.add_argument("--edge-profile", type=Path, required=True)
    parser.add_argument("--bandwidth", type=float, required=True, help="uplink in Mbit/s")
    parser.add_argument("--deadline", type=float, required=True, help="requirement in ms")
    parser.add_argument(
        "--encoding", default="float16", choices=["float32", "float16", "int8"],
        help="how crossing tensors are sent (default: float16, zlib-compressed)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_choose)


def _add_distill(commands: Any) -> None:
    parser = commands.add_parser(
        "distill", help="train a light exit head on an earlier feature map (needs torch: train)"
    )
    parser.add_argument("--size", type=int, default=416, help="input side (default: 416)")
    parser.add_argument("--models-dir", type=Path, default=Path("data/models"),
                        help="the default detector's folder (default: data/models)")  # fmt: skip
    parser.add_argument("--cut", metavar="TENSOR",
                        help="feature map the head reads (default: 26x26 at 416 px)")  # fmt: skip
    parser.add_argument(
        "--train", action="append", metavar="CLIP[:START:END[:STEP]]",
        help="frames to train on (repeatable; default: vtest:0:600 and bikes)",
    )  # fmt: skip
    parser.add_argument("--held-out", default="vtest:600:", metavar="CLIP:START:END",
                        help="frames scored, never trained on (default: vtest:600:)")  # fmt: skip
    parser.add_argument("--hidden", type=int, default=128, help="head channels (default: 128)")
    parser.add_argument("--epochs", type=int, default=30, help="default: 30")
    parser.add_argument("--batch", type=int, default=16, help="frames per step (default: 16)")
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default: 1)")
    parser.add_argument("--timing-runs", type=int, default=20, help="timed runs per exit")
    parser.add_argument("--output", type=Path,
                        help="default: MODELS/exits/yolov3-tiny-light-SIZE.onnx")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_distill)


def add_exit_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """`--exit` (repeatable) and `--accuracy-file`, as `plan choose` and `bench plan` take them."""
    default = "" if required else "; none: the default detector's exits, measured on vtest"
    parser.add_argument(
        "--exit", action="append", required=required, metavar="NAME=MODEL.onnx[:ACCURACY]",
        help="an exit, its model and its accuracy against the full model (repeatable); without"
        f" :ACCURACY, the F1 measured in --accuracy-file{default}",
    )  # fmt: skip
    parser.add_argument(
        "--accuracy-file", type=Path, metavar="FILE",
        help="exit accuracies measured on footage (`appliance plan accuracy --output FILE`)",
    )  # fmt: skip


def _profile(args: argparse.Namespace) -> int:
    return _guarded("run_profile", args, f"profiling {counted(len(args.model), 'model')}")


def _layout(args: argparse.Namespace) -> int:
    return _guarded("run_layout", args)


def _accuracy(args: argparse.Namespace) -> int:
    step = f"running {counted(len(args.exit), 'exit')} and the full model"
    return _guarded("run_accuracy", args, step)


def _choose(args: argparse.Namespace) -> int:
    return _guarded("run_choose", args)


def _distill(args: argparse.Namespace) -> int:
    return _guarded("run", args, module="distill_command", name="plan: distill")


def _guarded(
    command: str,
    args: argparse.Namespace,
    long_step: str | None = None,
    module: str = "commands",
    name: str = "plan",
) -> int:
    """Run `command` of `appliance.plan.<module>`, imported only now (it needs the plan extra;
    distill_command also torch, and says so); a `long_step` shows its time on a bar (the work
    reports nothing sooner); errors are one line prefixed with `name`."""
    step = progress_from(args).timed(long_step) if long_step else contextlib.nullcontext()
    try:
        commands = importlib.import_module(f"appliance.plan.{module}")
        with step:
            result = getattr(commands, command)(args)
    except ModuleNotFoundError as exc:
        print(f"appliance: plan: needs the plan extra: pip install -e '.[plan]' ({exc})",
              file=sys.stderr)  # fmt: skip
        return 1
    except (PlanError, OSError, ValueError) as exc:
        print(f"appliance: {name}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result["json"]))
    else:
        print(result["text"])
    return 0
