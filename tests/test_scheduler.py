"""The edge's frame scheduler: useful and urgent frames first, one frame per camera at a time,
and every frame it sheds under load counted with its reason."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future

import pytest

from appliance.edge.scheduler import (
    FrameScheduler,
    FrameWork,
    SchedulerSettings,
    ShedError,
    usefulness,
)
from cameras.protocol import FrameMeta


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def drops() -> Counter[tuple[str, str]]:
    return Counter()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make(
    drops: Counter[tuple[str, str]], clock: Clock
) -> Iterator[Callable[..., FrameScheduler[str]]]:
    made: list[FrameScheduler[str]] = []

    def factory(**settings: float) -> FrameScheduler[str]:
        scheduler: FrameScheduler[str] = FrameScheduler(
            SchedulerSettings(**settings),  # type: ignore[arg-type]
            on_drop=lambda camera, reason: drops.update([(camera, reason)]),
            clock=clock,
        )
        made.append(scheduler)
        return scheduler

    yield factory
    for scheduler in made:
        scheduler.close()


def blocker(
    scheduler: FrameScheduler[str], camera: str = "busy"
) -> tuple[threading.Event, Future[str]]:
    """Occupy the (single) worker until the returned event is set."""
    started, release = threading.Event(), threading.Event()

    def hold() -> str:
        started.set()
        release.wait(10)
        return "held"

    future = scheduler.submit(FrameWork(camera, 1, hold))
    assert started.wait(10)
    return release, future


def work(camera: str, label: str, order: list[str], usefulness: int = 1) -> FrameWork[str]:
    def run() -> str:
        order.append(label)
        return label

    return FrameWork(camera, usefulness, run)


def test_quiet_and_arriving_cameras_go_before_busy_ones(
    make: Callable[..., FrameScheduler[str]],
) -> None:
    scheduler = make(workers=1, quiet_s=2.0)
    order: list[str] = []
    release, _ = blocker(scheduler)
    warm = scheduler.submit(work("a", "a-warm", order))  # a has spoken: no longer quiet
    busy = scheduler.submit(work("a", "a-busy", order))
    quiet = scheduler.submit(work("b", "b-first-after-quiet", order))
    arrival = scheduler.submit(work("c", "c-arrival", order, usefulness=0))
    release.set()
    assert [f.result(10) for f in (busy, quiet, arrival)]
    assert order == ["b-first-after-quiet", "c-arrival", "a-busy"]
    with pytest.raises(ShedError):
        warm.result(10)


def test_a_newer_frame_supersedes_the_waiting_one(
    make: Callable[..., FrameScheduler[str]], drops: Counter[tuple[str, str]]
) -> None:
    scheduler = make(workers=1)
    order: list[str] = []
    release, _ = blocker(scheduler)
    first = scheduler.submit(work("cam", "1", order))
    second = scheduler.submit(work("cam", "2", order))
    release.set()
    assert second.result(10) == "2"
    with pytest.raises(ShedError) as shed:
        first.result(10)
    assert shed.value.reason == "superseded"
    assert order == ["2"] and drops[("cam", "superseded")] == 1


def test_frames_of_one_camera_never_run_at_once(make: Callable[..., FrameScheduler[str]]) -> None:
    scheduler = make(workers=4)
    running, overlap = Counter[str](), []
    lock = threading.Lock()

    def job() -> str:
        with lock:
            running["cam"] += 1
            overlap.append(running["cam"])
        threading.Event().wait(0.01)
        with lock:
            running["cam"] -= 1
        return "done"

    futures = []
    for _ in range(20):
        futures.append(scheduler.submit(FrameWork("cam", 1, job)))
        threading.Event().wait(0.004)  # frames arrive while earlier ones are analysed
    for future in futures:
        with contextlib.suppress(ShedError):
            future.result(10)
    assert len(overlap) >= 2 and max(overlap) == 1


def test_overload_drops_the_least_useful_frame(
    make: Callable[..., FrameScheduler[str]], drops: Counter[tuple[str, str]]
) -> None:
    scheduler = make(workers=1, max_queue=2)
    order: list[str] = []
    for camera in "abc":  # each camera has spoken: none is quiet any more
        scheduler.submit(work(camera, "warm", order)).result(10)
    release, _ = blocker(scheduler, "z")
    objects_a = scheduler.submit(work("a", "a-objects", order, usefulness=1))
    objects_b = scheduler.submit(work("b", "b-objects", order, usefulness=1))
    nothing = scheduler.submit(work("c", "c-keepalive", order, usefulness=2))
    release.set()
    assert (objects_a.result(10), objects_b.result(10)) == ("a-objects", "b-objects")
    with pytest.raises(ShedError) as shed:
        nothing.result(10)
    assert shed.value.reason == "overload" and drops[("c", "overload")] == 1


def test_frames_past_their_deadline_are_dropped(
    make: Callable[..., FrameScheduler[str]], clock: Clock, drops: Counter[tuple[str, str]]
) -> None:
    scheduler = make(workers=1, deadline_s=1.0)
    order: list[str] = []
    release, _ = blocker(scheduler)
    late = scheduler.submit(work("cam", "late", order))
    clock.now += 5.0  # the worker was busy for five seconds
    release.set()
    with pytest.raises(ShedError) as shed:
        late.result(10)
    assert shed.value.reason == "expired" and order == []
    assert drops[("cam", "expired")] == 1


def test_why_the_camera_sent_a_frame_sets_its_class() -> None:
    def meta(reason: str) -> FrameMeta:
        return FrameMeta(seq=1, captured_at=1.0, send_reason=reason)

    assert usefulness(meta("arrival")) == usefulness(meta("first")) == 0
    assert usefulness(meta("changed")) == 1
    assert usefulness(meta("keepalive")) == usefulness(meta("nothing_of_interest")) == 2


def test_a_request_that_gave_up_does_not_break_the_scheduler(
    make: Callable[..., FrameScheduler[str]], drops: Counter[tuple[str, str]]
) -> None:
    scheduler = make(workers=1)
    order: list[str] = []
    release, _ = blocker(scheduler)
    abandoned = scheduler.submit(work("cam", "1", order))
    assert abandoned.cancel()  # the client went away while its frame waited
    newer = scheduler.submit(work("cam", "2", order))  # supersedes the cancelled one
    other = scheduler.submit(work("other", "3", order))
    release.set()
    assert newer.result(10) == "2" and other.result(10) == "3"
    assert drops[("cam", "superseded")] == 1


def test_more_frames_than_the_workers_can_start_in_time_are_shed_at_once(
    make: Callable[..., FrameScheduler[str]], clock: Clock, drops: Counter[tuple[str, str]]
) -> None:
    scheduler = make(workers=1, deadline_s=1.0)  # max_queue stays 64: it is not the limit

    def slow(label: str, order: list[str]) -> Callable[[], str]:
        def run() -> str:
            clock.now += 0.3  # each analysis takes 0.3 s: 3 frames can start within 1 s
            order.append(label)
            return label

        return run

    order: list[str] = []
    for camera in "abcdefgh":  # each camera has spoken (none is quiet); the average is known
        scheduler.submit(FrameWork(camera, 1, slow("warm", order))).result(10)
    release, _ = blocker(scheduler, "z")
    useful = [scheduler.submit(FrameWork(c, 0, slow(f"{c}-arrival", order))) for c in "abc"]
    idle = [scheduler.submit(FrameWork(c, 2, slow(f"{c}-keepalive", order))) for c in "defgh"]
    for future in idle:  # answered now, not after their deadline
        assert isinstance(future.exception(0.5), ShedError)
        assert future.exception(0).reason == "overload"  # type: ignore[union-attr]
    release.set()
    assert [f.result(10) for f in useful] == ["a-arrival", "b-arrival", "c-arrival"]
    assert sum(n for (_, reason), n in drops.items() if reason == "overload") == 5
