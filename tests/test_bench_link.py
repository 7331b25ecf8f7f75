"""`appliance bench link`'s own parts that need no run: its CPU quota really holds the process it
starts (a cgroup with a CFS quota), and its rate schedule refuses what is not one. The whole
run (a camera node under that quota planning against an edge over a tc-shaped veth) is the
recorded benchmark (docs/benchmarks.md); tests/test_shaped_link.py runs the planner over the
same link."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.bench.cpu_quota import CpuQuotaError, cpu_quota


def quota_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "cgroups need root"
    try:
        with cpu_quota(f"appliance-probe-{os.getpid()}", 2.0):
            return None
    except CpuQuotaError as exc:
        return str(exc)


def test_a_process_started_under_the_quota_is_in_its_group_with_that_share() -> None:
    why = quota_unavailable()
    if why is not None:
        pytest.skip(f"no CPU quota here: {why}")
    with cpu_quota(f"appliance-test-{os.getpid()}", 5.0) as quota:
        child = subprocess.Popen(["sleep", "30"], preexec_fn=quota.join())
        try:
            groups = Path(f"/proc/{child.pid}/cgroup").read_text()
            assert quota.group.name in groups
            files = {f.name: f for f in quota.group.iterdir()}
            if "cpu.max" in files:  # cgroup v2: "quota period"
                limit, period = (int(v) for v in files["cpu.max"].read_text().split())
            else:
                limit = int(files["cpu.cfs_quota_us"].read_text())
                period = int(files["cpu.cfs_period_us"].read_text())
            assert limit * 5 == period  # a fifth of one CPU
        finally:
            child.kill()
            child.wait()
    assert not quota.group.exists()  # removed once its process ended


def test_a_slowdown_below_one_is_refused() -> None:
    with (
        pytest.raises(CpuQuotaError, match=r"slowdown 0\.5: must be at least 1"),
        cpu_quota("never-made", 0.5),
    ):
        pass


@pytest.mark.parametrize(
    ("phases", "says"),
    [
        ("40:15,fast:10", "'fast:10': give RATE_MBIT:SECONDS"),
        ("40", "'40': give RATE_MBIT:SECONDS"),
    ],
)
def test_a_schedule_that_is_not_rates_and_seconds_is_refused(phases: str, says: str) -> None:
    command = [sys.executable, "-m", "appliance.cli", "bench", "link", "--phases", phases]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and says in done.stderr
