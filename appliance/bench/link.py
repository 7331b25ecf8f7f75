"""`appliance bench link`: a camera node planning Edgent online against a real edge box over a
real shaped link, its stored detections scored against the reference.

The edge runs in one network namespace and the camera node in another, joined by a veth pair
that `tc` rate-limits (`appliance.bench.netns_link`); the rate follows a schedule of phases
(by default fast, slow, fast). The camera node runs under a CPU quota that makes it
`camera_slowdown` times slower than this machine (`appliance.bench.cpu_quota`: a real limit on
everything it does), and its device profile is measured under that quota. Both run the trained
default detector's exits as `bench plan` plans with them (`default_planned_exits`: full,
coarse, INT8 and any distilled light exit) with their measured accuracies.

While it runs, the edge's stats are read every half second over an unshaped veth: the plan the
camera reports, the bandwidth it measured and its count of frames that met the requirement.
At the end what the edge stored is scored by the one scorer (`pipelines.system_score`) against
the default detector on every original frame, per phase and for the whole clip.
Needs root (namespaces, `tc`, cgroups).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from appliance.bench.clip import AnalysedClip, load_or_analyse
from appliance.bench.cpu_quota import CpuQuota, cpu_quota
from appliance.bench.link_processes import (
    CAMERA_ID,
    PORT,
    CameraPlanning,
    ExitFile,
    LinkRunError,
    camera_config,
    edge_config,
    start_role,
    stop,
    tail,
    wait_healthy,
)
from appliance.bench.link_report import PlanSample, link_report
from appliance.bench.netns_link import ShapedLink, shaped_link, unavailable
from appliance.edge.config import DetectorConfig
from appliance.plan.default_exits import REFERENCE_SIZE, default_planned_exits
from appliance.plan.exit_accuracies import PlannedExit
from appliance.plan.profile import ProfileSettings, profile_device, save_profile
from appliance.progress import SILENT, Progress, counted
from cameras.config import CameraConfig
from cameras.jpeg import JpegSettings
from pipelines.edgent.codec import Encoding

POLL_S = 0.5
WARM_UP_S = 240.0
WARM_UP_FRAMES = 3


@dataclass(frozen=True)
class RatePhase:
    mbit_per_s: float
    seconds: float


@dataclass(frozen=True)
class LinkBenchSettings:
    video: Path
    models_dir: Path
    cache_dir: Path
    phases: tuple[RatePhase, ...] = (RatePhase(40, 15), RatePhase(1, 15), RatePhase(40, 15))
    deadline_ms: float = 300.0
    camera_slowdown: float = 5.0
    encoding: Encoding = "float16"
    profile_runs: int = 5


@dataclass
class _Run:
    samples: list[PlanSample]
    boundaries: list[float]
    """Epoch seconds at which each phase began, then when the last ended."""


def run_link_bench(settings: LinkBenchSettings, progress: Progress = SILENT) -> dict[str, Any]:
    why = unavailable()
    if why is not None:
        raise LinkRunError(f"no shaped link on this machine: {why}")
    with progress.timed("default exits: built, accuracy measured (once)"):
        exits = default_planned_exits(settings.models_dir)
    with progress.timed("reference: the default detector on every frame (cached)"):
        reference = _reference(settings)
    with tempfile.TemporaryDirectory(prefix="bench-link-") as folder:
        work = Path(folder)
        name = f"appliance-bench-link-{secrets.token_hex(4)}"
        with cpu_quota(name, settings.camera_slowdown) as quota:
            with progress.timed("profiles: the edge, then the camera under its quota"):
                planning = _planning(settings, exits, work, quota)
            run = _run(settings, planning, work, quota, progress)
        return link_report(settings, work / "data", reference, run.samples, run.boundaries)


def _reference(settings: LinkBenchSettings) -> AnalysedClip:
    """The default detector on every original frame (cached per clip, as `bench system`)."""
    camera = CameraConfig(
        id=CAMERA_ID, source=str(settings.video), edge_url="http://unused", token="x" * 16
    )
    jpeg = JpegSettings(camera.jpeg_quality, camera.jpeg_chroma)
    difference = camera.filter.settings()
    return load_or_analyse(
        settings.video, None, jpeg, DetectorConfig(), difference, settings.cache_dir
    )


def _planning(
    settings: LinkBenchSettings, exits: list[PlannedExit], work: Path, quota: CpuQuota
) -> CameraPlanning:
    """Profiles of both sides (the camera's under its quota) on the models that are not a
    prefix of another (the coarse exits' layers are the full ones')."""
    full = tuple(e.path for e in exits if not e.name.startswith("coarse-"))
    edge = work / "edge-profile.json"
    save_profile(profile_device(ProfileSettings("edge", full, runs=settings.profile_runs)), edge)
    camera = work / "camera-profile.json"
    models = [arg for path in full for arg in ("--model", str(path))]
    argv = [sys.executable, "-m", "appliance.cli", "--log-level", "WARNING", "plan", "profile"]
    options = ["--device", "camera", "--runs", str(settings.profile_runs), "--threads", "1"]
    done = subprocess.run(
        [*argv, *options, *models, "--output", str(camera)],
        capture_output=True,
        text=True,
        preexec_fn=quota.join(),
    )
    if done.returncode != 0:
        raise LinkRunError(f"profiling the camera under its quota failed: {done.stderr[-500:]}")
    return CameraPlanning(
        tuple(ExitFile(e.name, e.path, e.accuracy) for e in exits),
        camera,
        edge,
        settings.deadline_ms,
        settings.encoding,
        f"full-{REFERENCE_SIZE}",
    )


def _run(
    settings: LinkBenchSettings,
    planning: CameraPlanning,
    work: Path,
    quota: CpuQuota,
    progress: Progress,
) -> _Run:
    api_token, token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    first = settings.phases[0].mbit_per_s
    with shaped_link(first) as link:
        edge_yaml = edge_config(work, planning.exits, api_token, token)
        edge = start_role(link, link.edge_ns, "edge", edge_yaml)
        camera: subprocess.Popen[bytes] | None = None
        try:
            url = f"http://{link.edge_from_test}:{PORT}"
            wait_healthy(url, edge, work / "edge.log")
            edge_url = f"http://{link.edge_address}:{PORT}"
            config = camera_config(work, settings.video, edge_url, token, planning)
            camera = start_role(link, link.camera_ns, "camera", config, quota.join())
            reader = _StatsReader(url, api_token)
            with progress.timed("camera node starting under its quota"):
                _warm_up(reader, camera, work)
            seconds = sum(phase.seconds for phase in settings.phases)
            with progress.timed(f"{counted(len(settings.phases), 'phase')} of the link", seconds):
                return _phases(settings, link, reader, camera, work)
        finally:
            stop(camera)
            stop(edge)


def _warm_up(reader: _StatsReader, camera: subprocess.Popen[bytes], work: Path) -> None:
    """Until the camera has timed a few frames: under its quota a node takes many seconds to
    import, load and split its models, which is not what the phases measure."""
    deadline = time.monotonic() + WARM_UP_S
    while time.monotonic() < deadline:
        if camera.poll() is not None:
            log = tail(work / "camera.log")
            raise LinkRunError(f"the camera node exited while starting: {log}")
        sample = reader.sample(0)
        if sample is not None and sample.frames_timed >= WARM_UP_FRAMES:
            return
        time.sleep(POLL_S)
    raise LinkRunError(f"the camera node timed no frame within {WARM_UP_S:.0f} s")


def _phases(
    settings: LinkBenchSettings,
    link: ShapedLink,
    reader: _StatsReader,
    camera: subprocess.Popen[bytes],
    work: Path,
) -> _Run:
    run = _Run([], [])
    for index, phase in enumerate(settings.phases):
        link.set_rate(phase.mbit_per_s)
        run.boundaries.append(time.time())
        ends = time.monotonic() + phase.seconds
        while time.monotonic() < ends:
            if camera.poll() is not None:
                if camera.returncode != 0:
                    raise LinkRunError(f"the camera node failed: {tail(work / 'camera.log')}")
                run.boundaries.append(time.time())  # the clip ended before the schedule
                return run
            sample = reader.sample(index)
            if sample is not None:
                run.samples.append(sample)
            time.sleep(POLL_S)
    final = reader.sample(len(settings.phases) - 1)
    if final is not None:
        run.samples.append(final)
    run.boundaries.append(time.time())
    return run


class _StatsReader:
    """The camera's plan report as the edge shows it (`GET /api/v1/stats`)."""

    def __init__(self, url: str, api_token: str) -> None:
        self.url = url + "/api/v1/stats"
        self.headers = {"Authorization": f"Bearer {api_token}"}

    def sample(self, phase: int) -> PlanSample | None:
        try:
            stats = httpx.get(self.url, headers=self.headers, timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return None
        camera = next((c for c in stats.get("cameras", []) if c.get("id") == CAMERA_ID), None)
        report = None if camera is None else camera.get("plan")
        if report is None or report.get("plan") is None:
            return None
        plan = report["plan"]
        return PlanSample(
            at=time.time(),
            phase=phase,
            exit=plan["exit"],
            cut=plan["cut"],
            cut_label=plan["cut_label"],
            accuracy=plan["accuracy"],
            predicted_ms=plan["total_ms"],
            bandwidth_mbps=report["bandwidth_mbps"],
            frames_timed=report.get("frames_timed", 0),
            frames_met=report.get("frames_met", 0),
        )
