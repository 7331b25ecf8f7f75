"""Progress bars (tqdm) on standard error, for long commands a person watches.

Shown only when standard error is a terminal and the command was not asked to be quiet, so that
`--json` output, pipes and log files never carry them. Long commands (`appliance bench ...`,
`appliance models ...`, `appliance plan ...`) hand a `Progress` to the code doing the work;
that code opens stages and advances them and never prints (pipelines/ knows nothing of it).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm


def progress_enabled(quiet: bool = False, stream: TextIO | None = None) -> bool:
    """Whether a bar would be drawn: not quiet, and `stream` (default stderr) is a terminal."""
    target = sys.stderr if stream is None else stream
    return not quiet and target.isatty()


def progress_bar(
    description: str,
    total: float | None = None,
    unit: str = "it",
    quiet: bool = False,
    leave: bool = True,
) -> tqdm[None]:
    """A bar on stderr; a silent no-op bar when `progress_enabled` says no.

    With `total` it shows the rate and the time left; without, the count and the rate."""
    bar: tqdm[None] = _bar(description, total, unit, quiet, leave=leave)
    return bar


@dataclass(frozen=True)
class Progress:
    """How a command's long work reports how far it is: made by the command layer from its
    arguments (`progress_from`) and handed to the code doing the work, which only opens
    stages and advances them. Whether anything is drawn is decided here, never by that code."""

    quiet: bool = False

    @contextmanager
    def stage(self, name: str, total: float | None = None, unit: str = "frame") -> Iterator[Stage]:
        """A bar for one step: done of `total` (None: unknown), its rate and the time left."""
        with _drawn(_bar(name, total, unit, self.quiet)) as bar:
            yield Stage(bar)

    @contextmanager
    def download(self, name: str, total: int | None = None) -> Iterator[Stage]:
        """A bar counting bytes (KiB, MiB) of `total`."""
        bar = _bar(name, total, "B", self.quiet, unit_scale=True, unit_divisor=1024)
        with _drawn(bar) as drawn:
            yield Stage(drawn)

    @contextmanager
    def timed(self, name: str, seconds: float | None = None) -> Iterator[None]:
        """A step that runs for `seconds` of wall-clock time (None: as long as it takes, for work
        that reports nothing on the way: an export, a profile): elapsed of `seconds`, redrawn
        twice a second."""
        layout = "{desc}: {elapsed} elapsed" if seconds is None else TIMED_LAYOUT
        bar = _bar(name, seconds, "s", self.quiet, bar_format=layout)
        with _drawn(bar), _following_the_clock(bar, seconds):
            yield


SILENT = Progress(quiet=True)
"""For code run without a command (tests, other library code): nothing is drawn."""
TIMED_LAYOUT = "{desc}: {percentage:3.0f}%|{bar}| {elapsed} of {total:.0f} s [{remaining} left]"


class Stage:
    """One step's bar, advanced by the code doing the step."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def advance(self, done: float = 1) -> None:
        if self._bar.total is not None:  # a source's last read (its end) may beat once more
            done = min(done, self._bar.total - self._bar.n)
        self._bar.update(done)

    def tick(self) -> None:
        """One more done: fits where a `Callable[[], None]` is expected (a camera's heartbeat)."""
        self.advance()

    def reached(self, done: float, total: float | None = None) -> None:
        """`done` so far, of `total` when only the work itself knows it (a download's size)."""
        if total is not None and total != self._bar.total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)


def add_quiet_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bars and no INFO logs on stderr (bars show only on a terminal anyway)",
    )


def progress_from(args: argparse.Namespace) -> Progress:
    return Progress(quiet=bool(getattr(args, "quiet", False)))


def counted(count: int, noun: str) -> str:
    """`1 camera`, `2 cameras`: a count in a stage's name."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _bar(name: str, total: float | None, unit: str, quiet: bool, **options: Any) -> Any:
    return tqdm(
        desc=name,
        total=total,
        unit=unit,
        file=sys.stderr,
        disable=not progress_enabled(quiet),
        dynamic_ncols=True,
        **options,
    )


@contextmanager
def _drawn(bar: Any) -> Iterator[Any]:
    """The bar, closed at the end; while it is drawn, log lines print above it, not through it."""
    with bar:
        if bar.disable:
            yield bar
            return
        with logging_redirect_tqdm():
            yield bar


@contextmanager
def _following_the_clock(bar: Any, seconds: float | None) -> Iterator[None]:
    if bar.disable:
        yield
        return
    stop = threading.Event()
    started = time.monotonic()

    def follow() -> None:
        while not stop.wait(CLOCK_REDRAW_S):
            elapsed = time.monotonic() - started
            bar.n = elapsed if seconds is None else min(elapsed, seconds)
            bar.refresh()

    thread = threading.Thread(target=follow, name="progress-clock", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


CLOCK_REDRAW_S = 0.5
