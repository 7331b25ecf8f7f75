"""A real CPU limit for a process the benchmarks start: a cgroup with a CFS quota, so a camera
node on this machine runs as slowly as a Pi-class one (its model, its decoding, everything),
instead of emulating the slowdown by sleeping.

cgroup v1's `cpu` controller (`cpu.cfs_quota_us`) or cgroup v2's `cpu.max`, whichever this
machine mounts. Needs root. The quota is `1/slowdown` of one CPU over a short period (10 ms),
so a 30 ms model run is spread over the next few periods rather than run flat out and then
frozen for a long one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 10_000
MIN_QUOTA_US = 1_000
"""The kernel's smallest quota: a larger slowdown lengthens the period instead."""


class CpuQuotaError(RuntimeError):
    """This machine cannot limit a process's CPU (no writable cpu controller)."""


@dataclass(frozen=True)
class CpuQuota:
    group: Path
    procs: Path
    slowdown: float

    def join(self) -> Callable[[], None]:
        """A `preexec_fn` that puts the child in the group before it runs anything."""
        procs = self.procs

        def _join() -> None:
            procs.write_text(f"{os.getpid()}\n")

        return _join


def _controller() -> tuple[Path, bool]:
    """The folder new groups go in and whether it is cgroup v2."""
    v1 = CGROUP_ROOT / "cpu"
    if (v1 / "cpu.cfs_quota_us").is_file():
        return v1, False
    controllers = CGROUP_ROOT / "cgroup.controllers"
    if controllers.is_file() and "cpu" in controllers.read_text().split():
        return CGROUP_ROOT, True
    raise CpuQuotaError("no cgroup cpu controller here (cgroup v1 `cpu` or v2 `cpu.max`)")


@contextmanager
def cpu_quota(name: str, slowdown: float) -> Iterator[CpuQuota]:
    """A cgroup allowing `1/slowdown` of one CPU, removed afterwards (its processes must have
    ended by then)."""
    if slowdown < 1.0:
        raise CpuQuotaError(f"slowdown {slowdown}: must be at least 1")
    parent, v2 = _controller()
    group = parent / name
    period = max(PERIOD_US, round(MIN_QUOTA_US * slowdown))
    quota = round(period / slowdown)
    try:
        group.mkdir(exist_ok=True)
        if v2:
            (group / "cpu.max").write_text(f"{quota} {period}\n")
        else:
            (group / "cpu.cfs_period_us").write_text(f"{period}\n")
            (group / "cpu.cfs_quota_us").write_text(f"{quota}\n")
    except OSError as exc:
        raise CpuQuotaError(f"cannot make cgroup {group}: {exc} (needs root)") from exc
    procs = group / "cgroup.procs"
    try:
        yield CpuQuota(group, procs, slowdown)
    finally:
        with contextlib.suppress(OSError):  # a process still in it: it goes at reboot
            group.rmdir()
