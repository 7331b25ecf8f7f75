"""Split a site's uplink among its cameras by utility, not equally (as Vigil does).

Every camera gets a small floor so it can still report a change (by default 5% of the site,
split evenly); the rest goes to cameras in proportion to their utility (objects of interest
they have been showing), never more than a camera asks for; what a camera does not need is
handed on to the others (water-filling).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CameraDemand:
    camera_id: str
    wanted_bytes_per_s: float
    """What the camera has been sending (or would send) without a budget."""
    utility: float
    """Objects of interest it has been showing, e.g. detections per analysed frame."""


def allocate(
    capacity_bytes_per_s: float, demands: Sequence[CameraDemand], floor_share: float = 0.05
) -> dict[str, float]:
    """Bytes per second for each camera; the total never exceeds the capacity."""
    if capacity_bytes_per_s < 0 or not 0.0 <= floor_share <= 1.0:
        raise ValueError("capacity must be >= 0 and floor_share within [0, 1]")
    if not demands:
        return {}
    # The floor is granted even to a camera that asks for nothing now: when someone walks into
    # a quiet scene, its first frames must get through before the next re-split.
    floor = floor_share * capacity_bytes_per_s / len(demands)
    grant = {d.camera_id: floor for d in demands}
    left = capacity_bytes_per_s - sum(grant.values())
    hungry = [d for d in demands if d.wanted_bytes_per_s > grant[d.camera_id]]
    while left > 1e-9 and hungry:
        weights = {d.camera_id: max(d.utility, 0.0) + 1e-3 for d in hungry}
        total = sum(weights.values())
        given = 0.0
        for d in hungry:
            share = left * weights[d.camera_id] / total
            extra = min(share, d.wanted_bytes_per_s - grant[d.camera_id])
            grant[d.camera_id] += extra
            given += extra
        left -= given
        hungry = [d for d in hungry if d.wanted_bytes_per_s - grant[d.camera_id] > 1e-9]
        if given <= 1e-9:
            break
    return grant
