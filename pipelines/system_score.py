"""A whole system's answers on a clip, scored for every query (boxes, counts, events).

What the system answers at a frame is what the edge stored for the last frame it analysed at
or before it (the live view shows the same): a frame not sent is answered by the one before.
The reference is the edge's full detector on every original frame: boxes and counts are
scored against its raw detections, events against its tracks (`pipelines.event_scoring`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pipelines.event_scoring import EventScore, ScoredEvent, score_events, tracked_events
from pipelines.feedback import Query
from pipelines.metrics import (
    LabelledBox,
    count_error_per_second,
    labelled,
    score_clip,
    score_frame,
)
from pipelines.tracker import TrackerSettings
from pipelines.types import Detection

Analysed = Mapping[int, Sequence[Detection]]
"""Frame index -> what the edge found on that frame, for the frames it analysed."""


@dataclass(frozen=True)
class QueryReference:
    timestamps: Sequence[float]
    """Seconds from the clip's first frame."""
    answers: list[list[LabelledBox]]
    """The full detector's raw result on every original frame."""
    events: list[ScoredEvent]


@dataclass(frozen=True)
class BoxesScore:
    f1: float
    f1_busy: float


@dataclass(frozen=True)
class CountsScore:
    accuracy: float
    mae_per_second: float


@dataclass(frozen=True)
class SystemScore:
    boxes: BoxesScore
    counts: CountsScore
    events: EventScore

    def accuracy(self, query: Query) -> float:
        """The one figure of the query that baselines are tuned to: boxes F1, count accuracy,
        or for events the F1 of their recall and precision."""
        if query is Query.BOXES:
            return self.boxes.f1
        if query is Query.COUNTS:
            return self.counts.accuracy
        recall, precision = self.events.recall, self.events.precision
        return 2 * recall * precision / (recall + precision) if recall + precision else 0.0


def query_reference(
    timestamps: Sequence[float],
    detections: Sequence[Sequence[Detection]],
    tracker: TrackerSettings,
    weak: Sequence[Sequence[Detection]] | None = None,
) -> QueryReference:
    """Boxes and counts: the detector's raw result at its threshold; events: its tracks, the
    weak detections under the threshold continuing them as on the edge (if given)."""
    frames = range(len(timestamps))
    events = tracked_events(detections, timestamps, frames, tracker, weak)
    return QueryReference(timestamps, [labelled(d) for d in detections], events)


def held_answers(analysed: Analysed, frames: int) -> list[list[LabelledBox]]:
    """Each frame's answer: the result of the last analysed frame at or before it."""
    answers: list[list[LabelledBox]] = []
    held: list[LabelledBox] = []
    for i in range(frames):
        if i in analysed:
            held = labelled(analysed[i])
        answers.append(held)
    return answers


def score_system(
    analysed: Analysed, events: Sequence[ScoredEvent], reference: QueryReference
) -> SystemScore:
    answers = held_answers(analysed, len(reference.timestamps))
    clip = score_clip(answers, reference.answers)
    mae = count_error_per_second(answers, reference.answers, reference.timestamps)
    return SystemScore(
        boxes=BoxesScore(clip.f1, clip.f1_busy),
        counts=CountsScore(clip.count_accuracy, mae),
        events=score_events(events, reference.events),
    )


def score_replayed(
    detections: Sequence[Sequence[Detection]],
    sent: Sequence[int],
    reference: QueryReference,
    tracker: TrackerSettings,
    weak: Sequence[Sequence[Detection]] | None = None,
) -> SystemScore:
    """A set of sent frames whose per-frame results are known (a replayed baseline): the
    edge's tracker makes their events (its weak detections continuing tracks, if given)."""
    analysed = {i: detections[i] for i in sent}
    events = tracked_events(detections, reference.timestamps, sorted(sent), tracker, weak)
    return score_system(analysed, events, reference)


def analysed_f1(
    analysed: Analysed, reference: QueryReference, frames: Iterable[int]
) -> float | None:
    """Mean box F1 on the given frames that the edge analysed (what its models found there,
    nothing held over from earlier frames); None: none of them was analysed."""
    scores = [
        score_frame(labelled(analysed[i]), reference.answers[i]).f1
        for i in frames
        if i in analysed and i < len(reference.answers)
    ]
    return sum(scores) / len(scores) if scores else None
