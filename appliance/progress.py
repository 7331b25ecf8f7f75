"""Progress bars (tqdm) on standard error, for long commands a person watches.

Shown only when standard error is a terminal and the command was not asked to be quiet, so that
`--json` output, pipes and log files never carry them.
"""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


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
    return tqdm(
        desc=description,
        total=total,
        unit=unit,
        file=sys.stderr,
        disable=not progress_enabled(quiet),
        dynamic_ncols=True,
        leave=leave,
    )
