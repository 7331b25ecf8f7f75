"""Edgent's planner on recorded profiles: the most accurate (exit, partition) in time."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from pipelines.edgent.layers import layers_key
from pipelines.edgent.layout import RESULT_BYTES
from pipelines.edgent.planner import (
    STRATEGIES,
    Conditions,
    Estimator,
    Link,
    candidates,
    search,
)
from pipelines.edgent.regression import DeviceProfile
from tests.edgent_fixtures import FULL, SMALL, estimator, exits, layout, profile

MBIT = 1e6
BANDWIDTHS_MBPS = (0.25, 0.5, 1, 2, 5, 10, 20, 50, 100)
DEADLINES_MS = (10, 15, 20, 30, 40, 60, 80, 100)


@pytest.mark.parametrize(("device", "model"), [("camera", 160), ("camera", 96), ("edge", 96)])
def test_recorded_regression_predicts_whole_model_latency_within_20_percent(
    device: str, model: int
) -> None:
    recorded = profile(device)
    measured = recorded.meta["models"][f"live-yolov8n-{model}.onnx"]["wall_ms"]
    predicted = recorded.model_ms(layout(model).layers)
    assert abs(predicted - measured) / measured < 0.2


def test_slow_link_keeps_the_full_model_on_the_camera() -> None:
    plan = search(exits(), estimator(), Conditions(0.25 * MBIT), deadline_ms=80)
    assert (plan.exit, plan.cut_label, plan.meets) == (FULL, "device-only", True)
    assert plan.transfer_bytes == RESULT_BYTES and plan.edge_ms == 0


def test_fast_link_splits_the_full_model_inside_the_network() -> None:
    plan = search(exits(), estimator(), Conditions(20 * MBIT), deadline_ms=30)
    assert plan.exit == FULL and plan.meets
    assert 0 < plan.cut < len(layout(160).layers)
    # Both ends were too slow here: the camera is slow, the image tensor big.
    for end in ("device-only", "edge-only"):
        assert not search(exits(), estimator(), Conditions(20 * MBIT), 30, end).meets


def test_tight_deadline_takes_the_cheaper_exit() -> None:
    plan = search(exits(), estimator(), Conditions(20 * MBIT), deadline_ms=20)
    assert plan.exit == SMALL and plan.meets and plan.accuracy == 0.8


def test_when_nothing_meets_the_deadline_the_fastest_plan_is_returned() -> None:
    now = Conditions(0.25 * MBIT)
    plan = search(exits(), estimator(), now, deadline_ms=10)
    assert not plan.meets
    every = [search(exits(), estimator(), now, 10, name) for name in STRATEGIES]
    assert plan.total_ms == min(p.total_ms for p in every)


def test_edgent_is_never_less_accurate_than_a_fixed_strategy_that_meets_the_deadline() -> None:
    for mbps, deadline in itertools.product(BANDWIDTHS_MBPS, DEADLINES_MS):
        now = Conditions(mbps * MBIT)
        chosen = search(exits(), estimator(), now, deadline)
        for name in STRATEGIES:
            fixed = search(exits(), estimator(), now, deadline, name)
            if fixed.meets:
                assert chosen.meets and chosen.accuracy >= fixed.accuracy, (mbps, deadline, name)


def test_a_looser_deadline_never_lowers_accuracy() -> None:
    for mbps in BANDWIDTHS_MBPS:
        plans = [search(exits(), estimator(), Conditions(mbps * MBIT), d) for d in DEADLINES_MS]
        met = [p.accuracy for p in plans if p.meets]
        assert met == sorted(met), mbps


def test_prediction_adds_device_transfer_and_edge_time() -> None:
    est = estimator()
    full = exits()[0]
    cut = 22
    plan = est.plan(full, cut, Conditions(8 * MBIT, rtt_ms=2.0), deadline_ms=100)
    elements = full.layout.cuts[cut].elements
    assert plan.transfer_bytes == elements * 2 + est.link.header_bytes
    assert plan.transfer_ms == pytest.approx(2.0 + plan.transfer_bytes * 8 / 8e6 * 1000)
    assert plan.device_ms == pytest.approx(est.device.model_ms(full.layout.layers[:cut]))
    assert plan.edge_ms == pytest.approx(est.edge.model_ms(full.layout.layers[cut:]))
    loaded = est.plan(full, cut, Conditions(8 * MBIT, rtt_ms=2.0, edge_load=2.0), 100)
    assert loaded.edge_ms == pytest.approx(2 * plan.edge_ms)


def test_edge_only_can_send_a_jpeg_instead_of_the_input_tensor() -> None:
    est = estimator()
    jpeg = Estimator(est.device, est.edge, Link(bytes_per_element=2.0, input_bytes=6_000))
    plan = search(exits(), jpeg, Conditions(5 * MBIT), deadline_ms=30, strategy="edge-only")
    assert plan.transfer_bytes == 6_000 and plan.meets


def test_only_the_exit_that_is_the_edges_detector_is_planned_edge_only() -> None:
    """A JPEG goes to the edge's own detector: an exit that is not it cannot run edge-only."""
    est = Estimator(estimator().device, estimator().edge, Link(input_bytes=6_000))
    now = Conditions(100 * MBIT)
    every = [replace(e, edge_only=e.name == SMALL) for e in exits()]
    pairs = {(p.exit, p.cut) for p in candidates(every, est, now, 1000.0)}
    assert (SMALL, 0) in pairs and (FULL, 0) not in pairs
    assert any(name == FULL and cut > 0 for name, cut in pairs)


def test_profile_round_trips_through_json() -> None:
    recorded = replace(profile("edge"), model_factors={layers_key(layout(160).layers): 1.25})
    again = DeviceProfile.from_dict(recorded.to_dict())
    assert again == recorded
    with pytest.raises(ValueError, match="fallback"):
        DeviceProfile.from_dict({**recorded.to_dict(), "fits": {}})


def test_encoding_and_decoding_time_count_on_their_side() -> None:
    est = estimator()
    costly = Estimator(est.device, est.edge, Link(2.0, encode_ms_per_million=10.0,
                                                 decode_ms_per_million=3.0))  # fmt: skip
    full, now = exits()[0], Conditions(8 * MBIT)
    millions = full.layout.cuts[22].elements / 1e6
    plain, paid = est.plan(full, 22, now, 100), costly.plan(full, 22, now, 100)
    assert paid.device_ms == pytest.approx(plain.device_ms + 10.0 * millions)
    assert paid.edge_ms == pytest.approx(plain.edge_ms + 3.0 * millions)
    last = len(full.layout.layers)  # device-only sends detections: nothing to encode
    assert costly.plan(full, last, now, 100).device_ms == est.plan(full, last, now, 100).device_ms


def test_a_profiled_models_own_factor_corrects_only_that_model() -> None:
    edge = profile("edge")
    corrected = replace(edge, model_factors={layers_key(layout(160).layers): 1.25})
    plain, fixed = Estimator(edge, edge), Estimator(corrected, corrected)
    for size, factor in ((160, 1.25), (96, 1.0)):
        whole = len(layout(size).layers)
        before = plain.compute_ms(layout(size), whole)[0] - edge.overhead_ms
        after = fixed.compute_ms(layout(size), whole)[0] - edge.overhead_ms
        assert after == pytest.approx(before * factor)
        # Split anywhere, the tail is corrected the same way.
        assert fixed.compute_ms(layout(size), 5)[1] - edge.overhead_ms == pytest.approx(
            (plain.compute_ms(layout(size), 5)[1] - edge.overhead_ms) * factor
        )


def test_a_slowed_device_is_slower_at_its_fixed_costs_too() -> None:
    edge = replace(profile("edge"), per_layer_ms=0.02, overhead_ms=0.5)
    slow = edge.slowed(10.0, "camera")
    assert slow.device == "camera"
    whole = layout(160).layers
    assert slow.model_ms(whole) == pytest.approx(10 * edge.model_ms(whole))
