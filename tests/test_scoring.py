"""The one scorer every benchmark uses: boxes (all and busy frames), counts over time, events."""

from __future__ import annotations

import pytest

from pipelines.event_scoring import ScoredEvent, score_events, tracked_events
from pipelines.metrics import LabelledBox, count_error_per_second, score_clip
from pipelines.system_score import held_answers, query_reference, score_system
from pipelines.tracker import TrackerSettings
from pipelines.types import Box, Detection


def person(x: float) -> LabelledBox:
    return LabelledBox("person", Box(x, 0, x + 40, 100))


def event(
    frames: range, x: float = 0.0, label: str = "person", reported_at: float | None = None
) -> ScoredEvent:
    """An object seen on `frames` (10 per second), standing at x."""
    first, last = frames[0] / 10, frames[-1] / 10
    boxes = {f: Box(x, 0, x + 40, 100) for f in frames}
    return ScoredEvent(label, boxes, first, last, first if reported_at is None else reported_at)


def test_empty_frames_cannot_hide_losses_in_busy_ones() -> None:
    reported = [[]] * 98 + [[person(0)], []]
    expected = [[]] * 98 + [[person(0)], [person(50)]]
    score = score_clip(reported, expected)
    assert score.f1 == pytest.approx(0.99)  # 98 empty frames answered right
    assert score.busy_frames == 2 and score.f1_busy == pytest.approx(0.5)


def test_counts_over_time_forgive_a_frame_late() -> None:
    timestamps = [i / 10 for i in range(20)]
    expected = [[person(0)]] * 10 + [[person(0), person(100)]] * 10
    late = [[person(0)]] * 11 + [[person(0), person(100)]] * 9  # the second person a frame late
    assert count_error_per_second(late, expected, timestamps) == pytest.approx(0.05)
    assert count_error_per_second(expected, expected, timestamps) == 0.0


def test_an_event_is_found_by_a_same_label_overlap_on_a_shared_frame() -> None:
    reference = [event(range(0, 30)), event(range(40, 70), x=300)]
    found = score_events([event(range(2, 30), reported_at=0.4)], reference)
    assert found.reference_events == 2 and found.found == 1 and found.recall == 0.5
    assert found.precision == 1.0 and found.p95_delay_s == pytest.approx(0.4)
    elsewhere = score_events([event(range(0, 30), x=200)], reference)  # no overlap
    assert elsewhere.recall == 0.0 and elsewhere.precision == 0.0
    other_label = score_events([event(range(0, 30), label="car")], reference)
    assert other_label.found == 0


def test_one_object_broken_into_two_events_costs_precision() -> None:
    reference = [event(range(0, 40))]
    broken = score_events([event(range(0, 20)), event(range(25, 40), reported_at=2.6)], reference)
    assert broken.recall == 1.0 and broken.precision == 0.5


def test_events_are_paired_with_references_as_fully_as_possible() -> None:
    # Two walkers cross: the first reported event matches both, the second only the first
    # walker. Pairing in report order gave the first event walker one and left the second
    # event unpaired; both events are correct.
    walker_one, walker_two = event(range(0, 20), x=0), event(range(0, 20), x=100)
    both = ScoredEvent("person", {**walker_one.boxes, 10: Box(100, 0, 140, 100)}, 0.0, 1.9, 0.1)
    score = score_events(
        [both, event(range(5, 20), x=0, reported_at=0.6)], [walker_one, walker_two]
    )
    assert score.correct == 2 and score.precision == 1.0


def test_one_event_that_follows_two_people_finds_one_when_paired() -> None:
    # A tracker that joins two people into one event: `recall` counts both found (the event
    # overlaps each), `paired_recall` only one, so merging cannot pass for finding.
    first, second = event(range(0, 20), x=0), event(range(20, 40), x=100)
    merged = ScoredEvent("person", {**first.boxes, **second.boxes}, 0.0, 3.9, 0.1)
    score = score_events([merged], [first, second])
    assert score.recall == 1.0 and score.precision == 1.0
    assert score.paired_recall == 0.5
    separate = score_events([first, second], [first, second])
    assert separate.paired_recall == 1.0


def test_short_reference_tracks_count_for_precision_not_recall() -> None:
    reference = [event(range(0, 5))]  # half a second
    score = score_events([event(range(0, 5))], reference)
    assert score.reference_events == 0 and score.recall == 1.0 and score.precision == 1.0


def test_a_system_is_scored_on_what_it_held_between_frames() -> None:
    timestamps = [i / 10 for i in range(6)]
    seen = [[Detection("person", 0.9, Box(10 * i, 0, 10 * i + 40, 100))] for i in range(6)]
    settings = TrackerSettings(min_hits=1, confirm_s=0.0)
    reference = query_reference(timestamps, seen, settings)
    analysed = {0: seen[0], 3: seen[3]}  # frames 1-2 and 4-5 answered by the frame before
    answers = held_answers(analysed, 6)
    assert [a[0].box.x1 for a in answers] == [0, 0, 0, 30, 30, 30]
    events = tracked_events(seen, timestamps, sorted(analysed), settings)
    score = score_system(analysed, events, reference)
    assert score.events.recall == 1.0 and score.events.precision == 1.0
    assert score.boxes.f1 == pytest.approx(4 / 6)  # a 10-pixel shift keeps IoU >= 0.5
    assert score.counts.accuracy == 1.0 and score.counts.mae_per_second == 0.0
