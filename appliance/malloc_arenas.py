"""Fewer glibc malloc arenas for the long-running processes.

glibc gives each thread that allocates its own arena, up to eight per core, and returns little
of an arena's memory to the system. The edge box decodes a 1.3 MB frame per request on
whichever worker thread serves it, so each worker's arena grows to hold frames, and resident
memory climbs in steps as the thread pool's workers come and go: a 30-minute soak of eight
cameras grew 11% after warm-up (435 -> 483 MB), where two arenas held it flat at 405-408 MB
(docs/benchmarks.md). Two arenas cost no measurable speed here: the work is in numpy, OpenCV
and onnxruntime, not in malloc. An explicit MALLOC_ARENA_MAX in the environment wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

ARENAS = 2
M_ARENA_MAX = -8
"""mallopt's parameter number for the arena limit (glibc's malloc.h)."""


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Ask glibc's malloc for at most `arenas` arenas from now on; True if it agreed. Does
    nothing off Linux, with another C library, or when MALLOC_ARENA_MAX is set."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt, nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    agreed = bool(mallopt(M_ARENA_MAX, arenas))
    log.debug("malloc arenas limited to %d: %s", arenas, agreed)
    return agreed
