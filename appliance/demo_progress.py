"""The demo's progress on stderr: frames read by its cameras, frames sent, fps, time left.

Counted from what the edge box received (each frame's `seq` counts every frame its node read),
so one bar covers any number of cameras, in the demo's process or not.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from types import TracebackType

from tqdm.contrib.logging import logging_redirect_tqdm

from appliance.edge.input_rates import InputRates
from appliance.progress import progress_bar

REFRESH_S = 0.5


class DemoProgress:
    """A thread that moves one bar to the frames the cameras read, until closed.

    With `total` (a clip of known length) the bar shows the time left; a looping demo has none.
    """

    def __init__(self, inputs: InputRates, total: int | None, quiet: bool) -> None:
        self._inputs = inputs
        self._bar = progress_bar("demo", total=total, unit="frame", quiet=quiet)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-progress", daemon=True)
        self._logs = ExitStack()

    def __enter__(self) -> DemoProgress:
        if not self._bar.disable:
            # While the bar is drawn, log lines print above it, not through it.
            self._logs.enter_context(logging_redirect_tqdm())
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._halt()
        self._bar.close()
        self._logs.close()

    def _halt(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def finish(self, read: int, sent: int) -> None:
        """The node's own final counts: frames it read after the last one it sent count too."""
        self._halt()
        self.update(read, sent)

    def _run(self) -> None:
        while not self._stop.wait(REFRESH_S):
            self.update()

    def update(self, read: int | None = None, sent: int | None = None) -> None:
        """Move the bar to the given counts, else to what the edge box has received."""
        if read is None or sent is None:
            cameras = self._inputs.snapshot().values()
            read = sum(int(c["frames_read"]) for c in cameras)
            sent = sum(int(c["frames_sent"]) for c in cameras)
        if self._bar.total is not None:
            read = min(read, int(self._bar.total))
        self._bar.set_postfix(sent=sent, refresh=False)
        # update(), not n =: tqdm measures the rate (fps) and the time left from the steps.
        self._bar.update(max(read - self._bar.n, 0))
