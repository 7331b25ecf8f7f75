"""Where the edge's tracked objects went, followed on the camera through every frame it reads.

The edge analyses a few frames a second; between two of them a walker moves about a box width
and its tracker must guess where (constant velocity): in a crowd the guess lands on a
neighbour or on nobody, and one person's event breaks into several. The camera sees every
frame. It seeds corner points in each box of the edge's last answer (the centre of the box,
leaving out where other boxes overlap it: background and neighbours move otherwise), follows
them frame to frame with pyramidal Lucas-Kanade, drops a point whose backward track does not
come home (occluded, lost), and sends with its next frame how far each track's box moved: the
median shift of its surviving points. The edge's tracker looks for each object there
(`IouTracker.update(moved=...)`), as DeepStream's tracker fills the frames its detector skips.

Frames are followed at `scale` in grey; those read while the edge's answer is on its way are
kept (up to `max_frames`) so that the answer's boxes are followed from the frame they are on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np
import numpy.typing as npt

from pipelines.types import Box

Image = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float32]
_LK_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)


@dataclass(frozen=True)
class BoxMotionSettings:
    scale: float = 0.5
    """Frames are followed at this share of their size (vtest at 384x288: 1-2 ms a frame)."""
    core: float = 0.6
    """Points are seeded in this central share of a box's width and height, none where another
    box lies: its edges are background or a neighbour (vtest, every 5th frame, event precision
    and one-event-per-person recall: 0.71 / 0.94 guessing by velocity, 0.98 / 0.77 seeding
    whole boxes, 0.81 / 0.89 the middle half, 0.90 / 0.83 the middle 60%)."""
    points_per_box: int = 40
    min_points: int = 3
    """A box with fewer surviving points has no measured shift (the tracker guesses)."""
    max_backward_error_px: float = 0.5
    """A point tracked one frame forward then back must land this close to where it started
    (pixels at `scale`), else it is dropped: occluded or lost."""
    max_frames: int = 30
    """Frames kept while the edge's answer is awaited (3 s at 10 fps; a 1080p camera's at half
    size take 15 MB). An answer slower than that finds its frame gone: nothing is followed
    until the next one."""

    def __post_init__(self) -> None:
        if not 0.0 < self.scale <= 1.0:
            raise ValueError(f"scale must be in (0, 1], got {self.scale}")
        if not 0.0 < self.core <= 1.0:
            raise ValueError(f"core must be in (0, 1], got {self.core}")
        if self.points_per_box < 1 or self.min_points < 1 or self.max_frames < 1:
            raise ValueError("points_per_box, min_points and max_frames must be >= 1")


@dataclass(frozen=True)
class TrackShift:
    """How far one tracked object's box moved, in the frame's pixels."""

    track_id: int
    dx: float
    dy: float


@dataclass(frozen=True)
class BoxMotion:
    """What the camera measured since the edge's answer to frame `origin_seq`."""

    origin_seq: int
    shifts: tuple[TrackShift, ...]
    """Tracks whose box could be followed (the others are left to the tracker's guess)."""


@dataclass(frozen=True)
class _Seeded:
    origin_seq: int
    track_ids: npt.NDArray[np.int64]
    """The track each point belongs to."""
    start: Points
    now: Points
    alive: npt.NDArray[np.bool_]


class BoxFollower:
    """One camera's follower: `frame()` for every frame read, `answered()` for every answer of
    the edge, `motion()` when a frame goes."""

    def __init__(self, settings: BoxMotionSettings | None = None) -> None:
        self.settings = settings or BoxMotionSettings()
        self._frames: deque[tuple[int, Image]] = deque(maxlen=self.settings.max_frames)
        self._seeded: _Seeded | None = None
        self._awaited: set[int] = set()
        """Frames chosen to go whose answers have not come."""

    def frame(self, seq: int, image: Image, chosen: bool = True) -> None:
        """A frame read (BGR or grey; `chosen`: it is to go to the edge): kept, and the seeded
        points followed into it. While nothing is followed and no chosen frame awaits its
        answer, a frame that is not chosen is never followed from: none is made or kept (a
        camera watching an empty scene does no work here)."""
        if chosen:
            self._awaited.add(seq)
        elif self._seeded is None and not self._awaited:
            self._frames.clear()  # the frames kept stay consecutive
            return
        grey = self._grey(image)
        if self._frames and self._frames[-1][1].shape != grey.shape:
            self._frames.clear()  # the source changed resolution: nothing to follow across
            self._seeded = None
        if self._frames and self._seeded is not None:
            self._seeded = self._step(self._seeded, self._frames[-1][1], grey)
        self._frames.append((seq, grey))

    def answered(self, seq: int, boxes: Sequence[tuple[int, Box]]) -> None:
        """The edge's answer to frame `seq`: (track id, box) of each object it tracks there.
        Points are seeded on that frame and followed through the frames read since; a frame no
        longer kept (or never read) leaves nothing to follow, and the answer to a frame older
        than the one followed now changes nothing."""
        self._awaited = {s for s in self._awaited if s > seq}  # older ones: lost, or no news
        if self._seeded is not None and seq < self._seeded.origin_seq:
            return  # an older frame's answer, late (uploads in parallel): the newer one holds
        kept = [i for i, (s, _) in enumerate(self._frames) if s == seq]
        self._seeded = None
        if not kept or not boxes:
            return
        frames = list(self._frames)[kept[0] :]
        seeded = self._seed(seq, frames[0][1], boxes)
        for (_, before), (_, after) in pairwise(frames):
            if seeded is None:
                return
            seeded = self._step(seeded, before, after)
        self._seeded = seeded

    def motion(self) -> BoxMotion | None:
        """Each followed track's shift from the answered frame to the last frame read."""
        seeded = self._seeded
        if seeded is None:
            return None
        moved = (seeded.now - seeded.start).reshape(-1, 2) / self.settings.scale
        shifts = []
        for track_id in np.unique(seeded.track_ids):
            mine = seeded.alive & (seeded.track_ids == track_id)
            if int(mine.sum()) < self.settings.min_points:
                continue
            dx, dy = np.median(moved[mine], axis=0)
            shifts.append(TrackShift(int(track_id), round(float(dx), 1), round(float(dy), 1)))
        return BoxMotion(seeded.origin_seq, tuple(shifts))

    def _grey(self, image: Image) -> Image:
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        scale = self.settings.scale
        if scale != 1.0:
            grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return np.asarray(grey, dtype=np.uint8)

    def _seed(self, seq: int, grey: Image, boxes: Sequence[tuple[int, Box]]) -> _Seeded | None:
        points: list[Points] = []
        owners: list[npt.NDArray[np.int64]] = []
        for track_id, box in boxes:
            found = self._corners(grey, box, [b for t, b in boxes if t != track_id])
            if found is not None:
                points.append(found)
                owners.append(np.full(len(found), track_id, dtype=np.int64))
        if not points:
            return None
        start = np.concatenate(points).reshape(-1, 1, 2)
        alive = np.ones(len(start), dtype=bool)
        return _Seeded(seq, np.concatenate(owners), start, start.copy(), alive)

    def _corners(self, grey: Image, box: Box, others: Sequence[Box]) -> Points | None:
        """Corners in the core of `box`, none where another box lies."""
        s, core = self.settings.scale, self.settings.core
        cx, cy = (box.x1 + box.x2) / 2.0, (box.y1 + box.y2) / 2.0
        half_w, half_h = core * box.width / 2.0, core * box.height / 2.0
        height, width = grey.shape[:2]
        x1, x2 = max(0, int((cx - half_w) * s)), min(width, int((cx + half_w) * s) + 1)
        y1, y2 = max(0, int((cy - half_h) * s)), min(height, int((cy + half_h) * s) + 1)
        if x2 - x1 < 4 or y2 - y1 < 4:
            return None
        # Searched in the core's own pixels (the whole frame for each box cost 40 ms a frame).
        mask = np.full((y2 - y1, x2 - x1), 255, dtype=np.uint8)
        for other in others:
            top, left = max(0, int(other.y1 * s) - y1), max(0, int(other.x1 * s) - x1)
            mask[
                top : max(0, int(other.y2 * s) + 1 - y1), left : max(0, int(other.x2 * s) + 1 - x1)
            ] = 0
        core_pixels = np.ascontiguousarray(grey[y1:y2, x1:x2])
        found = cv2.goodFeaturesToTrack(
            core_pixels, self.settings.points_per_box, 0.01, 2, mask=mask
        )
        if found is None:
            return None
        return np.asarray(found, dtype=np.float32).reshape(-1, 2) + np.array(
            [x1, y1], dtype=np.float32
        )

    def _step(self, seeded: _Seeded, before: Image, after: Image) -> _Seeded | None:
        """The points followed one frame, forward then back; None when none survive."""
        if not seeded.alive.any():
            return None
        ahead, ok = _lucas_kanade(before, after, seeded.now)
        back, ok_back = _lucas_kanade(after, before, ahead)
        error = np.linalg.norm((back - seeded.now).reshape(-1, 2), axis=1)
        home = error < self.settings.max_backward_error_px
        alive = seeded.alive & (ok.ravel() == 1) & (ok_back.ravel() == 1) & home
        return _Seeded(seeded.origin_seq, seeded.track_ids, seeded.start, ahead, alive)


def _lucas_kanade(before: Image, after: Image, points: Points) -> tuple[Points, Points]:
    """`points` of `before` found in `after`, and whether each was found (1) or not (0)."""
    found, status, _ = cv2.calcOpticalFlowPyrLK(
        before,
        after,
        points,
        None,  # type: ignore[call-overload]  # OpenCV allocates the output itself
        winSize=(15, 15),
        maxLevel=3,
        criteria=_LK_CRITERIA,
    )
    return np.asarray(found, dtype=np.float32), np.asarray(status, dtype=np.float32)
