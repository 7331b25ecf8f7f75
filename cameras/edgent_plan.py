"""Which exit and cut the camera node runs for the next frame: Edgent's online planner fed with
the node's real uploads, or a plan pinned in the config. Both are safe to call from the
sender's threads and report a status for every upload's metadata (`FrameMeta.plan`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pipelines.edgent.bandwidth import BandwidthEstimator
from pipelines.edgent.codec import BYTES_PER_ELEMENT, Encoding
from pipelines.edgent.deadline_tally import DeadlineTally
from pipelines.edgent.load import LoadMeter
from pipelines.edgent.online import OnlinePlanner, OnlineSettings
from pipelines.edgent.planner import Estimator, Exit, Link
from pipelines.edgent.regression import DeviceProfile

JPEG_SMOOTHING = 0.2
"""Weight of the newest JPEG in the size edge-only is planned with."""


@dataclass(frozen=True)
class Choice:
    exit: str
    cut: int
    status: dict[str, Any]
    """The planner's status when it chose (`OnlinePlanner.status()`'s shape)."""


class PlanSource(Protocol):
    def choose(self, at: float) -> Choice:
        """The (exit, cut) for a frame uploaded now (`at`: monotonic seconds)."""
        ...

    def record_transfer(self, nbytes: int, seconds: float, at: float) -> None:
        """One upload: bytes that crossed and the seconds they took on the wire."""
        ...

    def note_jpeg(self, nbytes: int) -> None:
        """The size of a frame's JPEG: what edge-only would send."""
        ...

    def needs_probe(self, at: float) -> bool:
        """Whether the uplink has gone unmeasured long enough to send a frame that measures it."""
        ...

    def record_times(self, choice: Choice, device_ms: float, edge_ms: float) -> None:
        """What the frame planned as `choice` took: its head here, its tail (with the wait for
        a worker) on the edge, as the edge reported it."""
        ...

    def record_latency(self, total_ms: float) -> None:
        """A frame's measured head + upload + tail, against the latency requirement."""
        ...


class OnlinePlans:
    """`OnlinePlanner` behind a lock, with edge-only planned at the JPEG size actually sent."""

    def __init__(self, planner: OnlinePlanner) -> None:
        self.planner = planner
        self._jpeg_bytes: float | None = None
        self._device = LoadMeter()
        self._edge = LoadMeter()
        self._tally = DeadlineTally(planner.settings.deadline_ms)
        self._lock = threading.Lock()

    def choose(self, at: float) -> Choice:
        with self._lock:
            plan = self.planner.plan(at).plan
            return Choice(plan.exit, plan.cut, {**self.planner.status(), **self._tally.status()})

    def record_latency(self, total_ms: float) -> None:
        with self._lock:
            self._tally.record(total_ms)

    def record_transfer(self, nbytes: int, seconds: float, at: float) -> None:
        with self._lock:
            self.planner.record_transfer(nbytes, seconds, at)

    def note_jpeg(self, nbytes: int) -> None:
        with self._lock:
            size = self._jpeg_bytes
            size = nbytes if size is None else size + JPEG_SMOOTHING * (nbytes - size)
            self._jpeg_bytes = size
            estimator = self.planner.replanner.estimator
            estimator.link = replace(estimator.link, input_bytes=round(size))

    def needs_probe(self, at: float) -> bool:
        with self._lock:
            return self.planner.needs_probe(at)

    def record_times(self, choice: Choice, device_ms: float, edge_ms: float) -> None:
        with self._lock:
            replanner = self.planner.replanner
            planned = next(e for e in replanner.exits if e.name == choice.exit)
            head_ms, tail_ms = replanner.estimator.compute_ms(planned.layout, choice.cut)
            self._device.observe(device_ms, head_ms)
            self._edge.observe(edge_ms, tail_ms)
            self.planner.set_load(self._device.load, self._edge.load)


def online_plans(
    exits: Sequence[Exit],
    device: DeviceProfile,
    edge: DeviceProfile,
    encoding: Encoding,
    deadline_ms: float,
) -> OnlinePlans:
    link = Link(bytes_per_element=float(BYTES_PER_ELEMENT[encoding]))
    estimator = Estimator(device, edge, link)
    return OnlinePlans(OnlinePlanner(exits, estimator, OnlineSettings(deadline_ms)))


class PinnedPlan:
    """The same exit and cut for every frame; the uplink is still measured and reported."""

    def __init__(self, exit_name: str, cut: int, deadline_ms: float) -> None:
        self.exit = exit_name
        self.cut = cut
        self.deadline_ms = deadline_ms
        self.bandwidth = BandwidthEstimator()
        self._tally = DeadlineTally(deadline_ms)
        self._lock = threading.Lock()

    def choose(self, at: float) -> Choice:
        return Choice(self.exit, self.cut, self.status())

    def record_transfer(self, nbytes: int, seconds: float, at: float) -> None:
        with self._lock:
            self.bandwidth.add(nbytes, seconds, at)

    def note_jpeg(self, nbytes: int) -> None:
        return None

    def needs_probe(self, at: float) -> bool:
        return False  # nothing is planned, so nothing needs a fresh measure

    def record_times(self, choice: Choice, device_ms: float, edge_ms: float) -> None:
        return None

    def record_latency(self, total_ms: float) -> None:
        with self._lock:
            self._tally.record(total_ms)

    def status(self) -> dict[str, Any]:
        with self._lock:
            bps = self.bandwidth.bps()
            tally = self._tally.status()
        return {
            **tally,
            "deadline_ms": self.deadline_ms,
            "bandwidth_mbps": round((bps or 0.0) / 1e6, 3),
            "bandwidth_measured": bps is not None,
            "device_load": 1.0,
            "edge_load": 1.0,
            "switches": 0,
            "plan": None,
            "reason": f"pinned in the camera config: exit {self.exit}, cut {self.cut}",
        }
