"""Re-planning with hysteresis, bandwidth measured from transfers, and the regression fit."""

from __future__ import annotations

import pytest

from pipelines.edgent.bandwidth import BandwidthEstimator, BandwidthSettings
from pipelines.edgent.layers import LayerFeatures, layer_features
from pipelines.edgent.planner import Conditions
from pipelines.edgent.regression import FALLBACK, LayerSample, fit_profile
from pipelines.edgent.replan import Hysteresis, Replanner
from tests.edgent_fixtures import FULL, SMALL, estimator, exits

MBIT = 1e6
DEADLINE_MS = 20.0


def replanner(min_hold_s: float = 5.0) -> Replanner:
    return Replanner(exits(), estimator(), DEADLINE_MS, Hysteresis(0.1, min_hold_s))


def switch_bandwidth() -> float:
    """The bandwidth (bit/s) above which the full model fits 20 ms, found by bisection."""
    from pipelines.edgent.planner import search

    low, high = 1 * MBIT, 1000 * MBIT
    for _ in range(40):
        middle = (low + high) / 2
        if search(exits(), estimator(), Conditions(middle), DEADLINE_MS).exit == FULL:
            high = middle
        else:
            low = middle
    return high


def test_first_plan_is_the_best_one() -> None:
    decision = replanner().update(Conditions(100 * MBIT), at=0.0)
    assert decision.changed and decision.reason == "first plan"
    assert decision.plan.exit == FULL and decision.plan.meets


def test_wobbling_bandwidth_around_a_switch_point_does_not_flap() -> None:
    edge = switch_bandwidth()
    planner = replanner()
    planner.update(Conditions(edge * 0.9), at=0.0)
    assert planner.current is not None and planner.current.exit == SMALL
    changes = 0
    for step in range(1, 40):
        wobble = edge * (1.03 if step % 2 else 0.97)  # +-3% around the point
        changes += planner.update(Conditions(wobble), at=float(step)).changed
    # Above the point by 3% the full model fits, but not with the 10% margin: stay.
    assert changes == 0 and planner.current.exit == SMALL


def test_a_plan_that_stops_meeting_the_deadline_is_replaced_at_once() -> None:
    planner = replanner(min_hold_s=60.0)
    planner.update(Conditions(100 * MBIT), at=0.0)
    assert planner.current is not None and planner.current.exit == FULL
    decision = planner.update(Conditions(20 * MBIT), at=1.0)  # held 1 s of 60: still switches
    assert decision.changed and "misses the requirement" in decision.reason
    assert decision.plan.meets


def test_a_more_accurate_plan_is_adopted_only_after_the_hold_time() -> None:
    planner = replanner(min_hold_s=5.0)
    planner.update(Conditions(20 * MBIT), at=0.0)
    assert planner.current is not None and planner.current.exit == SMALL
    assert not planner.update(Conditions(100 * MBIT), at=2.0).changed
    decision = planner.update(Conditions(100 * MBIT), at=6.0)
    assert decision.changed and decision.plan.exit == FULL
    assert decision.reason == "a more accurate plan fits with margin"


def test_edge_load_moves_work_back_to_the_camera() -> None:
    planner = replanner(min_hold_s=0.0)
    idle = planner.update(Conditions(100 * MBIT), at=0.0).plan
    busy = planner.update(Conditions(100 * MBIT, edge_load=8.0), at=1.0).plan
    assert busy.edge_ms < idle.edge_ms * 8.0  # re-planned, not just stretched
    assert busy.meets


def test_bandwidth_is_averaged_over_real_transfers() -> None:
    meter = BandwidthEstimator(BandwidthSettings(window=4, min_bytes=10_000, probe_after_s=5))
    assert meter.bps() is None and meter.needs_probe(0.0)
    meter.add(125_000, 0.1, at=1.0)  # 10 Mbit/s
    assert meter.bps() == pytest.approx(10 * MBIT)
    meter.add(500, 0.1, at=1.5)  # too small to measure bandwidth: ignored
    assert meter.samples == 1
    for step in range(20):
        meter.add(125_000, 0.5, at=2.0 + step * 0.1)  # the link slowed to 2 Mbit/s
    assert meter.bps() == pytest.approx(2 * MBIT, rel=0.01)
    assert not meter.needs_probe(5.0) and meter.needs_probe(10.0)


def test_a_drop_is_followed_at_the_first_transfer_and_a_rise_within_a_few() -> None:
    meter = BandwidthEstimator()
    for step in range(10):
        meter.add(50_000, 50_000 * 8 / (40 * MBIT), at=step * 0.2)
    meter.add(50_000, 50_000 * 8 / MBIT, at=3.0)  # the link drops to 1 Mbit/s
    after_drop = meter.bps()
    assert after_drop is not None and after_drop < 2 * MBIT  # a plan for 40 would miss
    for step in range(3):  # and recovers
        meter.add(50_000, 50_000 * 8 / (40 * MBIT), at=4.0 + step * 0.2)
    recovered = meter.bps()
    assert recovered is not None and recovered > 40 * MBIT / 3


def test_small_transfers_show_a_link_that_slowed_but_not_round_trips() -> None:
    meter = BandwidthEstimator()
    for step in range(10):  # JPEG probes on a 40 Mbit/s link, 15 ms of round trip
        meter.add(50_000, 0.015 + 50_000 * 8 / (40 * MBIT), at=step * 0.2)
    fast = meter.bps()
    assert fast is not None and fast > 10 * MBIT
    for step in range(20):  # tensors of 10 KB: the round trip is most of their time
        meter.add(10_000, 0.015 + 10_000 * 8 / (40 * MBIT), at=2.0 + step * 0.2)
    assert meter.bps() == fast  # they say nothing about bandwidth
    for step in range(4):  # the link drops to 1 Mbit/s: the same tensors take 95 ms
        meter.add(10_000, 0.015 + 10_000 * 8 / MBIT, at=6.0 + step * 0.2)
    slowed = meter.bps()
    assert slowed is not None and slowed < 2.5 * MBIT  # within four transfers, not a minute
    meter.add(1_000, 5.0, at=7.0)  # a few packets never count, however long they took
    assert meter.bps() == slowed


def test_regression_recovers_a_linear_cost_law() -> None:
    def conv(flops: float) -> LayerFeatures:
        return LayerFeatures("Conv", flops, flops / 10, flops / 20)

    samples = [LayerSample(conv(f), 0.05 + 2e-7 * f) for f in (1e5, 1e6, 3e6, 1e7, 3e7, 1e8)]
    samples += [LayerSample(LayerFeatures("Sigmoid", 0, n, n), 0.01 + 1e-6 * n) for n in (1e3, 1e4)]
    profile = fit_profile("test", samples)
    assert profile.layer_ms(conv(5e7)) == pytest.approx(0.05 + 2e-7 * 5e7, rel=1e-6)
    assert set(profile.fits) == {"Conv", "Sigmoid", FALLBACK}
    unseen = profile.layer_ms(LayerFeatures("Erf", 1e4, 1e4, 1e4))  # falls back to all layers
    assert unseen > 0


def test_conv_flops_count_multiply_adds_over_the_kernel() -> None:
    features = layer_features("Conv", [[1, 3, 160, 160], [16, 3, 3, 3], [16]], [[1, 16, 80, 80]])
    assert features.flops == 2 * 16 * 80 * 80 * 3 * 3 * 3
    assert features.output_elements == 16 * 80 * 80
    grouped = layer_features("Conv", [[1, 8, 10, 10], [8, 1, 3, 3]], [[1, 8, 10, 10]])
    assert grouped.flops == 2 * 8 * 10 * 10 * 9


def test_online_planner_follows_measured_bandwidth_and_reports_why() -> None:
    from pipelines.edgent.online import OnlinePlanner, OnlineSettings

    online = OnlinePlanner(exits(), estimator(), OnlineSettings(DEADLINE_MS, Hysteresis(0.1, 0)))
    assert online.needs_probe(0.0)
    online.record_transfer(250_000, 0.1, at=0.0)  # 20 Mbit/s
    assert online.plan(at=0.0).plan.exit == SMALL
    status = online.status()
    assert status["bandwidth_mbps"] == 20.0 and status["bandwidth_measured"]
    assert status["plan"]["exit"] == SMALL and status["reason"] == "first plan"
    assert status["plan"]["total_ms"] <= DEADLINE_MS and status["switches"] == 1
    for step in range(30):  # the link speeds up to 100 Mbit/s
        online.record_transfer(1_250_000, 0.1, at=1.0 + step)
    decision = online.plan(at=40.0)
    assert decision.changed and decision.plan.exit == FULL
    assert online.status()["switches"] == 2
    assert not online.plan(at=41.0).changed  # nothing moved: not even re-planned
    online.set_load(edge=8.0)
    assert online.plan(at=42.0).plan.meets
    assert online.status()["edge_load"] == 8.0
