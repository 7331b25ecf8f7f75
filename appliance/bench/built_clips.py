"""The clips a benchmark names: the registry's samples and the ones built from them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from appliance.bench.distractor_clip import build_distractor_clip
from appliance.bench.quiet_clip import build_quiet_clip
from appliance.sample_clips import resolve_video

BUILT: dict[str, Callable[[Path, Path], object]] = {
    "quiet": build_quiet_clip,
    "distractors": build_distractor_clip,
}
"""Clips built from vtest: quiet (empty scene, people now and then), distractors (things move,
nothing of interest)."""


def bench_video(name: str, cache_dir: Path) -> Path:
    """A sample (vtest, bikes), a clip built from vtest (built once into `cache_dir`), or a path."""
    build = BUILT.get(name)
    if build is None:
        return resolve_video(name)
    target = cache_dir / f"{name}.mp4"
    if not target.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        building = cache_dir / f"{name}.partial.mp4"
        build(resolve_video("vtest"), building)
        building.replace(target)
    return target
