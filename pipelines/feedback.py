"""Edge-side rate control: send each camera the fewest frames that answer its query well.

Users ask different questions of a camera (Reducto: the filter must be tuned per query):
"who came, when, where" (events), "how many, over time" (counts), "exact boxes on every frame"
(boxes). Between two frames a camera sends, the edge answers with what it found on the last one
(what it stored, what the live view shows). When the next frame arrives, the edge sees how good
that held answer still was for the query:

- boxes: F1 at IoU 0.5 of the held detections against the new frame's;
- counts: the count accuracy of the held detections;
- events: the share of held tracks that followed their object across the gap with room to
  spare: a track that loses its object breaks one event into two.

For boxes and counts that is the accuracy of the stalest frame of the gap; the frames before it
were fresher, so the controller estimates the gap's average (the figure a user measures). It
steers two knobs toward the query's target: the difference threshold (how much must change),
and a share of changed frames to skip (a walking person changes every frame; arrivals are
never skipped, and for events no changed frame is while people who just came into a still
scene await their second look).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from pipelines.appearance import Appearance
from pipelines.box_motion import TrackShift
from pipelines.metrics import labelled, score_frame
from pipelines.tracker import IouTracker, TrackedObject, TrackUpdate
from pipelines.types import Box, Detection

EVENT_IOU = 0.3
"""Overlap at which a reported and a reference event are the same object on a frame."""


STILL_SCENE_S = 2.0
"""A scene where the edge held no confirmed moving track this long is still: objects that come
into it get their second look at the next changed frame (`QueryController.most_skip`). Not at
a camera's start: nothing is known of its scene then."""

MIN_NEXT_FRAME_S = 0.1
"""Soonest a still scene is asked for another frame."""


class Query(str, Enum):
    EVENTS = "events"
    COUNTS = "counts"
    BOXES = "boxes"


DEFAULT_TARGETS = {Query.EVENTS: 0.9, Query.COUNTS: 0.9, Query.BOXES: 0.93}
"""Accuracy each query holds when its camera names no target (the edge's estimate, see
`QueryController`). Boxes at 0.93: box F1 0.95 of every frame's on vtest (at 0.9: 0.92)."""


@dataclass(frozen=True)
class HeldAccuracy:
    """How good the held answer still was, per query, when a frame arrived."""

    boxes: float
    counts: float
    events: float
    moving_tracks: int = 0
    """Confirmed tracks, not stationary, that the edge held before the frame (lost ones too,
    until they end). 0: the scene was still, and whoever the frame shows has just come."""
    awaiting: int = 0
    """Tracks not confirmed yet that the frame showed: one more look makes each an event
    (`IouTracker.awaiting_second_look`)."""

    def of(self, query: Query) -> float:
        return {Query.BOXES: self.boxes, Query.COUNTS: self.counts, Query.EVENTS: self.events}[
            query
        ]


def held_accuracy(
    held: Sequence[Detection],
    now: Sequence[Detection],
    tracks: Sequence[TrackedObject],
    update: TrackUpdate,
    moving: int = 0,
    awaiting: int = 0,
) -> HeldAccuracy:
    """`held`: the last analysed frame's detections; `now`: this frame's; `tracks`: the
    confirmed tracks predicted to this frame before it was seen; `update`: the tracker's
    update with it; `moving`: the confirmed moving tracks before it
    (`IouTracker.moving_events`); `awaiting`: the tracks one more look confirms, after it."""
    score = score_frame(labelled(held), labelled(now))
    events = _followed(tracks, update)
    return HeldAccuracy(score.f1, score.count_accuracy, events, moving, awaiting)


def _followed(held: Sequence[TrackedObject], update: TrackUpdate) -> float:
    """Share of held tracks that followed their object with room to spare: matched with IoU >=
    EVENT_IOU between the predicted box and the new one (the tracker matches down to a lower
    IoU, so this falls before events break). A track left unmatched while a new one starts over
    it broke; one unmatched with nothing there (the object left, the detector missed it) is not
    counted."""
    matched = set(update.matches.values()) | set(update.weak_matches.values())
    started = [t for t in update.tracks if t.track_id in matched and t.hits == 1]
    now = {t.track_id: t.box for t in update.tracks}
    followed = counted = 0
    for track in held:
        if track.track_id in matched:
            counted += 1
            followed += track.box.iou(now[track.track_id]) >= EVENT_IOU
        elif any(s.label == track.label and s.box.iou(track.box) > 0.0 for s in started):
            counted += 1
    return followed / counted if counted else 1.0


@dataclass(frozen=True)
class QueryControlSettings:
    query: Query = Query.EVENTS
    accuracy_target: float = 0.9
    initial: float = 0.01
    minimum: float = 0.002
    maximum: float = 0.2
    decrease: float = 0.7
    """Multiply the threshold by this when accuracy is below target: back off fast (AIMD)."""
    increase: float = 1.08
    """Multiply it by this when accuracy is above target + margin: probe slowly."""
    margin: float = 0.02
    smoothing: float = 0.3
    """Weight of the newest observation in the running accuracy."""
    max_skip: float = 0.9
    """Largest share of changed frames the camera may skip."""
    max_gap_s: float = 0.3
    """Events: skip no more than leaves this long between frames of a changing scene. Beyond, the
    tracker loses people walking across vtest at 10 fps (uniform every 3rd frame: event
    precision 0.96, every 4th: 0.80, every 5th: 0.57), which the controller sees too late."""
    max_gap_followed_s: float = 0.45
    """The same for a camera that follows the tracked boxes through every frame and sends where
    they went (`pipelines.box_motion`): the tracker need not guess, and finds people across
    sparser frames (`bench system` vtest events: 24.0% of the frames at precision 0.918 with
    0.45 s, against 31.2% at 0.983 with 0.3 s and 28.1% at 0.878 with 0.5 s unfollowed)."""
    skip_step: float = 0.05
    """Skip this much more of them when accuracy is comfortably above target; three times as
    much less when below."""

    def __post_init__(self) -> None:
        if not 0.0 < self.minimum <= self.initial <= self.maximum <= 1.0:
            raise ValueError("need 0 < minimum <= initial <= maximum <= 1")
        if not 0.0 < self.decrease < 1.0 < self.increase:
            raise ValueError("need decrease in (0, 1) and increase > 1")
        if not 0.0 <= self.max_skip < 1.0:
            raise ValueError("need 0 <= max_skip < 1")
        if not (self.max_gap_s > 0.0 and self.max_gap_followed_s > 0.0):
            raise ValueError("need max_gap_s > 0 and max_gap_followed_s > 0")
        if not 0.0 < self.accuracy_target <= 1.0:
            raise ValueError("need 0 < accuracy_target <= 1")


@dataclass(frozen=True)
class Gap:
    """Since the frame analysed before: how many frames the camera read, and how long."""

    frames: int = 1
    seconds: float = 0.0
    congested: bool = False
    """Frames the camera chose in the gap never reached the edge (its upload was still busy
    with an earlier one): the gap is the uplink's or the edge's doing, not the skip share's."""
    followed: bool = False
    """The frame said where the camera saw the tracked objects go (`pipelines.box_motion`)."""


@dataclass(frozen=True)
class RateAdvice:
    threshold: float
    skip: float
    """Share of changed frames (not arrivals) the camera should skip."""


class QueryController:
    """One camera's threshold and skip share, moved by how well the edge answers its query."""

    def __init__(self, settings: QueryControlSettings | None = None) -> None:
        self.settings = settings or QueryControlSettings()
        self.threshold = self.settings.initial
        self.skip = 0.0
        self.accuracy: float | None = None
        """Estimated accuracy of the query's answers over recent frames (None: no frame yet)."""
        self.frame_s: float | None = None
        """The camera's frame interval, as the gaps between its frames show."""
        self.backoffs = 0
        """Gaps in which the camera dropped frames it chose (its upload was busy): each moved
        the advice a step toward fewer frames."""
        self._newcomers = False
        """The last frame showed objects come into a still scene, not events yet."""
        self._clock = 0.0
        """Seconds of the camera's frames the controller has seen."""
        self._moving_at = 0.0
        """When (on `_clock`) the edge last held a confirmed moving track."""
        self.followed = False
        """The camera follows the tracked boxes (a frame said where they went): its frames may
        lie further apart (`max_gap_followed_s`)."""

    @property
    def query(self) -> Query:
        return self.settings.query

    def observe(self, held: HeldAccuracy, gap: Gap | None = None) -> RateAdvice:
        """A frame arrived `gap` after the last one analysed; `held` is how good the held
        answer still was at it. Returns what the camera should use from now on."""
        s = self.settings
        gap = gap or Gap()
        self.followed = self.followed or gap.followed
        self._clock += max(0.0, gap.seconds)
        if held.moving_tracks > 0:
            self._moving_at = self._clock
        still = self._clock - self._moving_at >= STILL_SCENE_S
        self._newcomers = still and held.awaiting > 0
        if gap.frames >= 1 and gap.seconds > 0.0:
            self.frame_s = gap.seconds / gap.frames
        if gap.congested:
            # The answer went stale over frames the camera chose but could not upload: asking
            # for more would only add to what it drops (eight busy cameras on two cores chose
            # 59% of their frames instead of 32% that way, docs/benchmarks.md). Back off as on
            # a comfortable answer, so that it chooses evenly what can be analysed.
            self.backoffs += 1
            self.threshold = min(s.maximum, self.threshold * s.increase)
            self.skip = min(self.gap_limited_skip, self.skip + s.skip_step)
            return RateAdvice(self.threshold, self.skip)
        observed = held.of(s.query)
        # A broken event is broken however fresh the frames before were: no gap average.
        estimate = observed if s.query is Query.EVENTS else gap_average(observed, gap.frames)
        if self.accuracy is None:
            self.accuracy = estimate
        else:
            self.accuracy += s.smoothing * (estimate - self.accuracy)
        if self.accuracy < s.accuracy_target:
            self.threshold = max(s.minimum, self.threshold * s.decrease)
            self.skip = max(0.0, self.skip - 3 * s.skip_step)
        elif self.accuracy > s.accuracy_target + s.margin:
            self.threshold = min(s.maximum, self.threshold * s.increase)
            self.skip += s.skip_step
        self.skip = min(self.skip, self.most_skip)
        return RateAdvice(self.threshold, self.skip)

    @property
    def most_skip(self) -> float:
        """`gap_limited_skip`; but for events, none while objects that came into a still scene
        (STILL_SCENE_S) await their second look: each changed frame goes until they are events,
        a frame later rather than a gap later. The quiet clip's crowds came into a scene of
        parked cars at the widest gap: event precision 0.844 and p95 delay 1.07 s with it
        skipped, 0.966 and 0.84 s without (docs/benchmarks.md); busy scenes never wait."""
        if self.settings.query is Query.EVENTS and self._newcomers:
            return 0.0
        return self.gap_limited_skip

    @property
    def gap_limited_skip(self) -> float:
        """max_skip; for events, less where it would leave more than max_gap_s (or
        max_gap_followed_s) between frames (boxes and counts see their own losses in time:
        their answers need no tracks)."""
        s = self.settings
        if self.frame_s is None or s.query is not Query.EVENTS:
            return s.max_skip
        gap = s.max_gap_followed_s if self.followed else s.max_gap_s
        return max(0.0, min(s.max_skip, 1.0 - self.frame_s / gap))


def gap_average(at_arrival: float, frames_since: int) -> float:
    """The average accuracy of a gap's frames: the frame sent was answered exactly, the answer
    then went stale steadily to `at_arrival` at the next frame sent, `frames_since` later."""
    gap = max(1, frames_since)
    return 1.0 - (1.0 - at_arrival) * (gap - 1) / (2 * gap)


class HeldAnswer:
    """One camera's answer between frames (the last analysed frame's detections), and how
    good it still was when the next frame came."""

    def __init__(self) -> None:
        self.detections: list[Detection] = []

    def update(
        self,
        tracker: IouTracker,
        detections: Sequence[Detection],
        timestamp: float,
        appearances: Sequence[Appearance] | None = None,
        weak: Sequence[Detection] = (),
        moved: Sequence[TrackShift] = (),
    ) -> tuple[TrackUpdate, HeldAccuracy]:
        """Feed a frame to the tracker (with descriptors when the caller has its pixels, its
        weak detections: `pipelines.weak_detections`, and how far the camera saw its tracks
        move: `pipelines.box_motion`); also return how accurate the held answer (the
        detections, never the weak ones) was."""
        moving = tracker.moving_events
        tracks = tracker.predict(timestamp, moved)
        update = tracker.update(detections, timestamp, appearances, weak, moved)
        awaiting = tracker.awaiting_second_look
        accuracy = held_accuracy(self.detections, detections, tracks, update, moving, awaiting)
        self.detections = list(detections)
        return update, accuracy


@dataclass(frozen=True)
class EdgeReply:
    """What the edge tells a camera node after each frame, as far as the node's choice of frames
    goes: the node (`FrameSelector.follow`), the edge (`reply_after`) and every benchmark that
    replays the two use this one step, so a replay cannot follow other rules than the system."""

    moving_tracks: int
    """Tracks that are not stationary: keepalive frames go while there are any."""
    threshold: float | None
    """The difference threshold to use from now on (None: keep the one in force)."""
    skip: float | None = None
    """The share of changed frames to skip from now on (None: keep the one in force)."""
    next_frame_s: float | None = None
    """Send a frame within this long even if nothing changed (None: keepalives as usual)."""
    stationary: tuple[Box, ...] = ()
    """Where the objects the edge tracks as stationary are (a parked car): a camera's own
    object detector finding one of them again has found no news."""
    query: Query | None = None
    """The question the edge answers with the camera's frames (None: keep the one in force):
    a camera with its own object detector sends a counts or boxes camera's frames when the
    answer the edge holds goes stale (`pipelines.answer_trigger`)."""
    target: float | None = None
    """The accuracy the edge holds that question to (None: keep the one in force)."""


def reply_after(
    tracker: IouTracker,
    controller: QueryController | None,
    held: HeldAccuracy,
    gap: Gap | None = None,
) -> EdgeReply:
    """The edge's reply once a frame is analysed and stored (`HeldAnswer.update` gave held).
    A track waiting for confirmation asks for a frame within confirm_s even in a still scene
    (a car that just parked would wait for the 2 s keepalive), once: if that frame missed it,
    the frames that come anyway may confirm it (`IouTracker.awaiting_second_look`; asking on
    sent the quiet clip a frame every 0.25 s for 2 s after each crowd left). It gets no denser
    frames of a changing scene: at 0.2 s apart, detector flicker confirmed as events that every
    third frame (vtest) does not (event precision 0.86 against 0.92)."""
    next_frame_s = confirm_within(tracker)
    still = tracker.stationary_boxes
    if controller is None:
        return EdgeReply(tracker.moving, None, None, next_frame_s, still)
    advice = controller.observe(held, gap)
    return EdgeReply(
        moving_tracks=tracker.moving,
        threshold=advice.threshold,
        skip=advice.skip,
        next_frame_s=next_frame_s,
        stationary=still,
        query=controller.query,
        target=controller.settings.accuracy_target,
    )


def confirm_within(tracker: IouTracker) -> float | None:
    """How soon a frame should come so that the tracks awaiting confirmation get it."""
    if not tracker.awaiting_second_look:
        return None
    return max(tracker.settings.confirm_s, MIN_NEXT_FRAME_S)
