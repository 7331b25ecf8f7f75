"""What `appliance plan distill` does with its arguments and prints."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from appliance.plan.distill import (
    DEFAULT_CUT,
    TRAIN_FRAMES,
    DistillResult,
    DistillSettings,
    run_distill,
)
from appliance.plan.distill_data import parse_range
from appliance.plan.distill_export import LIGHT_KIND
from appliance.plan.errors import PlanError
from appliance.progress import progress_from

Result = dict[str, Any]


def light_exit_path(models_dir: Path, size: int) -> Path:
    from appliance.plan.default_exits import EXITS_DIR, MODEL

    return models_dir / EXITS_DIR / f"{MODEL}-{LIGHT_KIND}-{size}.onnx"


def settings_from(args: argparse.Namespace) -> DistillSettings:
    """The default detector's files (built or fetched where missing) and the arguments."""
    from appliance.models.darknet.pull import SOURCES_DIR
    from appliance.models.darknet.release import RELEASES, fetch_release
    from appliance.plan import default_exits

    if args.size not in default_exits.EXIT_SIZES:
        sizes = ", ".join(map(str, default_exits.EXIT_SIZES))
        raise PlanError(f"--size {args.size}: the default exits come at {sizes}")
    exits = {e.name: e.path for e in default_exits.exit_models(args.models_dir)}
    full, coarse = exits[f"full-{args.size}"], exits[f"coarse-{args.size}"]
    release = fetch_release(RELEASES[default_exits.MODEL], args.models_dir / SOURCES_DIR)
    return DistillSettings(
        reference=default_exits.reference_model(args.models_dir),
        full_exit=full,
        cfg=release.cfg,
        output=args.output or light_exit_path(args.models_dir, args.size),
        cut=args.cut or DEFAULT_CUT,
        train=tuple(parse_range(t) for t in args.train) if args.train else TRAIN_FRAMES,
        held_out=parse_range(args.held_out),
        hidden=args.hidden,
        epochs=args.epochs,
        batch=args.batch,
        seed=args.seed,
        threads=args.threads,
        compare={f"coarse-{args.size}": coarse, f"full-{args.size}": full},
        timing_runs=args.timing_runs,
    )


def run(args: argparse.Namespace) -> Result:
    result = run_distill(settings_from(args), progress_from(args))
    return {"json": summary(result), "text": text(result)}


def summary(result: DistillResult) -> dict[str, Any]:
    return {
        "output": str(result.output),
        "train_frames": result.train_frames,
        "teacher_boxes": result.teacher_boxes,
        "loss_first_epoch": round(result.losses[0], 3),
        "loss_last_epoch": round(result.losses[-1], 3),
        "features_s": round(result.features_s, 1),
        "training_s": round(result.training_s, 1),
        "exits": [{**asdict(e), "f1_per_ms": round(e.f1_per_ms, 5)} for e in result.exits],
    }


def text(result: DistillResult) -> str:
    lines = [
        f"distilled {result.output} from {result.teacher_boxes} teacher boxes on"
        f" {result.train_frames} frames (features {result.features_s:.0f} s, training"
        f" {result.training_s:.0f} s; loss per frame {result.losses[0]:.1f} -> "
        f"{result.losses[-1]:.1f})",
        f"on {result.exits[0].frames} held-out frames, against the default detector:",
    ]
    lines += [
        f"  {e.name:<12} F1 {e.f1:.3f}  {e.ms:7.1f} ms  F1 per 100 ms {100 * e.f1_per_ms:.3f}"
        f"  ({e.detections} detections, reference {e.reference_detections})"
        for e in result.exits
    ]
    return "\n".join(lines)
