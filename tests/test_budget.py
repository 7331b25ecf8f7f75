"""Uplink budgets: the site's split among cameras, and one camera's token bucket."""

from __future__ import annotations

import pytest

from pipelines.allocation import CameraDemand, allocate
from pipelines.budget import RateMeter, UplinkBudget


def test_capacity_goes_to_the_cameras_that_show_objects() -> None:
    demands = [
        CameraDemand("street", wanted_bytes_per_s=800_000, utility=3.0),
        CameraDemand("yard", wanted_bytes_per_s=800_000, utility=0.2),
    ]
    grant = allocate(500_000, demands)
    assert sum(grant.values()) == pytest.approx(500_000)
    assert grant["street"] > 3 * grant["yard"]


def test_what_a_camera_does_not_need_goes_to_the_others() -> None:
    demands = [
        CameraDemand("busy", wanted_bytes_per_s=900_000, utility=1.0),
        CameraDemand("quiet", wanted_bytes_per_s=10_000, utility=5.0),
    ]
    grant = allocate(500_000, demands)
    assert grant["quiet"] <= 12_500 + 1e-6  # its demand, or its floor if larger
    assert grant["busy"] == pytest.approx(500_000 - grant["quiet"])


def test_every_camera_keeps_a_floor_even_when_idle() -> None:
    grant = allocate(1_000_000, [CameraDemand("a", 0.0, 0.0), CameraDemand("b", 5e6, 2.0)])
    assert grant["a"] == pytest.approx(0.05 * 1_000_000 / 2)
    assert sum(grant.values()) <= 1_000_000 + 1e-6


def test_nothing_to_split() -> None:
    assert allocate(1000.0, []) == {}
    with pytest.raises(ValueError):
        allocate(-1.0, [CameraDemand("a", 1.0, 1.0)])


def test_bucket_limits_the_rate_with_a_burst() -> None:
    budget = UplinkBudget(bytes_per_s=10_000, burst_s=1.0)
    sent = sum(budget.spend(2_000, t * 0.1) for t in range(100))  # 10 s of 20 KB/s offered
    # 10 KB/s for 10 s plus the 10 KB burst: about 55 frames of 2 KB.
    assert 50 <= sent <= 56
    assert budget.skipped == 100 - sent


def test_draining_bucket_keeps_only_interesting_frames_then_lowers_quality() -> None:
    budget = UplinkBudget(bytes_per_s=1_000, burst_s=10.0)
    assert budget.admit(0.0, 0.0).send  # full: anything worthwhile goes
    assert budget.spend(6_000, 0.0)  # 40% left
    assert not budget.admit(0.0, 0.0).send
    assert budget.admit(2.0, 0.0).send and budget.admit(2.0, 0.0).quality_scale == 1.0
    assert budget.spend(2_000, 0.0)  # 20% left
    low = budget.admit(2.0, 0.0)
    assert low.send and low.quality_scale < 1.0


def test_no_rate_means_no_limit_until_the_edge_sets_one() -> None:
    budget = UplinkBudget()
    assert all(budget.spend(10**9, t) for t in range(5))
    budget.set_rate(1_000)
    assert budget.spend(10**9, 6.0)  # one frame may overdraw the bucket...
    assert not budget.spend(1, 7.0)  # ...then it waits until the debt is paid
    assert budget.spend(1, 6.0 + 10**6)  # about 10**9 / 1000 s later


def test_a_frame_larger_than_the_burst_still_goes_at_the_budget_rate() -> None:
    budget = UplinkBudget(bytes_per_s=10_000, burst_s=1.0)  # 10 KB burst, 80 KB frames
    sent = [t for t in range(100) if budget.spend(80_000, t * 0.1)]
    assert 1 < len(sent) <= 2  # one at once, the next after the 80 KB debt is paid (8 s)


def test_settling_charges_what_actually_went_instead_of_the_jpeg() -> None:
    budget = UplinkBudget(bytes_per_s=1_000, burst_s=10.0)  # 10 KB bucket
    assert budget.spend(8_000, 0.0)  # charged an 8 KB JPEG...
    budget.settle(8_000, 200)  # ...but 200 bytes of detections went
    assert budget.fill(0.0) == pytest.approx(9_800 / 10_000)
    budget.settle(200, 30_000)  # a larger tensor message than charged: into debt
    assert budget.fill(0.0) == 0.0 and not budget.spend(1, 0.0)
    budget.settle(10**9, 0)  # a refund never fills the bucket past its burst
    assert budget.fill(0.0) == 1.0


def test_rate_meter_is_right_from_the_first_frames() -> None:
    meter = RateMeter(window_s=10.0)
    for i in range(5):
        meter.add(80_000, i * 0.1)
    assert meter.rate(0.4) == pytest.approx(800_000, rel=0.3)


def test_rate_meter_tracks_a_steady_stream() -> None:
    meter = RateMeter(window_s=5.0)
    for i in range(600):  # 60 s at 10 frames/s of 5 KB: 50 KB/s
        meter.add(5_000, i * 0.1)
    assert meter.rate(59.9) == pytest.approx(50_000, rel=0.05)
    assert meter.rate(89.9) < 50_000 * 0.01  # silence decays it
