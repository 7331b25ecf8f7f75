"""`appliance bench plan`: Edgent's plans measured end to end over a shaped uplink.

This machine plays both roles: its per-layer profile (`appliance plan profile`) is the edge
box's, and the camera node is emulated as `camera_slowdown` times slower (the head runs that
many times over; a Pi-class node runs YOLOv8n about 10x slower than an edge CPU). The
intermediate tensors travel over loopback TCP through a token bucket at each bandwidth; the
bandwidth the planner uses is measured from a probe transfer over that link.

For every (bandwidth, latency requirement) each strategy picks its plan from the predictions,
planning for the requirement less `margin` (10%: the replanner's margin);
the distinct plans are then run and timed (median of `runs`, after two untimed runs, as the
profile is warm), in rounds: every plan once, then every plan again, so that a few seconds in
which this machine runs slow (a neighbour on the host) cost each plan one run, not all three.
Plans predicted to take longer than `max_run_ms` are not run (their transfer
alone can take minutes at 0.25 Mbit/s); they count as missing the requirement, and their
measured latency is null.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx

from appliance.bench.plan_report import summarise
from appliance.bench.plan_types import PlanBenchSettings, Row
from appliance.plan.link import ShapedUplink, TailServer
from appliance.plan.profile import ProfileSettings, profile_device
from appliance.progress import SILENT, Progress
from pipelines.edgent.bandwidth import BandwidthEstimator
from pipelines.edgent.codec import BYTES_PER_ELEMENT, Encoding, TensorCodec
from pipelines.edgent.layout import RESULT_BYTES
from pipelines.edgent.planner import STRATEGIES, Conditions, Estimator, Exit, Link, Plan, search
from pipelines.edgent.runner import DevicePart, EdgePart
from pipelines.edgent.sessions import random_feeds
from pipelines.edgent.split import model_layout, split_model

log = logging.getLogger(__name__)

PROBE_BYTES = 32_000
WARM_UP_RUNS = 2


@dataclass(frozen=True)
class Measured:
    total_ms: float
    device_ms: float
    edge_ms: float


class PlanRunner:
    """Runs plans for real: head (slowed to the camera's speed), shaped transfer, tail."""

    def __init__(self, models: dict[str, onnx.ModelProto], settings: PlanBenchSettings) -> None:
        self.models = models
        self.settings = settings
        self.codec = TensorCodec(settings.encoding)
        self._devices: dict[str, DevicePart] = {}
        self._edges: dict[str, EdgePart] = {}
        self._server = TailServer(self._edges)
        self._uplink = ShapedUplink(self._server.port)
        self._feeds = {n: random_feeds(_first_session(m)) for n, m in models.items()}

    def probe_bps(self, rate_bps: float) -> float:
        meter = BandwidthEstimator()
        link_ms, _ = self._uplink.exchange("", bytes(PROBE_BYTES), rate_bps)
        meter.add(PROBE_BYTES, link_ms / 1000.0, time.monotonic())
        return meter.bps() or rate_bps

    def measure(self, plans: list[Plan], rate_bps: float) -> dict[tuple[str, int], list[Measured]]:
        """Each plan timed `runs` times, in rounds over all of them."""
        distinct = {(p.exit, p.cut): p for p in plans}
        timed: dict[tuple[str, int], list[Measured]] = {key: [] for key in distinct}
        for _ in range(self.settings.runs):
            for key, plan in distinct.items():
                timed[key].append(self._once(plan, rate_bps))
        return timed

    def _once(self, plan: Plan, rate_bps: float) -> Measured:
        key = _key(plan)
        device = self._device(plan)
        last = plan.cut == len(self.models[plan.exit].graph.node)
        feeds = self._feeds[plan.exit]
        # The slower camera is the head computed `camera_slowdown` times over (a fraction of a
        # run slept): the CPU work a camera that much slower does, and whatever the host takes
        # from this machine meanwhile counted once, as a camera would feel it. Sleeping for a
        # multiple of one run's CPU time multiplied that too (one 43 ms run took 81 ms when a
        # neighbour held the core, and a 430 ms "camera" run became 810 ms).
        repeats = max(int(self.settings.camera_slowdown), 1)
        start = time.perf_counter()
        for _ in range(repeats):
            if last:  # device-only: the camera decodes the output itself, sends detections
                device.compute(feeds)
                message, tail = bytes(RESULT_BYTES), ""
            else:
                message, tail = device.run(feeds).message, key
        spent = time.perf_counter() - start
        time.sleep(spent / repeats * max(self.settings.camera_slowdown - repeats, 0.0))
        device_ms = (time.perf_counter() - start) * 1000.0
        link_ms, edge_ms = self._uplink.exchange(tail, message, rate_bps)
        return Measured(device_ms + link_ms, device_ms, edge_ms)

    def _device(self, plan: Plan) -> DevicePart:
        key = _key(plan)
        if key not in self._devices:
            split = split_model(self.models[plan.exit], plan.cut)
            device = DevicePart(split, self.codec, self.settings.threads)
            edge = EdgePart(split, self.settings.threads)
            # Warm, as the profile is: a fresh session's first two runs are slower (an INT8
            # head's by 50-70%), which a camera running a plan frame after frame never sees.
            for _ in range(WARM_UP_RUNS):
                message = device.run(self._feeds[plan.exit]).message
                if split.tail is not None:
                    edge.run(message)
            self._devices[key], self._edges[key] = device, edge
        return self._devices[key]

    def close(self) -> None:
        self._uplink.close()
        self._server.close()


def _key(plan: Plan) -> str:
    """The split's name: its device and edge halves, and the tail the edge runs for it."""
    return f"{plan.exit}@{plan.cut}"


def _first_session(model: onnx.ModelProto) -> Any:
    from pipelines.edgent.sessions import open_session, session_options

    return open_session(model.SerializeToString(), session_options(threads=1))


def _median(samples: list[Measured]) -> float:
    return statistics.median(m.total_ms for m in samples)


def build_estimator(settings: PlanBenchSettings) -> tuple[Estimator, dict[str, float]]:
    """This machine's profile as the edge's, slowed as the camera's; and its per-model errors
    (held-out exits' models are timed but not fitted on)."""
    fitted = tuple(e.path for e in settings.exits if e.name not in settings.held_out)
    held = tuple(e.path for e in settings.exits if e.name in settings.held_out)
    if not fitted:
        raise ValueError("--held-out: at least one exit must be left to fit the profile on")
    edge = profile_device(ProfileSettings("edge", fitted, runs=20, threads=settings.threads))
    walls = {name: m["wall_ms"] for name, m in edge.meta["models"].items()}
    if held:  # timed the same way; this profile is then dropped
        timed = profile_device(ProfileSettings("held", held, runs=20, threads=settings.threads))
        walls.update({name: m["wall_ms"] for name, m in timed.meta["models"].items()})
    camera = edge.slowed(settings.camera_slowdown, "camera")
    errors = {}
    for exit_model in settings.exits:
        layers = model_layout(onnx.load(str(exit_model.path)), exit_model.name).layers
        measured = walls[exit_model.path.name]
        errors[exit_model.name] = (edge.model_ms(layers) - measured) / measured
    encode_ms, decode_ms = codec_cost(settings.encoding)
    link = Link(
        bytes_per_element=float(BYTES_PER_ELEMENT[settings.encoding]),
        encode_ms_per_million=encode_ms * settings.camera_slowdown,
        decode_ms_per_million=decode_ms,
    )
    return Estimator(camera, edge, link), errors


def codec_cost(encoding: Encoding) -> tuple[float, float]:
    """ms to encode and to decode a million activation-like elements on this CPU (median of 5)."""
    rng = np.random.default_rng(0)
    tensor = {"x": np.maximum(rng.standard_normal(1_000_000), -0.28).astype(np.float32)}
    codec = TensorCodec(encoding)
    encode, decode = [], []
    for _ in range(5):
        start = time.perf_counter()
        message = codec.encode(tensor)
        middle = time.perf_counter()
        codec.decode(message)
        encode.append((middle - start) * 1000.0)
        decode.append((time.perf_counter() - middle) * 1000.0)
    return statistics.median(encode), statistics.median(decode)


def run_plan_bench(settings: PlanBenchSettings, progress: Progress = SILENT) -> dict[str, Any]:
    started = time.monotonic()
    models = {e.name: onnx.load(str(e.path)) for e in settings.exits}
    exits = [Exit(e.name, e.accuracy, model_layout(models[e.name], e.name)) for e in settings.exits]
    with progress.timed("profiling this machine"):
        estimator, regression = build_estimator(settings)
    runner = PlanRunner(models, settings)
    rows: list[Row] = []
    bandwidths = settings.bandwidths_mbps
    try:
        with progress.stage("plans run per bandwidth", len(bandwidths), "bandwidth") as stage:
            for mbps in bandwidths:
                rows.extend(_bandwidth_rows(runner, exits, estimator, settings, mbps))
                stage.advance()
    finally:
        runner.close()
    return summarise(rows, regression, settings, time.monotonic() - started)


def _bandwidth_rows(
    runner: PlanRunner, exits: list[Exit], estimator: Estimator, settings: PlanBenchSettings,
    mbps: float,
) -> list[Row]:  # fmt: skip
    rate = mbps * 1e6
    measured_bps = runner.probe_bps(rate)
    now = Conditions(measured_bps)
    chosen = [
        (deadline, strategy,
         search(exits, estimator, now, deadline * (1 - settings.margin), strategy))
        for deadline in settings.deadlines_ms
        for strategy in STRATEGIES
    ]  # fmt: skip
    runnable = {(p.exit, p.cut): p for _, _, p in chosen if p.total_ms <= settings.max_run_ms}
    timed = runner.measure(list(runnable.values()), rate)
    rows = []
    for deadline, strategy, plan in chosen:
        runs = timed.get((plan.exit, plan.cut))
        measured = None if runs is None else _median(runs)
        runs_met = None if runs is None else sum(r.total_ms <= deadline for r in runs) / len(runs)
        rows.append(Row(
            mbps, measured_bps / 1e6, deadline, strategy, plan.exit, plan.cut_label,
            plan.cut, plan.accuracy, plan.total_ms, measured,
            measured is not None and measured <= deadline, runs_met,
        ))  # fmt: skip
    log.info("%.2f Mbit/s (measured %.2f): %d plans run", mbps, measured_bps / 1e6, len(timed))
    return rows
