"""Counts query on motion blobs: send a frame when the number of moving things changed.

"How many, over time" changes when people come, leave, or split from or join a group; a crowd
walking on changes every pixel and no count. The difference filter sees the pixels, so a counts
camera on motion blobs sent every 10th changed frame (vtest: 101 frames at count accuracy
0.913, where every 13th frame reaches it with 62). The blobs see how many things move: a frame
goes when their count (the median of the last `COUNT_WINDOW` frames: blobs of a crowd split and
merge from one frame to the next) agrees with the count on the last frame sent less than
`agreement`, scored as count accuracy is (`pipelines.metrics.count_agreement`). Things that stand
still are no blobs, but their count changes only when one comes or goes, which moves. `bench
system` (docs/benchmarks.md): vtest 50 frames at 0.923 and the quiet clip 25 at 0.994, where
the best baselines tuned to that need 100 and 50. Where the whole picture moves, blobs count
nothing (`COUNTABLE_FOREGROUND`, `SETTLE_S`): there the difference filter decides, as for
events. In a camera's first seconds they count nothing either, but the edge holds the first
frame's answer: only things coming where it showed none add to it (`BlobView.LEARNING`).
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass
from enum import Enum

from pipelines.answer_trigger import HeldTrigger, TriggerDecision
from pipelines.metrics import count_agreement

COUNTABLE_FOREGROUND = 0.25
"""Above this share of the picture off the background model the picture itself moved (a moving
camera, a cut, the lights): blobs are no things, and the difference filter decides as for events.
vtest's crowd, the quiet and the distractor clips stay under 9%; bikes (edited footage from a
moving camera) is over it on 221 of its 250 frames."""

SETTLE_S = 2.0
"""Blobs count nothing until the picture has stayed under COUNTABLE_FOREGROUND this long: a
moving camera is not still for a frame or two, and after a cut or a change of light the
background model has to learn the scene again."""

COUNT_WINDOW = 3
"""Frames whose median blob count is a frame's count (1: vtest 74 frames at 0.920, 3: 54 at
0.924, offline at agreement 0.8)."""


class BlobView(str, Enum):
    """What a frame's motion blobs can say of how many things move."""

    COUNTING = "counting"
    """They are the moving things: a frame goes when their number moves."""
    LEARNING = "learning"
    """The camera's first SETTLE_S, its picture still: the background model is the first frame,
    people included, so blobs are where people were, not how many are. The edge holds the
    first frame's answer, just sent: only arrivals (things where it showed none) add to it.
    Sending the filter's changed frames there cost vtest 8-9 of its 59-65 counts frames, for
    0.001-0.004 of count accuracy (docs/benchmarks.md)."""
    MOVED = "moved"
    """The whole picture moved, or did less than SETTLE_S ago: the edge's answer may be of
    another scene, and the difference filter decides as for events."""


@dataclass(frozen=True)
class HeldCount:
    """The moving blobs' count on a frame sent, and that frame's time."""

    count: int
    timestamp: float


class BlobCountTrigger(HeldTrigger[HeldCount]):
    """Remembers the blob count of the last frame sent and compares new frames' with it."""

    def __init__(self, agreement: float = 0.8, keepalive_s: float = 60.0) -> None:
        if not 0.0 < agreement <= 1.0:
            raise ValueError(f"agreement must be in (0, 1], got {agreement}")
        super().__init__(keepalive_s)
        self.agreement = agreement
        self._recent: deque[int] = deque(maxlen=COUNT_WINDOW)
        self._moved_at: float | None = None
        """When the whole picture last moved (the first frame: the background model has yet
        to learn the scene)."""
        self._learning = True
        """Since the first frame, the whole picture has not moved."""
        self._counting = False
        """The last frame's blobs counted things (`view`)."""
        self._rebase = False
        """The blobs have just begun to count: their count is what the held answer stands for."""

    def view(self, foreground: float, timestamp: float) -> BlobView:
        """What blobs say on this frame (`foreground`: its share of the picture off the
        background model): nothing while, or for SETTLE_S after, the whole picture moved, nor
        in the camera's first SETTLE_S."""
        if self._moved_at is None:
            self._moved_at = timestamp
        if foreground > COUNTABLE_FOREGROUND:
            self._moved_at = timestamp
            self._learning = False
        counting = timestamp - self._moved_at >= SETTLE_S
        self._rebase = counting and not self._counting
        self._counting = counting
        if counting:
            self._learning = False
            return BlobView.COUNTING
        return BlobView.LEARNING if self._learning else BlobView.MOVED

    def decide(self, blobs: int, timestamp: float) -> TriggerDecision:
        """`blobs`: this frame's moving blobs. Nothing is remembered as sent until `sent()`.

        On the first frame the blobs count on (`view`), the frames sent before it, by the
        difference filter or as arrivals, have kept the edge's answer up: the count it stands
        for is theirs now, not the blobs' of the frame that went last, which counted nothing."""
        self._recent.append(blobs)
        count = int(statistics.median_low(self._recent))
        if self._rebase and self.held is not None:
            self.restore(HeldCount(count, self.held.timestamp))
        self._rebase = False
        return self._judge(
            HeldCount(count, timestamp),
            lambda held: count_agreement(held.count, count),
            self.agreement,
        )
