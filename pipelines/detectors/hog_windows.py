"""HOG people detection on regions of a frame, window for window the same as on the whole frame.

OpenCV's `detectMultiScale` scans a pyramid of the frame (scale steps of 1.05) with a window
grid fixed to the frame's corner, then groups the raw window hits. Running it on a crop moves
the grid and the pyramid, and HOG is sensitive to both: on vtest.avi crops agree with the
whole-frame answer only at F1 ~0.84. This module scans the same pyramid levels and the same
grid positions, but only the windows that lie inside the regions (each level is cut with a
margin of real pixels, so no kept window sees an artificial border), then groups the hits as
`detectMultiScale` does. A person inside a region is found exactly as the full scan finds them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pipelines.types import Box

Image = npt.NDArray[np.uint8]
WINDOW_WIDTH = 64
WINDOW_HEIGHT = 128
GROUP_THRESHOLD = 2
"""detectMultiScale's default `finalThreshold`: a group needs more hits than this."""
GROUP_EPS = 0.2


@dataclass(frozen=True)
class WindowHit:
    """One window the SVM accepted, in frame pixels (integers, as OpenCV rounds them)."""

    x: int
    y: int
    width: int
    height: int
    weight: float
    """The SVM margin (detectMultiScale's `foundWeights`)."""

    @property
    def box(self) -> Box:
        return Box(self.x, self.y, self.x + self.width, self.y + self.height)


@dataclass(frozen=True)
class ScanGrid:
    stride: int
    padding: int
    scale_step: float
    tolerance: float = 0.25
    """A window may stick out of its region by this fraction of its own size."""

    def __post_init__(self) -> None:
        if self.stride % 8 or self.padding % 8 or self.scale_step <= 1:
            raise ValueError("HOG window stride and padding must be multiples of 8, scale > 1")


def pyramid_scales(width: int, height: int, step: float, max_levels: int = 64) -> list[float]:
    """The levels detectMultiScale scans: shrink by `step` until the window no longer fits."""
    scales: list[float] = []
    scale = 1.0
    for _ in range(max_levels):
        scales.append(scale)
        if round(width / scale) < WINDOW_WIDTH or round(height / scale) < WINDOW_HEIGHT:
            break
        scale *= step
    return scales


def _window_range(lo: float, hi: float, size: int, level_size: int, grid: ScanGrid) -> range:
    """Grid indices k of windows at -padding + k*stride lying within [lo, hi] (level pixels)."""
    slack = grid.tolerance * size
    first = max(0, math.ceil((lo - slack + grid.padding) / grid.stride))
    last_fit = (level_size + 2 * grid.padding - size) // grid.stride
    last = min(last_fit, math.floor((hi + slack - size + grid.padding) / grid.stride))
    return range(first, last + 1)


def _crop_start(first_window: int, grid: ScanGrid) -> int:
    """A crop origin at least one pixel before the first window, on the frame's window grid."""
    start = first_window - 1
    if start <= 0:
        return 0
    return start - ((start - first_window) % grid.stride)


_pool_lock = threading.Lock()
_shared_pool: ThreadPoolExecutor | None = None


def level_pool() -> ThreadPoolExecutor:
    """The process's pool for scanning pyramid levels in parallel, shared by every camera's
    scanner: one thread per OpenCV thread, not that many idle threads per camera."""
    global _shared_pool
    with _pool_lock:
        if _shared_pool is None:
            _shared_pool = ThreadPoolExecutor(max(1, cv2.getNumThreads()), "hog-levels")
        return _shared_pool


class HogWindowScanner:
    """Raw window hits of an OpenCV HOG people detector inside regions of a frame."""

    def __init__(self, hog: cv2.HOGDescriptor, grid: ScanGrid) -> None:
        self._hog = hog
        self.grid = grid
        self._pool = level_pool()

    def scan(self, frame: Image, regions: Sequence[Box]) -> list[WindowHit]:
        height, width = frame.shape[:2]
        levels = pyramid_scales(width, height, self.grid.scale_step)
        # OpenCV releases the GIL: levels are scanned in parallel, as detectMultiScale does.
        per_level = self._pool.map(lambda scale: self._scan_level(frame, regions, scale), levels)
        return [hit for hits in per_level for hit in hits]

    def _scan_level(self, frame: Image, regions: Sequence[Box], scale: float) -> list[WindowHit]:
        size = (round(frame.shape[1] / scale), round(frame.shape[0] / scale))
        level: Image | None = None
        hits: list[WindowHit] = []
        for region in regions:
            xs = _window_range(
                region.x1 / scale, region.x2 / scale, WINDOW_WIDTH, size[0], self.grid
            )
            ys = _window_range(
                region.y1 / scale, region.y2 / scale, WINDOW_HEIGHT, size[1], self.grid
            )
            if not xs or not ys:
                continue
            if level is None:
                level = _level(frame, size)
            hits.extend(self._scan_windows(level, xs, ys, scale))
        return hits

    def _scan_windows(self, level: Image, xs: range, ys: range, scale: float) -> list[WindowHit]:
        g = self.grid
        wx1, wy1 = -g.padding + g.stride * xs[0], -g.padding + g.stride * ys[0]
        wx2 = -g.padding + g.stride * xs[-1] + WINDOW_WIDTH
        wy2 = -g.padding + g.stride * ys[-1] + WINDOW_HEIGHT
        cx1, cy1 = _crop_start(wx1, g), _crop_start(wy1, g)
        cx2, cy2 = min(wx2 + 1, level.shape[1]), min(wy2 + 1, level.shape[0])
        crop = np.ascontiguousarray(level[cy1:cy2, cx1:cx2])
        found, weights = self._hog.detect(crop, 0, (g.stride, g.stride), (g.padding, g.padding))
        hits = []
        width, height = round(WINDOW_WIDTH * scale), round(WINDOW_HEIGHT * scale)
        for (x, y), weight in zip(np.reshape(found, (-1, 2)), np.ravel(weights), strict=True):
            gx, gy = int(x) + cx1, int(y) + cy1
            # Only the windows asked for: others may have seen the crop's reflected border.
            if wx1 <= gx <= wx2 - WINDOW_WIDTH and wy1 <= gy <= wy2 - WINDOW_HEIGHT:
                hits.append(
                    WindowHit(round(gx * scale), round(gy * scale), width, height, float(weight))
                )
        return hits


def _level(frame: Image, size: tuple[int, int]) -> Image:
    if size == (frame.shape[1], frame.shape[0]):
        return frame
    # The interpolation detectMultiScale uses for its pyramid.
    return np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR_EXACT), np.uint8)


def _similar(a: WindowHit, b: WindowHit, eps: float) -> bool:
    delta = eps * (min(a.width, b.width) + min(a.height, b.height)) * 0.5
    return (
        abs(a.x - b.x) <= delta
        and abs(a.y - b.y) <= delta
        and abs(a.x + a.width - b.x - b.width) <= delta
        and abs(a.y + a.height - b.y - b.height) <= delta
    )


def _clusters(hits: Sequence[WindowHit], eps: float) -> list[list[WindowHit]]:
    """Transitive closure of `_similar` (union-find)."""
    parent = list(range(len(hits)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(hits)):
        for j in range(i):
            if _similar(hits[i], hits[j], eps):
                parent[root(i)] = root(j)
    groups: dict[int, list[WindowHit]] = {}
    for i, hit in enumerate(hits):
        groups.setdefault(root(i), []).append(hit)
    return list(groups.values())


def _inside(inner: WindowHit, outer: WindowHit, eps: float) -> bool:
    dx, dy = round(outer.width * eps), round(outer.height * eps)
    return (
        inner.x >= outer.x - dx
        and inner.y >= outer.y - dy
        and inner.x + inner.width <= outer.x + outer.width + dx
        and inner.y + inner.height <= outer.y + outer.height + dy
    )


def group_hits(
    hits: Sequence[WindowHit], threshold: int = GROUP_THRESHOLD, eps: float = GROUP_EPS
) -> list[WindowHit]:
    """detectMultiScale's grouping: average each cluster of similar windows, keep clusters of
    more than `threshold` hits with their best margin, and drop a small group lying inside a
    larger, better supported one."""
    groups = []
    for cluster in _clusters(hits, eps):
        n = len(cluster)
        rects = np.array([(h.x, h.y, h.width, h.height) for h in cluster], dtype=np.float64)
        x, y, width, height = (int(v) for v in np.round(rects.mean(axis=0)).tolist())
        groups.append((WindowHit(x, y, width, height, max(h.weight for h in cluster)), n))
    supported = [(g, n) for g, n in groups if n > threshold]
    return [
        g
        for g, n in supported
        if not any(
            o is not g and _inside(g, o, eps) and (m > max(3, n) or n < 3) for o, m in supported
        )
    ]
