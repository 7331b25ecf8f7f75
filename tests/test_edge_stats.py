"""The edge's per-camera counters: frames received, by the camera's reason for sending each."""

from __future__ import annotations

from appliance.edge.stats import EdgeStats


def test_frames_are_counted_by_the_reason_the_camera_gave() -> None:
    stats = EdgeStats()
    for reason in ("first", "changed", "changed", "arrival", "stale"):
        stats.received("door", 1000, reason)
    stats.received("yard", 500, "keepalive")
    snapshot = stats.snapshot()
    door = snapshot["cameras"]["door"]
    assert door["frames_received"] == 5 and door["bytes_received"] == 5000
    assert door["received_by_reason"] == {"arrival": 1, "changed": 2, "first": 1, "stale": 1}
    # The box's total sums the cameras; the exporters get the same counts.
    assert snapshot["received_by_reason"] == {
        "arrival": 1, "changed": 2, "first": 1, "keepalive": 1, "stale": 1
    }  # fmt: skip
    cameras, _ = stats.counts()
    assert cameras["yard"].received_by_reason == {"keepalive": 1}


def test_a_reason_no_camera_sends_is_counted_as_other() -> None:
    """The reason comes from the camera: whatever it says, the label set stays bounded."""
    stats = EdgeStats()
    stats.received("door", 1000, "because-" + "x" * 20)
    stats.received("door", 1000, "changed")
    assert stats.snapshot()["cameras"]["door"]["received_by_reason"] == {"changed": 1, "other": 1}
