"""Frames of all cameras share a few analysis workers, most useful and most urgent first.

Each frame waits in one bounded queue, ordered by (usefulness class, deadline):

- class 0: a camera's first frame after a quiet spell, or one the camera sent because objects
  came or went: what the user most wants to see, and what starts events;
- class 1: frames in which the camera's tiny detector saw objects, and other changes;
- class 2: frames with nothing of interest (keepalives, refreshes).

Within a class the frame nearest its deadline goes first: `deadline_s` after it reached the
edge (the edge's own clock: a camera whose clock is off must not starve or jump the queue).
A camera's frames are analysed one at a time, in order (its tracker needs them so); when a
newer frame of a camera arrives while an older one still waits, the older is dropped
(`superseded`: the newer says more about now). When more frames wait than the workers can start
within the deadline, at the time a frame takes now (a moving average), or than `max_queue`,
the least useful, least urgent frame is dropped at once (`overload`: its camera hears so
without waiting out the deadline); a frame whose deadline passed before a worker took it is
dropped too (`expired`: analysing it would only delay fresher ones). Every drop is counted
per camera and the sender is answered 503, so a camera node knows its frame was not analysed.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from cameras.protocol import FrameMeta
from pipelines.frame_difference import SendReason

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVICE_SMOOTHING = 0.2
"""Weight of the latest frame in the moving average of analysis time."""


class ShedError(Exception):
    """The scheduler dropped this frame; `reason` says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class SchedulerSettings:
    workers: int = 2
    max_queue: int = 64
    deadline_s: float = 1.0
    quiet_s: float = 2.0
    """A camera that sent nothing for this long is quiet: its next frame goes first."""

    def __post_init__(self) -> None:
        if self.workers < 1 or self.max_queue < 1 or self.deadline_s <= 0 or self.quiet_s < 0:
            raise ValueError("need workers >= 1, max_queue >= 1, deadline_s > 0, quiet_s >= 0")


@dataclass(frozen=True)
class FrameWork(Generic[T]):
    camera_id: str
    usefulness: int
    """0 most useful (arrivals), 2 least (nothing of interest); see the module docstring."""
    run: Callable[[], T]


@dataclass(order=True)
class _Job(Generic[T]):
    rank: tuple[int, float, int]
    work: FrameWork[T] = field(compare=False)
    future: Future[T] = field(compare=False)
    live: bool = field(default=True, compare=False)


class FrameScheduler(Generic[T]):
    """Runs submitted frame work on `settings.workers` threads; `close` stops them."""

    def __init__(
        self,
        settings: SchedulerSettings,
        on_drop: Callable[[str, str], None] = lambda camera, reason: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._on_drop = on_drop
        self._clock = clock
        self._heap: list[_Job[T]] = []
        self._waiting: dict[str, _Job[T]] = {}
        self._running: set[str] = set()
        self._last_seen: dict[str, float] = {}
        self._order = itertools.count()
        self._service_s: float | None = None
        """Moving average of the time a frame's analysis takes."""
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._worker, name=f"analysis-{i}", daemon=True)
            for i in range(settings.workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, work: FrameWork[T]) -> Future[T]:
        future: Future[T] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("scheduler closed")
            now = self._clock()
            quiet = (
                now - self._last_seen.get(work.camera_id, float("-inf")) >= self.settings.quiet_s
            )
            self._last_seen[work.camera_id] = now
            usefulness = 0 if quiet else work.usefulness
            rank = (usefulness, now + self.settings.deadline_s, next(self._order))
            job = _Job(rank, work, future)
            older = self._waiting.pop(work.camera_id, None)
            if older is not None:
                self._drop(older, "superseded", "a newer frame of the camera arrived")
            self._waiting[work.camera_id] = job
            heapq.heappush(self._heap, job)
            while len(self._waiting) > self._capacity():
                worst = max(self._waiting.values(), key=lambda j: j.rank)
                del self._waiting[worst.work.camera_id]
                self._drop(worst, "overload", "the edge box is saturated")
            self._cond.notify()
        return future

    def _capacity(self) -> int:
        """Frames that may wait: as many as the workers can start within the deadline at the
        time a frame takes now (at least one per worker), and never more than max_queue."""
        workers, bound = self.settings.workers, self.settings.max_queue
        if not self._service_s:
            return bound
        startable = int(workers * self.settings.deadline_s / self._service_s)
        return min(bound, max(workers, startable))

    def snapshot(self) -> dict[str, int]:
        with self._cond:
            return {
                "workers": self.settings.workers,
                "queue_depth": len(self._waiting),
                "running": len(self._running),
            }

    def close(self) -> None:
        with self._cond:
            self._closed = True
            for job in list(self._waiting.values()):
                self._drop(job, "shutdown", "the edge box is stopping")
            self._waiting.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)

    def _drop(self, job: _Job[T], reason: str, detail: str) -> None:
        job.live = False
        self._on_drop(job.work.camera_id, reason)
        _fail(job.future, ShedError(reason, detail))

    def _next(self) -> _Job[T] | None:
        """The best waiting job whose camera is not being analysed (None when closed)."""
        with self._cond:
            while True:
                if self._closed:
                    return None
                job = self._pop_runnable()
                if job is not None:
                    return job
                self._cond.wait()

    def _pop_runnable(self) -> _Job[T] | None:
        skipped: list[_Job[T]] = []
        found = None
        while self._heap:
            job = heapq.heappop(self._heap)
            if not job.live:
                continue
            if job.work.camera_id in self._running:
                skipped.append(job)
                continue
            found = job
            break
        for job in skipped:
            heapq.heappush(self._heap, job)
        if found is not None:
            del self._waiting[found.work.camera_id]
            self._running.add(found.work.camera_id)
        return found

    def _worker(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._run(job)
            finally:
                with self._cond:
                    self._running.discard(job.work.camera_id)
                    self._cond.notify_all()

    def _run(self, job: _Job[T]) -> None:
        if self._clock() > job.rank[1]:
            with self._cond:
                self._drop(job, "expired", "its deadline passed while the edge box was busy")
            return
        if not job.future.set_running_or_notify_cancel():
            return
        started = self._clock()
        try:
            job.future.set_result(job.work.run())  # running: it can no longer be cancelled
        except BaseException as exc:  # handed to the waiting request, which reports it
            _fail(job.future, exc)
        self._note_service(self._clock() - started)

    def _note_service(self, seconds: float) -> None:
        with self._cond:
            last = self._service_s
            self._service_s = (
                seconds if last is None else last + SERVICE_SMOOTHING * (seconds - last)
            )


def _fail(future: Future[T], error: BaseException) -> None:
    """Hand `error` to the request waiting on `future`, unless it gave up (cancelled it):
    setting a cancelled future raises, which killed a worker or aborted close()."""
    try:
        future.set_exception(error)
    except InvalidStateError:
        log.debug("a request gave up before its frame was answered: %s", error)


# A stale answer is to a counts or boxes camera what an arrival is to the others.
_MOST_USEFUL = frozenset({SendReason.FIRST.value, SendReason.ARRIVAL.value, SendReason.STALE.value})
_LEAST_USEFUL = frozenset(
    {SendReason.KEEPALIVE.value, SendReason.UNCHANGED.value, SendReason.NOTHING_OF_INTEREST.value}
)


def usefulness(meta: FrameMeta) -> int:
    """The frame's class from why the camera sent it (0 most useful)."""
    if meta.send_reason in _MOST_USEFUL:
        return 0
    return 2 if meta.send_reason in _LEAST_USEFUL else 1
