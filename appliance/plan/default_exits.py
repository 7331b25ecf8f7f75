"""The trained default detector's exits, what `appliance bench plan` plans with by default.

YOLOv3-tiny (Darknet's COCO weights, fetched and checked at set-up) has two heads. The coarse
13x13 one (stride 32) comes out before the upsample branch that feeds the fine 26x26 one, so a
model of the backbone and that head alone is an early exit that needs no training: every cut of
it is a cut of the full model. With input sizes 256 to 608 this gives a family of exits, each
a static-input ONNX model (Edgent's profiles and splits need fixed shapes) kept under
`<models>/exits/`. Their accuracies are measured, not declared: each exit's detections on real
footage against the default detector (the full model at 416 px) on the original frames, cached
beside them. The full exits also come as INT8 (`full-320-int8`: appliance/plan/int8_exits.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from appliance.models.darknet.convert import CONVERTER_VERSION, ConvertSettings, convert
from appliance.models.darknet.pull import SOURCES_DIR, built_from, pull_darknet
from appliance.models.darknet.release import RELEASES, fetch_release
from appliance.plan.distilled_exits import distilled_exits
from appliance.plan.exit_accuracies import (
    PlannedExit,
    load_accuracies,
    measured_exits,
    save_accuracies,
)
from appliance.plan.int8_exits import INT8_BUILD, build_int8_exit, int8_build, int8_name, int8_path
from cameras.exit_accuracy_file import MeasuredExit

log = logging.getLogger(__name__)

MODEL = "yolov3-tiny"
REFERENCE_SIZE = 416
"""The default detector's input side: the reference every exit is scored against."""
EXIT_SIZES = (256, 320, 416, 608)
HEADS: dict[str, tuple[int, ...] | None] = {"full": None, "coarse": (0,)}
"""Exit kinds: every head, or the coarse head alone (head 0, before the upsample branch)."""
EXITS_DIR = "exits"
ACCURACY_VIDEO = "vtest"
ACCURACY_FRAMES = 60
ACCURACY_STEP = 13
"""60 frames spread over vtest's 795 (every 13th): the whole clip, not its first seconds."""
INT8_HEADS = ("full",)
"""Exit kinds that also come as INT8 (`full-320-int8`, appliance/plan/int8_exits.py)."""


@dataclass(frozen=True)
class DefaultExit:
    name: str
    """`<heads>-<size>`, e.g. `coarse-320`."""
    path: Path
    size: int
    heads: str


def exit_models(models_dir: Path) -> list[DefaultExit]:
    """Every exit's model, built from the checked Darknet release where missing or stale."""
    spec = RELEASES[MODEL]
    folder = models_dir / EXITS_DIR
    exits = [
        DefaultExit(f"{kind}-{size}", folder / f"{MODEL}-{kind}-{size}.onnx", size, kind)
        for kind in HEADS
        for size in EXIT_SIZES
    ]
    stale = [e for e in exits if built_from(e.path) != (spec.weights.sha256, CONVERTER_VERSION)]
    if stale:
        fetched = fetch_release(spec, models_dir / SOURCES_DIR)
        for made in stale:
            log.info("building exit %s (%s)", made.name, made.path)
            convert(
                ConvertSettings(
                    fetched.cfg,
                    fetched.weights,
                    fetched.names,
                    made.path,
                    made.size,
                    HEADS[made.heads],
                    static=True,
                )
            )
    return exits + _int8_exits(exits, stale)


def _int8_exits(exits: list[DefaultExit], stale: list[DefaultExit]) -> list[DefaultExit]:
    """INT8 variants, quantised (in seconds) where missing or their FP32 source was rebuilt."""
    made = []
    for source in (e for e in exits if e.heads in INT8_HEADS):
        variant = DefaultExit(
            int8_name(source.name), int8_path(source.path), source.size, source.heads
        )
        if source in stale or int8_build(variant.path) != INT8_BUILD:
            log.info("building exit %s (%s)", variant.name, variant.path)
            build_int8_exit(source.path, variant.path, source.size, ACCURACY_VIDEO, ACCURACY_STEP)
        made.append(variant)
    return made


def reference_model(models_dir: Path) -> Path:
    """The default detector (the full model at 416 px, as set-up pulls it)."""
    result = pull_darknet(RELEASES[MODEL], REFERENCE_SIZE, models_dir)
    return result.onnx_path


def exit_accuracies(models_dir: Path, exits: list[DefaultExit]) -> dict[str, MeasuredExit]:
    """Each exit's measured F1 on ACCURACY_VIDEO, from the cache beside the models when it
    holds every exit measured the same way, else measured now (a minute or two) and cached."""
    video, frames, step = ACCURACY_VIDEO, ACCURACY_FRAMES, ACCURACY_STEP
    cache = models_dir / EXITS_DIR / f"accuracy-{Path(video).stem}-{frames}x{step}.json"
    if cache.is_file():
        cached = load_accuracies(cache)
        if all(e.name in cached and Path(cached[e.name].model).name == e.path.name for e in exits):
            return cached
    from appliance.plan.accuracy import exit_accuracy

    full = reference_model(models_dir)
    paths = {e.name: e.path for e in exits}
    log.info("measuring %d exits on %d frames of %s", len(exits), frames, video)
    results = exit_accuracy(full, paths, video, frames, step)
    measured = measured_exits(results, paths, full, video)
    save_accuracies(measured, cache)
    return measured


def default_planned_exits(models_dir: Path) -> list[PlannedExit]:
    """The default family with measured accuracies (what `bench plan` uses without --exit), and
    any light exit `appliance plan distill` made (appliance/plan/distilled_exits.py)."""
    exits = exit_models(models_dir)
    measured = exit_accuracies(models_dir, exits)
    return [
        PlannedExit(
            e.name,
            e.path,
            measured[e.name].f1,
            f"measured: F1 on {measured[e.name].frames} frames of {measured[e.name].video}",
        )
        for e in exits
    ] + distilled_exits(models_dir / EXITS_DIR, RELEASES[MODEL].weights.sha256)
