"""This process's memory, for the stats a role reports (a Pi-class node has little to spare)."""

from __future__ import annotations

import os
import resource
import sys

MB = 1024 * 1024


def peak_rss_mb() -> float:
    """The most resident memory this process has held, MB. Linux's VmHWM, not getrusage's
    ru_maxrss: that one survives execve, so a process started by a large one (a test runner,
    a benchmark) would report its parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
    return round(peak / MB if sys.platform == "darwin" else peak / 1024, 1)


def rss_mb() -> float | None:
    """Resident memory now, MB (None where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / MB, 1)


def memory_snapshot() -> dict[str, float | None]:
    return {"rss_mb": rss_mb(), "peak_rss_mb": peak_rss_mb()}
