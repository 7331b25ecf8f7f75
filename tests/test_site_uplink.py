"""The site's uplink split: a camera with a fixed budget takes it off what the others share."""

from __future__ import annotations

from appliance.edge.site_uplink import BYTES_PER_MBIT, MIN_SHARED, SiteUplink


def busy(uplink: SiteUplink, now: float) -> None:
    for camera in ("a", "b", "c"):
        uplink.observe(camera, 50_000, demand=500_000.0, detections=3, now=now)


def test_fixed_budgets_come_off_the_shared_capacity() -> None:
    uplink = SiteUplink(1.0, ["a", "b", "c"])
    capacity = 1.0 * BYTES_PER_MBIT
    busy(uplink, 1.0)
    assert sum(uplink.budget(c) or 0 for c in "abc") <= capacity + 1e-6
    uplink.set_fixed("a", 50_000.0)
    busy(uplink, 2.0)
    assert uplink.budget("a") == 50_000.0
    shared = (uplink.budget("b") or 0) + (uplink.budget("c") or 0)
    assert 0 < shared <= capacity - 50_000.0 + 1e-6
    uplink.set_fixed("a", None)
    busy(uplink, 3.0)
    assert (uplink.budget("a") or 0) < 50_000.0, "a shares again, with three cameras"
    assert sum(uplink.budget(c) or 0 for c in "abc") <= capacity + 1e-6


def test_fixed_budgets_above_the_capacity_still_leave_the_others_a_floor() -> None:
    uplink = SiteUplink(1.0, ["a", "b", "c"])
    uplink.set_fixed("a", 200_000.0)
    busy(uplink, 1.0)
    b, c = uplink.budget("b") or 0, uplink.budget("c") or 0
    assert b > 0 and c > 0 and b + c <= MIN_SHARED * BYTES_PER_MBIT + 1e-6


def test_a_camera_gone_silent_gives_its_share_back() -> None:
    uplink = SiteUplink(1.0, ["street", "yard"])
    for second in range(10):  # both show three objects a frame for ten seconds
        for camera in ("street", "yard"):
            uplink.observe(camera, 50_000, demand=500_000.0, detections=3, now=second)
    even = uplink.budget("yard") or 0
    assert abs(even - (uplink.budget("street") or 0)) < 1.0
    # The yard falls silent (its objects parked); the street keeps sending for a minute.
    for second in range(10, 70):
        uplink.observe("street", 50_000, demand=500_000.0, detections=3, now=second)
    assert (uplink.budget("yard") or 0) < 0.1 * even
    assert uplink.snapshot()["yard"]["utility"] < 0.1
