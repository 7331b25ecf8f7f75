"""What `appliance plan profile | layout | accuracy | choose` do and print."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from appliance.plan.errors import DEFAULT_PROFILES, PlanError
from appliance.plan.exit_accuracies import (
    PlannedExit,
    measured_exits,
    resolve_exits,
    save_accuracies,
)
from appliance.plan.profile import ProfileSettings, load_profile, profile_device, save_profile
from pipelines.edgent.codec import BYTES_PER_ELEMENT
from pipelines.edgent.planner import STRATEGIES, Conditions, Estimator, Exit, Link, Plan, search
from pipelines.edgent.regression import DeviceProfile

Result = dict[str, Any]


def run_profile(args: argparse.Namespace) -> Result:
    if not 0 <= args.idle_gap_ms <= 10_000:
        raise PlanError(f"--idle-gap-ms {args.idle_gap_ms:g}: must be within [0, 10000]")
    for path in args.model:
        if not path.is_file():
            raise PlanError(f"{path}: model file not found")
    settings = ProfileSettings(
        args.device, tuple(args.model), args.runs, args.threads, idle_gap_ms=args.idle_gap_ms
    )
    profile = profile_device(settings)
    output = args.output or DEFAULT_PROFILES / f"{args.device}.json"
    save_profile(profile, output)
    return {"json": _profile_summary(profile, output), "text": _profile_text(profile, output)}


def _profile_summary(profile: DeviceProfile, output: Path) -> dict[str, Any]:
    return {
        "device": profile.device,
        "output": str(output),
        "op_types": {op: fit.samples for op, fit in profile.fits.items() if op != "*"},
        "scale": round(profile.scale, 4),
        "overhead_ms": round(profile.overhead_ms, 4),
        "models": profile.meta.get("models", {}),
    }


def _profile_text(profile: DeviceProfile, output: Path) -> str:
    summary = _profile_summary(profile, output)
    lines = [f"profiled {profile.device}: written to {output}"]
    for name, figures in summary["models"].items():
        lines.append(f"  {name}: {figures['wall_ms']:.2f} ms per run")
    ops = ", ".join(f"{op} {n}" for op, n in sorted(summary["op_types"].items()))
    lines.append(f"  layers per op type: {ops}")
    lines.append(f"  run overhead {profile.overhead_ms:.3f} ms, profiler scale {profile.scale:.3f}")
    return "\n".join(lines)


def run_layout(args: argparse.Namespace) -> Result:
    from appliance.plan.profile import load_model
    from pipelines.edgent.split import model_layout

    if not args.model.is_file():
        raise PlanError(f"{args.model}: model file not found")
    layout = model_layout(load_model(args.model), args.model.stem)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(layout.to_dict()) + "\n")
    summary = {"model": str(args.model), "output": str(args.output), "layers": len(layout.layers)}
    text = (
        f"{args.model}: {len(layout.layers)} layers, {len(layout.cuts)} cut points -> {args.output}"
    )
    return {"json": summary, "text": text}


def run_accuracy(args: argparse.Namespace) -> Result:
    from appliance.plan.accuracy import exit_accuracy

    exits: dict[str, Path] = {}
    for text in args.exit:
        name, sep, model = text.partition("=")
        if not sep or not name or not model:
            raise PlanError(f"--exit {text!r}: expected NAME=MODEL.onnx")
        exits[name] = Path(model)
    for path in [args.full, *exits.values()]:
        if not path.is_file():
            raise PlanError(f"{path}: model file not found")
    results = exit_accuracy(args.full, exits, args.video, args.frames, args.step)
    lines = [
        f"against {args.full} on {results[0].frames if results else 0} frames of {args.video}:"
    ]
    lines += [
        f"  {r.name:<12} F1 {r.f1:.3f}  count accuracy {r.count_accuracy:.3f}"
        f"  ({r.detections} detections, full model {r.reference_detections})"
        for r in results
    ]
    payload: dict[str, Any] = {"exits": [asdict(r) for r in results]}
    if args.output is not None:
        save_accuracies(measured_exits(results, exits, args.full, args.video), args.output)
        payload["output"] = str(args.output)
        lines.append(f"written to {args.output} (use it with --accuracy-file)")
    return {"json": payload, "text": "\n".join(lines)}


def load_exits(planned: list[PlannedExit]) -> list[Exit]:
    from appliance.plan.profile import load_model
    from pipelines.edgent.split import model_layout

    return [Exit(e.name, e.accuracy, model_layout(load_model(e.path), e.name)) for e in planned]


def run_choose(args: argparse.Namespace) -> Result:
    planned = resolve_exits(args.exit, args.accuracy_file)
    exits = load_exits(planned)
    estimator = Estimator(
        load_profile(args.device_profile),
        load_profile(args.edge_profile),
        Link(bytes_per_element=float(BYTES_PER_ELEMENT[args.encoding])),
    )
    now = Conditions(bandwidth_bps=args.bandwidth * 1e6)
    plans = {name: search(exits, estimator, now, args.deadline, name) for name in STRATEGIES}
    payload = {
        "bandwidth_mbps": args.bandwidth,
        "deadline_ms": args.deadline,
        "exits": {e.name: {"accuracy": e.accuracy, "source": e.source} for e in planned},
        "plans": {name: plan_dict(plan) for name, plan in plans.items()},
    }
    text = _choose_text(plans, args.bandwidth, args.deadline) + "\n" + _exits_text(planned)
    return {"json": payload, "text": text}


def _exits_text(planned: list[PlannedExit]) -> str:
    lines = ["exit accuracies:"]
    lines += [f"  {e.name:<12} {e.accuracy:.3f}  ({e.source})" for e in planned]
    return "\n".join(lines)


def plan_dict(plan: Plan) -> dict[str, Any]:
    return {**asdict(plan), "total_ms": plan.total_ms}


def _choose_text(plans: dict[str, Plan], mbps: float, deadline: float) -> str:
    lines = [f"at {mbps:g} Mbit/s, requirement {deadline:g} ms:"]
    lines.append(f"  {'strategy':<15}{'exit':<12}{'partition':<40}{'ms':>9}  meets")
    for name, p in plans.items():
        lines.append(
            f"  {name:<15}{p.exit:<12}{p.cut_label[:38]:<40}{p.total_ms:>9.1f}  "
            f"{'yes' if p.meets else 'no'}"
        )
    return "\n".join(lines)
