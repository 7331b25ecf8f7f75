"""One model run for the frames of several cameras that wait at once.

The edge's scheduler workers each analyse one camera's frame; with one shared model they would
call it at the same time, each run spreading its own threads over the same cores. `BatchRunner`
lets one run happen at a time instead: a call that finds the model busy waits, and when the run
ends the next caller takes every waiting input of its shape (up to `max_batch` images) into one
batch. No thread of its own, no timer: a lone frame runs at once, batches form only under load,
exactly when they pay.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Blob = npt.NDArray[Any]
Output = npt.NDArray[np.float32]


@dataclass(eq=False)  # compared by identity: the blobs are arrays
class _Pending:
    blob: Blob
    output: Output | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class BatchCounters:
    """Counted where the runs happen; read by the edge's stats."""

    runs: int = 0
    images: int = 0
    largest: int = 0
    sizes: dict[int, int] = field(default_factory=dict)
    """Runs by the number of images in them."""

    def snapshot(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "images": self.images,
            "images_per_run": round(self.images / self.runs, 3) if self.runs else None,
            "largest_batch": self.largest,
            "runs_by_batch": {str(k): v for k, v in sorted(self.sizes.items())},
        }


class BatchRunner:
    """Serialises `run(blob)` calls of many threads into batched model runs."""

    def __init__(self, run_model: Callable[[Blob], Output], max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run_model = run_model
        self.max_batch = max_batch
        self.counters = BatchCounters()
        self._waiting: list[_Pending] = []
        self._busy = False
        self._cond = threading.Condition()

    def run(self, blob: Blob) -> Output:
        """The model's output for `blob` (`[n, 3, H, W]`), maybe run together with others."""
        mine = _Pending(blob)
        with self._cond:
            self._waiting.append(mine)
            while self._busy and not mine.done:
                self._cond.wait()
            if not mine.done:
                self._busy = True
                batch = self._take(mine)
        if not mine.done:
            self._execute(batch)
        if mine.error is not None:
            raise mine.error
        assert mine.output is not None
        return mine.output

    def _take(self, first: _Pending) -> list[_Pending]:
        """`first` and the inputs waiting with its height and width, up to `max_batch` images."""
        shape = first.blob.shape[1:]
        batch, images = [first], len(first.blob)
        for pending in self._waiting:
            if pending is first or pending.blob.shape[1:] != shape:
                continue
            if images + len(pending.blob) > self.max_batch:
                continue
            batch.append(pending)
            images += len(pending.blob)
        taken = {id(p) for p in batch}
        self._waiting = [p for p in self._waiting if id(p) not in taken]
        return batch

    def _execute(self, batch: list[_Pending]) -> None:
        blobs = [p.blob for p in batch]
        try:
            joined = blobs[0] if len(blobs) == 1 else np.concatenate(blobs)
            output = self._run_model(joined)
            error: BaseException | None = None
        except Exception as exc:  # every caller of the batch gets the model's error
            output, error = None, exc
        with self._cond:
            start = 0
            for pending in batch:
                count = len(pending.blob)
                if output is not None:
                    pending.output = output[start : start + count]
                pending.error = error
                pending.done = True
                start += count
            self._count(start)
            self._busy = False
            self._cond.notify_all()

    def _count(self, images: int) -> None:
        c = self.counters
        c.runs += 1
        c.images += images
        c.largest = max(c.largest, images)
        c.sizes[images] = c.sizes.get(images, 0) + 1
