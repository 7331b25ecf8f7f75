"""ByteTrack's second association: detections under the detector's threshold continue tracks
(never start them) and are never stored, shown or counted as the frame's detections."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.edge.box import EdgeBox
from appliance.edge.config import DetectorConfig, EdgeCameraConfig, EdgeConfig
from appliance.edge.detector import build_detector
from cameras.protocol import FrameMeta
from pipelines.detectors.yolo_decode import FrameSize
from pipelines.event_scoring import tracked_events
from pipelines.tracker import IouTracker, TrackerSettings
from pipelines.weak_detections import split_weak
from tests.footage import vtest_frames
from tests.onnx_models import candidates, constant_model
from tests.test_tracker import car, person


def test_a_weak_detection_confirms_the_track_it_continues() -> None:
    tracker = IouTracker(TrackerSettings(min_hits=2, confirm_s=0.0))
    tracker.update([person(100, conf=0.7)], 0.0)
    # The detector scores the same person 0.15 on the next frame: without the weak list the
    # track waits (a miss), with it the track is confirmed now.
    update = tracker.update([], 0.1, weak=[person(104, conf=0.15)])
    assert update.weak_matches == {0: 1}
    assert [t.track_id for t in update.confirmed] == [1]
    assert tracker.active[0].box == person(104).box
    assert tracker.active[0].best_confidence == 0.7


def test_weak_detections_never_start_a_track() -> None:
    tracker = IouTracker(TrackerSettings(min_hits=1, confirm_s=0.0))
    update = tracker.update([], 0.0, weak=[person(100, conf=0.2), car(300, conf=0.2)])
    assert update.weak_matches == {} and update.tracks == []
    update = tracker.update([], 0.1, weak=[person(100, conf=0.2)])
    assert update.tracks == [] and tracker.active == []


def test_reported_detections_match_first_and_a_weak_one_takes_what_is_left() -> None:
    tracker = IouTracker(TrackerSettings(min_hits=1, confirm_s=0.0))
    tracker.update([person(100), person(400)], 0.0)
    # The strong box over the first person wins; the weak box over it is left over, the weak
    # box over the second person continues it, and a weak box of another label or far from
    # any track continues nothing.
    update = tracker.update(
        [person(102)],
        0.1,
        weak=[person(101, conf=0.2), person(402, conf=0.2), car(400, conf=0.2), person(700)],
    )
    assert update.matches == {0: 1}
    assert update.weak_matches == {1: 2}


def test_a_weak_box_must_overlap_more_than_a_reported_one() -> None:
    tracker = IouTracker(TrackerSettings(min_hits=1, confirm_s=0.0, weak_iou=0.3))
    tracker.update([person(100)], 0.0)
    # IoU of 40-px-wide boxes 25 px apart: 0.23, enough for a reported box (0.1), not a weak.
    assert tracker.update([], 0.1, weak=[person(125, conf=0.2)]).weak_matches == {}
    assert tracker.update([person(125)], 0.2).matches == {0: 1}


def test_split_at_the_detectors_threshold() -> None:
    found = [person(100, conf=0.6), person(200, conf=0.25), person(300, conf=0.12)]
    split = split_weak(found, 0.25)
    assert [d.confidence for d in split.reported] == [0.6, 0.25]
    assert [d.confidence for d in split.weak] == [0.12]
    assert split_weak(found, None).weak == []


def test_bad_weak_iou_is_refused() -> None:
    with pytest.raises(ValueError, match="weak_iou"):
        TrackerSettings(weak_iou=0.0)


def test_replayed_events_are_confirmed_by_weak_sightings() -> None:
    """The benchmarks' replay tracks as the edge does: a flickering person (0.6, 0.2, 0.6 ...)
    is one event from the second frame; its boxes are its reported detections'."""
    frames = 6
    detections = [[person(100 + 5 * i, conf=0.6)] if i % 2 == 0 else [] for i in range(frames)]
    weak = [[] if i % 2 == 0 else [person(100 + 5 * i, conf=0.2)] for i in range(frames)]
    times = [0.1 * i for i in range(frames)]
    settings = TrackerSettings(min_hits=2, confirm_s=0.1)
    [event] = tracked_events(detections, times, range(frames), settings, weak)
    assert event.reported_s == pytest.approx(0.1)
    assert sorted(event.boxes) == [0, 2, 4]
    [without] = tracked_events(detections, times, range(frames), settings)
    assert without.reported_s == pytest.approx(0.2)


def test_the_edge_confirms_with_a_weak_sighting_and_stores_only_reported_boxes(
    tmp_path: Path,
) -> None:
    """A real edge box with its store: the person seen at 0.7 then at 0.15 is an event from the
    second frame (its confirmed_at), but only the 0.7 box is stored, shown and counted."""
    config = EdgeConfig(
        data_dir=tmp_path,
        tracker={"min_hits": 2, "confirm_s": 0.0, "weak_confidence": 0.1},
        cameras=[EdgeCameraConfig(id="c", token="t" * 9)],
    )
    box = EdgeBox(config)
    try:
        analyser = box.analyzers["c"]
        frames = [[person(100, conf=0.7)], [person(104, conf=0.15), car(400, conf=0.15)]]
        results = []
        for seq, found in enumerate(frames):
            meta = FrameMeta(seq=seq, captured_at=1e9 + seq)
            results.append(analyser.analyse_detections(found, meta, FrameSize(640, 480), 1, 0.0))
        [event] = box.store.list_events()
        assert (event.label, event.hits, event.confirmed_at) == ("person", 2, 1e9 + 1)
        assert results[1].detections == [] and results[1].active_tracks == 1
        assert box.store.detections_for_frame("c", 1) == []
        assert len(box.store.detections_for_frame("c", 0)) == 1
    finally:
        box.close()


def test_by_default_every_detection_is_reported(tmp_path: Path) -> None:
    config = EdgeConfig(
        data_dir=tmp_path,
        tracker={"min_hits": 2, "confirm_s": 0.0},  # weak_confidence off: the default
        cameras=[EdgeCameraConfig(id="c", token="t" * 9)],
    )
    box = EdgeBox(config)
    try:
        analyser = box.analyzers["c"]
        for seq, found in enumerate([[person(100, conf=0.7)], [person(104, conf=0.15)]]):
            meta = FrameMeta(seq=seq, captured_at=1e9 + seq)
            analyser.analyse_detections(found, meta, FrameSize(640, 480), 1, 0.0)
        # Everything the detector returns is reported: the 0.15 box is stored and confirms.
        assert [e.hits for e in box.store.list_events()] == [2]
        assert box.store.detections_for_frame("c", 1)[0].confidence == 0.15
    finally:
        box.close()


def test_the_edge_runs_its_model_down_to_the_weak_floor(tmp_path: Path) -> None:
    # One person at 0.9 and one at 0.15 (input-space centres 200,330 and 500,330).
    output = candidates([(200.0, 330.0, 200.0, 300.0, [0.9]), (500.0, 330.0, 160.0, 300.0, [0.15])])
    model = constant_model(tmp_path / "yolo.onnx", output, names={0: "person"})
    detector = DetectorConfig(kind="yolo-onnx", yolo_onnx={"model_path": str(model)})
    frame = vtest_frames(0, 1)[0]
    at_threshold = build_detector(detector, tmp_path).detect(frame)
    with_floor = build_detector(detector, tmp_path, weak_floor=0.1).detect(frame)
    assert [round(d.confidence, 2) for d in at_threshold] == [0.9]
    assert sorted(round(d.confidence, 2) for d in with_floor) == [0.15, 0.9]
    assert detector.reported_from() == 0.25
