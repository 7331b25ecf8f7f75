"""A YOLO model on changed regions of a frame, seeing them as it sees them in the whole frame.

The cascade's regions exit asks the detector for what it would find in the whole frame, for the
objects inside the regions. A CNN sees an object the same way in a crop as in the whole picture
when the crop has the same scale, sits on the same stride grid (convolutions and max-pools
line up cell for cell) and holds enough real picture around the object (its receptive field
reaches past the object's box). So each region is mapped into the letterboxed picture the full
pass feeds the model, grown by some context, aligned outward to the model's stride, and cut
from that very picture; overlapping crops are merged. Crops of one shape run as one batch.

Candidates of a crop that reach (within `EDGE_TOLERANCE`) an edge of the crop lying inside
the picture are dropped before NMS: they may be objects cut in half by the crop. The crops'
candidates go through the same decoding as a full pass (threshold, class-aware NMS across
crops, back to frame pixels), and only detections lying mostly inside a region are kept: the
cascade keeps its earlier detections elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pipelines.detectors.letterbox import Letterbox
from pipelines.types import Box, Detection

Image = npt.NDArray[np.uint8]
Output = npt.NDArray[np.float32]
EDGE_TOLERANCE = 2.0
"""Model-input pixels: a candidate box this near an inner crop edge may be a cut object."""
WHOLE_SHARE = 0.7
"""Crops covering this share of the picture cost about a full pass: run the full pass (exact)."""
MIN_INSIDE = 0.5
"""Share of a detection's box that must lie inside the regions for it to be reported."""


@dataclass(frozen=True)
class Tile:
    """A crop of the letterboxed picture, in its pixels; sides are multiples of the stride."""

    x1: int
    y1: int
    x2: int
    y2: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.y2 - self.y1, self.x2 - self.x1

    @property
    def area(self) -> int:
        return (self.x2 - self.x1) * (self.y2 - self.y1)

    def overlaps(self, other: Tile) -> bool:
        return (
            self.x1 < other.x2 and other.x1 < self.x2 and self.y1 < other.y2 and other.y1 < self.y2
        )

    def union(self, other: Tile) -> Tile:
        return Tile(
            min(self.x1, other.x1),
            min(self.y1, other.y1),
            max(self.x2, other.x2),
            max(self.y2, other.y2),
        )


def plan_tiles(
    regions: Sequence[Box],
    placement: Letterbox,
    picture: tuple[int, int],
    stride: int,
    context: int,
) -> list[Tile]:
    """The crops of the letterboxed picture (`picture` = its height, width, multiples of
    `stride`) covering `regions` (frame pixels) with `context` pixels around them, out to the
    stride grid, merged where they overlap; the whole picture when they would cover
    `WHOLE_SHARE` of it."""
    height, width = picture
    tiles: list[Tile] = []
    for r in regions:
        x1 = r.x1 * placement.scale + placement.pad_x - context
        y1 = r.y1 * placement.scale + placement.pad_y - context
        x2 = r.x2 * placement.scale + placement.pad_x + context
        y2 = r.y2 * placement.scale + placement.pad_y + context
        tx1, tx2 = _span(x1, x2, width, stride)
        ty1, ty2 = _span(y1, y2, height, stride)
        if tx2 > tx1 and ty2 > ty1:
            tiles.append(Tile(tx1, ty1, tx2, ty2))
    tiles = merge_tiles(tiles)
    if sum(t.area for t in tiles) >= WHOLE_SHARE * width * height:
        return [Tile(0, 0, width, height)]
    return tiles


def _span(lo: float, hi: float, limit: int, stride: int) -> tuple[int, int]:
    """[lo, hi] within [0, limit], grown outwards to multiples of `stride`."""
    lo, hi = max(0.0, lo), min(float(limit), hi)
    if hi <= lo:
        return 0, 0
    return math.floor(lo / stride) * stride, min(limit, math.ceil(hi / stride) * stride)


def merge_tiles(tiles: Sequence[Tile]) -> list[Tile]:
    """Replace overlapping tiles by their union until none overlap."""
    merged: list[Tile] = []
    for tile in tiles:
        while True:
            hit = next((i for i, m in enumerate(merged) if m.overlaps(tile)), None)
            if hit is None:
                break
            tile = tile.union(merged.pop(hit))
        merged.append(tile)
    return merged


def tile_candidates(
    picture: Image,
    tiles: Sequence[Tile],
    infer: Callable[[list[Image]], Output],
    batches: bool,
) -> Output:
    """Every tile's candidates as one `[1, 4+C, N]` output in the picture's pixels, as the
    model's output for the whole picture would hold them. `infer` runs crops of one shape
    (as one batch when the model `batches`, else one at a time) and returns `[B, 4+C, N]`."""
    runs: dict[tuple[int, int], list[Tile]] = {}
    for tile in tiles:
        runs.setdefault(tile.shape, []).append(tile)
    height, width = picture.shape[:2]
    parts: list[Output] = []
    for same_shape in runs.values():
        for run in [same_shape] if batches else [[t] for t in same_shape]:
            output = infer([picture[t.y1 : t.y2, t.x1 : t.x2] for t in run])
            for tile, rows in zip(run, output, strict=True):
                parts.append(_placed(rows, tile, width, height))
    return np.concatenate(parts, axis=1)[np.newaxis]


def _placed(rows: Output, tile: Tile, width: int, height: int) -> Output:
    """One tile's `[4+C, N]` candidates moved into picture pixels, without those that reach an
    edge of the tile inside the picture (objects the crop may have cut)."""
    cx, cy, w, h = rows[0], rows[1], rows[2], rows[3]
    tile_h, tile_w = tile.shape
    cut = np.zeros(rows.shape[1], dtype=np.bool_)
    if tile.x1 > 0:
        cut |= cx - w / 2 < EDGE_TOLERANCE
    if tile.y1 > 0:
        cut |= cy - h / 2 < EDGE_TOLERANCE
    if tile.x2 < width:
        cut |= cx + w / 2 > tile_w - EDGE_TOLERANCE
    if tile.y2 < height:
        cut |= cy + h / 2 > tile_h - EDGE_TOLERANCE
    kept = rows[:, ~cut].copy()
    kept[0] += tile.x1
    kept[1] += tile.y1
    return kept


def inside_regions(
    found: Sequence[Detection], regions: Sequence[Box], min_inside: float = MIN_INSIDE
) -> list[Detection]:
    """The detections with at least `min_inside` of their box inside the (disjoint) regions."""
    return [d for d in found if _share_inside(d.box, regions) >= min_inside]


def _share_inside(box: Box, regions: Sequence[Box]) -> float:
    if box.area <= 0:
        return 0.0
    inside = 0.0
    for r in regions:
        ix = min(box.x2, r.x2) - max(box.x1, r.x1)
        iy = min(box.y2, r.y2) - max(box.y1, r.y1)
        if ix > 0 and iy > 0:
            inside += ix * iy
    return min(1.0, inside / box.area)
