"""Exit accuracies for the planner: declared on the command line or measured on footage.

`appliance plan accuracy --output FILE` writes each exit's F1 against the full model (and how
it was measured) as JSON; `plan choose` and `bench plan` take `--exit NAME=MODEL.onnx` with
`--accuracy-file FILE` and plan with the measured F1. `NAME=MODEL.onnx:ACCURACY` declares it
instead (a declared value wins over the file).

Nothing here needs the onnx package.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.plan.errors import PlanError
from cameras.exit_accuracy_file import AccuracyFileError, MeasuredExit, read_accuracies

if TYPE_CHECKING:
    from appliance.plan.accuracy import ExitAccuracy

log = logging.getLogger(__name__)

EXIT_FORMAT = "NAME=MODEL.onnx[:ACCURACY]"


@dataclass(frozen=True)
class ExitSpec:
    """One `--exit` argument; `accuracy` is None when it is to come from the accuracy file."""

    name: str
    path: Path
    accuracy: float | None


@dataclass(frozen=True)
class PlannedExit:
    """An exit with the accuracy the planner uses and where that figure comes from."""

    name: str
    path: Path
    accuracy: float
    source: str
    """`declared`, or `measured: F1 on N frames of VIDEO`."""


def parse_exit(text: str) -> ExitSpec:
    """`NAME=MODEL.onnx:ACCURACY` or `NAME=MODEL.onnx` -> its parts."""
    name, sep, rest = text.partition("=")
    if not sep or not name or not rest:
        raise PlanError(f"--exit {text!r}: expected {EXIT_FORMAT}")
    model, colon, accuracy = rest.rpartition(":")
    if not colon:
        return ExitSpec(name, Path(rest), None)
    if not model:
        raise PlanError(f"--exit {text!r}: expected {EXIT_FORMAT}")
    try:
        value = float(accuracy)
    except ValueError:
        raise PlanError(f"--exit {text!r}: accuracy {accuracy!r} is not a number") from None
    if not 0 <= value <= 1:
        raise PlanError(f"--exit {text!r}: accuracy must be within [0, 1]")
    return ExitSpec(name, Path(model), value)


def measured_exits(
    results: Sequence[ExitAccuracy], models: Mapping[str, Path], full: Path, video: str
) -> dict[str, MeasuredExit]:
    measured = {}
    for r in results:
        figures = {k: v for k, v in asdict(r).items() if k != "name"}
        measured[r.name] = MeasuredExit(
            **figures, model=str(models[r.name]), full_model=str(full), video=video
        )
    return measured


def save_accuracies(measured: Mapping[str, MeasuredExit], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {name: m.model_dump() for name, m in measured.items()}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def load_accuracies(path: Path) -> dict[str, MeasuredExit]:
    try:
        return read_accuracies(path)
    except AccuracyFileError as exc:
        raise PlanError(str(exc)) from None


def resolve_exits(texts: Sequence[str], accuracy_file: Path | None) -> list[PlannedExit]:
    """Every `--exit` with its accuracy: declared, else measured in `accuracy_file`."""
    specs = [parse_exit(text) for text in texts]
    undeclared = [s for s in specs if s.accuracy is None]
    if undeclared and accuracy_file is None:
        raise PlanError(
            f"--exit {undeclared[0].name}: no accuracy: declare it ({EXIT_FORMAT}) or give"
            " --accuracy-file from `appliance plan accuracy --output`"
        )
    measured = load_accuracies(accuracy_file) if accuracy_file is not None else {}
    planned = []
    for spec in specs:
        if not spec.path.is_file():
            raise PlanError(f"{spec.path}: model file not found")
        planned.append(_planned(spec, measured, accuracy_file))
    return planned


def _planned(
    spec: ExitSpec, measured: Mapping[str, MeasuredExit], accuracy_file: Path | None
) -> PlannedExit:
    if spec.accuracy is not None:
        return PlannedExit(spec.name, spec.path, spec.accuracy, "declared")
    found = measured.get(spec.name)
    if found is None:
        known = ", ".join(sorted(measured)) or "none"
        raise PlanError(
            f"--exit {spec.name}: {accuracy_file} has no accuracy for exit {spec.name!r}"
            f" (it has: {known})"
        )
    if Path(found.model).name != spec.path.name:
        log.warning(
            "exit %s: %s measured %s, not %s", spec.name, accuracy_file, found.model, spec.path
        )
    source = f"measured: F1 on {found.frames} frames of {found.video}"
    return PlannedExit(spec.name, spec.path, found.f1, source)
