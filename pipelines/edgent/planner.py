"""Edgent's online optimiser: the most accurate (exit, partition) that meets a latency requirement.

For every exit (a model branch with its measured accuracy) and every cut of it, the latency is
predicted as device time of the head + transfer time of the crossing tensors at the bandwidth
measured now + edge time of the tail. The most accurate pair that meets the requirement wins
(the faster on a tie); when none does, the fastest pair is returned, marked as missing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pipelines.edgent.layout import RESULT_BYTES, ModelLayout
from pipelines.edgent.regression import DeviceProfile


@dataclass(frozen=True)
class Exit:
    """One branch of the cascade (or of a multi-exit network) and its accuracy on this camera."""

    name: str
    accuracy: float
    layout: ModelLayout
    edge_only: bool = True
    """Whether cut 0 is a choice. A running camera sends edge-only frames as JPEGs that the
    edge's own detector analyses, so only the exit that is that detector plans them."""


@dataclass(frozen=True)
class Conditions:
    """What the plan depends on now; loads stretch compute time (1.0: idle)."""

    bandwidth_bps: float
    rtt_ms: float = 0.0
    device_load: float = 1.0
    edge_load: float = 1.0


@dataclass(frozen=True)
class Link:
    """How crossing tensors become bytes: bytes per element after encoding and compression."""

    bytes_per_element: float = 2.0
    header_bytes: int = 256
    input_bytes: int | None = None
    """Bytes edge-only sends (e.g. a JPEG of the frame); None: the input tensor, encoded."""
    encode_ms_per_million: float = 0.0
    """Camera time to encode a million crossing elements (float16: ~1.4 ms on a PC core)."""
    decode_ms_per_million: float = 0.0
    """Edge time to decode them."""


@dataclass(frozen=True)
class Plan:
    exit: str
    cut: int
    cut_label: str
    accuracy: float
    device_ms: float
    transfer_ms: float
    edge_ms: float
    transfer_bytes: int
    meets: bool

    @property
    def total_ms(self) -> float:
        return self.device_ms + self.transfer_ms + self.edge_ms


class Estimator:
    """Predicts plans; per-layer times are summed once per model (prefix sums), so a search over
    every cut of every exit costs one pass over the layers, not one per cut."""

    def __init__(self, device: DeviceProfile, edge: DeviceProfile, link: Link = Link()) -> None:
        self.device = device
        self.edge = edge
        self.link = link
        self._prefix: dict[int, tuple[ModelLayout, list[float], list[float]]] = {}

    def transfer_bytes(self, layout: ModelLayout, cut: int) -> int:
        if cut == len(layout.layers):
            return RESULT_BYTES
        if cut == 0 and self.link.input_bytes is not None:
            return self.link.input_bytes
        crossing = layout.cuts[cut]
        encoded = int(crossing.elements * self.link.bytes_per_element)
        return encoded + crossing.raw_bytes + self.link.header_bytes

    def compute_ms(self, layout: ModelLayout, cut: int) -> tuple[float, float]:
        """Device time of the head and edge time of the tail, unloaded (0 for an empty part)."""
        device, edge = self._prefixes(layout)
        head = device[cut] + self.device.overhead_ms if cut > 0 else 0.0
        tail = edge[-1] - edge[cut] + self.edge.overhead_ms if cut < len(layout.layers) else 0.0
        return head, tail

    def codec_ms(self, layout: ModelLayout, cut: int) -> tuple[float, float]:
        """Encoding the crossing tensors on the camera, decoding them on the edge."""
        if cut == len(layout.layers) or (cut == 0 and self.link.input_bytes is not None):
            return 0.0, 0.0
        millions = layout.cuts[cut].elements / 1e6
        return (
            millions * self.link.encode_ms_per_million,
            millions * self.link.decode_ms_per_million,
        )

    def _prefixes(self, layout: ModelLayout) -> tuple[list[float], list[float]]:
        cached = self._prefix.get(id(layout))
        if cached is None or cached[0] is not layout:
            cached = (layout, _prefix(self.device, layout), _prefix(self.edge, layout))
            self._prefix[id(layout)] = cached
        return cached[1], cached[2]

    def plan(self, candidate: Exit, cut: int, now: Conditions, deadline_ms: float) -> Plan:
        layout = candidate.layout
        head_ms, tail_ms = self.compute_ms(layout, cut)
        encode_ms, decode_ms = self.codec_ms(layout, cut)
        device_ms = (head_ms + encode_ms) * now.device_load
        edge_ms = (tail_ms + decode_ms) * now.edge_load
        size = self.transfer_bytes(layout, cut)
        transfer_ms = now.rtt_ms + size * 8.0 / max(now.bandwidth_bps, 1.0) * 1000.0
        total = device_ms + transfer_ms + edge_ms
        return Plan(
            candidate.name, cut, layout.cut_label(cut), candidate.accuracy,
            device_ms, transfer_ms, edge_ms, size, total <= deadline_ms,
        )  # fmt: skip


def _prefix(profile: DeviceProfile, layout: ModelLayout) -> list[float]:
    """`sums[k]`: predicted time of layers `[0, k)` on this device (without the run overhead),
    corrected by the model's own factor when this device profiled it."""
    factor = profile.factor(layout.layers)
    sums = [0.0]
    for features in layout.layers:
        sums.append(sums[-1] + profile.layer_ms(features) * factor)
    return sums


# Which (exit, cut) pairs a strategy may use: Edgent searches all; the baselines fix some.
CutFilter = Callable[[Exit, int, bool], bool]


def every_pair(_exit: Exit, _cut: int, _is_full: bool) -> bool:
    return True


STRATEGIES: dict[str, CutFilter] = {
    "edgent": every_pair,
    "device-only": lambda e, c, full: full and c == len(e.layout.layers),
    "edge-only": lambda e, c, full: full and c == 0,
    "partition-only": lambda e, c, full: full,
    "exit-only": lambda e, c, full: c in (0, len(e.layout.layers)),
}


def candidates(
    exits: Sequence[Exit], estimator: Estimator, now: Conditions, deadline_ms: float,
    allowed: CutFilter = every_pair,
) -> list[Plan]:  # fmt: skip
    """Every allowed (exit, cut) pair with its predicted latency."""
    full = max(exits, key=lambda e: e.accuracy).name
    return [
        estimator.plan(e, cut.index, now, deadline_ms)
        for e in exits
        for cut in e.layout.cuts
        if (cut.index > 0 or e.edge_only) and allowed(e, cut.index, e.name == full)
    ]


def best(plans: Iterable[Plan]) -> Plan | None:
    """Most accurate among those that meet the requirement, then fastest; else the fastest."""
    pool = list(plans)
    if not pool:
        return None
    meeting = [p for p in pool if p.meets]
    if meeting:
        return max(meeting, key=lambda p: (p.accuracy, -p.total_ms))
    return min(pool, key=lambda p: p.total_ms)


def search(
    exits: Sequence[Exit], estimator: Estimator, now: Conditions, deadline_ms: float,
    strategy: str = "edgent",
) -> Plan:  # fmt: skip
    if not exits:
        raise ValueError("no exits to plan over")
    found = best(candidates(exits, estimator, now, deadline_ms, STRATEGIES[strategy]))
    if found is None:
        raise ValueError(f"strategy {strategy} allows no (exit, cut) pair")
    return found
